/** Where the page's model comes from: the bundled one (served beside the page) or files the user opened. */
import { type ModelCard, parseModelCard } from '../../core/model-card.js';

export interface ModelFiles {
  name: string;
  bytes: Uint8Array;
  card?: ModelCard;
  /** A text model's vocabulary file (`<model>.vocab.json`), as text. */
  vocab?: string;
}

function withCard(name: string, bytes: Uint8Array, cardText: string | undefined, cardName: string, vocab?: string): ModelFiles {
  return { name, bytes, card: cardText === undefined ? undefined : parseModelCard(cardText, cardName), vocab };
}

/** The bundled Fashion-MNIST CNN and its card. */
export async function bundledModel(): Promise<ModelFiles> {
  const [onnx, card] = await Promise.all([fetch('./fmnist-cnn.onnx'), fetch('./fmnist-cnn.json')]);
  if (!onnx.ok) throw new Error(`could not load the bundled model (HTTP ${onnx.status})`);
  return withCard('fmnist-cnn.onnx', new Uint8Array(await onnx.arrayBuffer()), card.ok ? await card.text() : undefined, 'fmnist-cnn.json');
}

/** An .onnx file and optionally its card (.json) and vocabulary (.vocab.json) among the files the user opened or dropped. */
export async function modelFromFiles(files: File[]): Promise<ModelFiles> {
  const onnx = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
  const vocab = files.filter((f) => f.name.toLowerCase().endsWith('.vocab.json'));
  const json = files.filter((f) => f.name.toLowerCase().endsWith('.json') && !vocab.includes(f));
  const other = files.find((f) => !onnx.includes(f) && !json.includes(f) && !vocab.includes(f));
  if (other) throw new Error(`${other.name}: not an .onnx model, a .json card or a .vocab.json vocabulary`);
  if (onnx.length !== 1)
    throw new Error(onnx.length === 0 ? 'no .onnx file among the files: open a model (and optionally its .json card)' : 'open one .onnx model at a time');
  if (json.length > 1) throw new Error('open at most one .json card with the model');
  if (vocab.length > 1) throw new Error('open at most one .vocab.json vocabulary with the model');
  const m = onnx[0]!;
  return withCard(
    m.name,
    new Uint8Array(await m.arrayBuffer()),
    json[0] ? await json[0].text() : undefined,
    json[0]?.name ?? '',
    vocab[0] ? await vocab[0].text() : undefined,
  );
}
