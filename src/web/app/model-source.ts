/** The model the page explains: the bundled one (fetched beside the page) or files the user opened. */
import { importModel, type ImportedModel } from '../../core/index.js';
import { type ModelCard, parseModelCard } from '../../core/model-card.js';

export interface LoadedModel {
  name: string;
  bytes: Uint8Array;
  imported: ImportedModel;
  card?: ModelCard;
  /** Channels, height, width of one input image (NCHW). */
  chw: [number, number, number];
}

/** Check that the page can feed the model: one float image input [N, C, H, W] with C = 1 or 3. */
function checkImageModel(name: string, imported: ImportedModel): [number, number, number] {
  if (imported.inputElemType !== 1) throw new Error(`${name}: its input holds token ids; the app explains image models (text: relprop explain-text)`);
  const s = imported.inputShape;
  const [c, h, w] = s.slice(1);
  if (s.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number')
    throw new Error(`${name}: input shape ${JSON.stringify(s)} is not an image batch [N, C, H, W] with fixed C, H, W`);
  if (c !== 1 && c !== 3) throw new Error(`${name}: input has ${c} channels; the app reads gray (1) or RGB (3) images in NCHW layout`);
  return [c, h, w];
}

export function modelFrom(name: string, bytes: Uint8Array, cardText?: string, cardName?: string): LoadedModel {
  const imported = importModel(bytes, name);
  const chw = checkImageModel(name, imported);
  const card = cardText === undefined ? undefined : parseModelCard(cardText, cardName ?? `${name}.json`);
  return { name, bytes, imported, card, chw };
}

/** The bundled Fashion-MNIST CNN and its card, served beside the page. */
export async function bundledModel(): Promise<LoadedModel> {
  const [onnx, card] = await Promise.all([fetch('./fmnist-cnn.onnx'), fetch('./fmnist-cnn.json')]);
  if (!onnx.ok) throw new Error(`could not load the bundled model (${onnx.status})`);
  return modelFrom('fmnist-cnn.onnx', new Uint8Array(await onnx.arrayBuffer()), card.ok ? await card.text() : undefined, 'fmnist-cnn.json');
}

/** An .onnx file and optionally its card (.json) among the files the user opened or dropped. */
export async function modelFromFiles(files: File[]): Promise<LoadedModel> {
  const onnx = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
  const json = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
  const other = files.filter((f) => !onnx.includes(f) && !json.includes(f));
  if (other.length > 0) throw new Error(`${other[0]!.name}: not an .onnx model or a .json card`);
  if (onnx.length !== 1)
    throw new Error(onnx.length === 0 ? 'no .onnx file among the files: open a model (and optionally its .json card)' : 'open one .onnx model at a time');
  if (json.length > 1) throw new Error('open at most one .json card with the model');
  const m = onnx[0]!;
  return modelFrom(m.name, new Uint8Array(await m.arrayBuffer()), json[0] ? await json[0].text() : undefined, json[0]?.name);
}
