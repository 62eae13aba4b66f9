/**
 * The explainer worker: the model, its explainers and ONNX Runtime live here, so that importing,
 * compiling and running never freeze the page. One request at a time, answered in order.
 */
import { env } from 'onnxruntime-web';
import { Explainer, type ExplainerOptions, type ImportedModel, importModel, setDefaultRuntime, TextExplainer, Vocabulary } from '../../core/index.js';
import { webRuntime } from '../runtime-web.js';
import type { Explained, ModelInfo, Request, Response, TextExplained, TextOptions } from './protocol.js';

let model: ImportedModel | undefined;
/** A text model: its bytes and vocabulary (a TextExplainer imports the model itself). */
let text: { bytes: Uint8Array; vocab: Vocabulary } | undefined;
const explainers = new Map<string, Promise<Explainer>>();
const textExplainers = new Map<string, Promise<TextExplainer>>();

const post = (r: Response, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(r, transfer);

/** Check that the app can feed the model: one float image input [N, C, H, W] with C = 1 or 3. */
function imageShape(name: string, m: ImportedModel): [number, number, number] {
  if (m.inputElemType !== 1) throw new Error(`${name}: its input is of ONNX element type ${m.inputElemType}; the app reads float images or token ids`);
  const s = m.inputShape;
  const [c, h, w] = s.slice(1);
  if (s.length !== 4 || typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number')
    throw new Error(`${name}: input shape ${JSON.stringify(s)} is not an image batch [N, C, H, W] with fixed C, H, W`);
  if (c !== 1 && c !== 3) throw new Error(`${name}: its input has ${c} channels; the app reads gray (1) or RGB (3) images in NCHW layout`);
  return [c, h, w];
}

async function release() {
  const all = [...explainers.values(), ...textExplainers.values()];
  explainers.clear();
  textExplainers.clear();
  for (const p of all) await p.then((e) => e.release()).catch(() => undefined);
}

function textExplainerFor(o: TextOptions): Promise<TextExplainer> {
  const key = JSON.stringify(o);
  let ex = textExplainers.get(key);
  if (!ex) {
    ex = TextExplainer.create(text!.bytes, { ...o, vocab: text!.vocab });
    textExplainers.set(key, ex);
    ex.catch(() => textExplainers.delete(key));
  }
  return ex;
}

function explainerFor(o: ExplainerOptions): Promise<Explainer> {
  const key = JSON.stringify(o);
  let ex = explainers.get(key);
  if (!ex) {
    ex = Explainer.create(model!, o);
    explainers.set(key, ex);
    ex.catch(() => explainers.delete(key));
  }
  return ex;
}

async function handle(req: Request): Promise<[unknown, Transferable[]]> {
  switch (req.type) {
    case 'init': {
      await release();
      setDefaultRuntime(webRuntime({ numThreads: req.threads, backend: req.backend }));
      return [{ version: env.versions.web ?? '' }, []];
    }
    case 'load': {
      // The new model is imported and checked before it replaces the old one: a file that fails
      // leaves the page's model working.
      const m = importModel(req.bytes, req.name);
      const hasLrn = m.graph.nodes.some((n) => n.op === 'LRN');
      if (m.inputElemType === 7 || m.inputElemType === 6) {
        if (req.vocab === undefined) throw new Error(`${req.name} reads token ids: open its vocabulary (.vocab.json) with it`);
        const vocab = Vocabulary.parse(req.vocab, 'the vocabulary');
        // A vocabulary that does not fit the model is reported here, on loading.
        const te = await TextExplainer.create(req.bytes, { vocab });
        await release();
        model = undefined;
        text = { bytes: req.bytes, vocab };
        textExplainers.set(JSON.stringify({}), Promise.resolve(te));
        const info: ModelInfo = { kind: 'text', vocabSize: vocab.size, hasLrn };
        return [info, []];
      }
      const info: ModelInfo = { kind: 'image', chw: imageShape(req.name, m), hasLrn };
      // An unsupported operator is reported here, on loading.
      const ex = await Explainer.create(m, {});
      await release();
      text = undefined;
      model = m;
      explainers.set(JSON.stringify({}), Promise.resolve(ex));
      return [info, []];
    }
    case 'explainText': {
      if (!text) throw new Error('no text model loaded');
      const t0 = performance.now();
      const [e] = await (await textExplainerFor(req.options)).explainTexts([req.text], req.target);
      const value: TextExplained = {
        tokens: e!.tokens.map((t) => t.text),
        relevance: e!.relevance,
        logits: e!.logits,
        predicted: e!.predicted,
        target: e!.target,
        truncated: e!.truncated,
        unknown: e!.unknown,
        ms: performance.now() - t0,
      };
      return [value, []];
    }
    case 'explain': {
      if (!model) throw new Error('no model loaded');
      const t0 = performance.now();
      const ex = await explainerFor(req.options);
      const e = await ex.explain(req.input, { target: req.target, onProgress: (done, total) => post({ id: req.id, type: 'progress', done, total }) });
      const value: Explained = {
        relevance: e.relevance,
        logits: e.logits,
        targets: e.targets,
        predicted: e.predicted,
        audit: e.audit,
        layers: e.layers,
        ms: performance.now() - t0,
      };
      const buffers = [e.relevance, e.logits, ...Object.values(e.layers ?? {})].map((t) => (t.data as Float32Array).buffer);
      return [value, buffers];
    }
    case 'compile': {
      let c;
      if (text) {
        const te = await textExplainerFor(req.options as TextOptions);
        const L = te.vocab.length.mode === 'fixed' ? te.vocab.length.length : (te.explainer.model.inputShape[1] ?? 1);
        c = await te.explainer.compile([1, L]);
      } else if (model) c = await (await explainerFor(req.options as ExplainerOptions)).compile(req.dims!);
      else throw new Error('no model loaded');
      const bytes = c.model;
      return [bytes, [bytes.buffer]];
    }
  }
}

let queue = Promise.resolve();
self.addEventListener('message', (ev: MessageEvent<Request>) => {
  const req = ev.data;
  queue = queue.then(async () => {
    try {
      const [value, transfer] = await handle(req);
      post({ id: req.id, type: 'ok', value }, transfer);
    } catch (e) {
      post({ id: req.id, type: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  });
});
