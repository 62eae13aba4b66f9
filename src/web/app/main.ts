/**
 * The relprop app: the page side. The model is imported, compiled and explained in a worker
 * (worker.ts) on onnxruntime-web; the page prepares inputs, reads the controls and draws what
 * comes back. Nothing leaves the page.
 */
import { COMPOSITES, encodeNpy, type ExplainerOptions, METHODS, parseRuleObject, readNpy, type RuleParams } from '../../core/index.js';
import { TEXT_METHODS } from '../../core/text/explain.js';
import { highlightTextHtml } from '../../core/visualize/text-html.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { ColormapChoice, HeatmapStyle } from '../../core/visualize/figure.js';
import { drawPad } from './draw-pad.js';
import { decodeImageFile, rgbaToImage, toModelInput } from './image-input.js';
import { bundledModel, type ModelFiles, modelFromFiles } from './model-source.js';
import type { Backend, Explained, ModelInfo, TextExplained, TextOptions } from './protocol.js';
import { drawFigure, fillAudit, fillLayerMaps, fillScores, summaryText } from './view.js';
import { ExplainerWorker } from './worker-client.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  runtime: $('runtime'),
  modelName: $('model-name'),
  modelInfo: $('model-info'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelDefault: $<HTMLButtonElement>('model-default'),
  samples: $('samples'),
  imageFile: $<HTMLInputElement>('image-file'),
  npyFile: $<HTMLInputElement>('npy-file'),
  imageInput: $('image-input'),
  textInput: $('text-input'),
  text: $<HTMLTextAreaElement>('text'),
  textExplain: $<HTMLButtonElement>('text-explain'),
  textOut: $('text-out'),
  pad: $<HTMLCanvasElement>('pad'),
  padClear: $<HTMLButtonElement>('pad-clear'),
  inputNote: $('input-note'),
  method: $<HTMLSelectElement>('method'),
  composite: $<HTMLSelectElement>('composite'),
  lrn: $<HTMLSelectElement>('lrn'),
  steps: $<HTMLInputElement>('steps'),
  nsamples: $<HTMLInputElement>('nsamples'),
  epsilon: $<HTMLInputElement>('p-epsilon'),
  gamma: $<HTMLInputElement>('p-gamma'),
  alpha: $<HTMLInputElement>('p-alpha'),
  beta: $<HTMLInputElement>('p-beta'),
  rules: $<HTMLTextAreaElement>('rules'),
  low: $<HTMLInputElement>('low'),
  high: $<HTMLInputElement>('high'),
  target: $<HTMLSelectElement>('target'),
  colormap: $<HTMLSelectElement>('colormap'),
  style: $<HTMLSelectElement>('style'),
  backend: $<HTMLSelectElement>('backend'),
  status: $('status'),
  error: $('error'),
  figure: $<HTMLCanvasElement>('figure'),
  summary: $('summary'),
  dlNpy: $<HTMLButtonElement>('dl-npy'),
  dlPng: $<HTMLButtonElement>('dl-png'),
  dlOnnx: $<HTMLButtonElement>('dl-onnx'),
  scores: $<HTMLTableElement>('scores').tBodies[0]!,
  audit: $<HTMLTableElement>('audit').tBodies[0]!,
  layer: $<HTMLSelectElement>('layer'),
  layerMaps: $('layer-maps'),
  compareChoices: $('compare-choices'),
  compareRun: $<HTMLButtonElement>('compare-run'),
  compare: $('compare'),
};

const worker = new ExplainerWorker();
// Threads need cross-origin isolation (`relprop web` sends the headers); `?threads=N` sets how many.
const askedThreads = Number(new URLSearchParams(location.search).get('threads'));
const threads = globalThis.crossOriginIsolated
  ? Number.isInteger(askedThreads) && askedThreads >= 1
    ? askedThreads
    : Math.min(4, navigator.hardwareConcurrency || 1)
  : 1;
const hasWebGpu = 'gpu' in navigator;
if (hasWebGpu) ui.backend.append(new Option('WebGPU (WebAssembly for the rest)', 'webgpu'));
let runtimeLabel = '';

async function initRuntime(backend: Backend) {
  const { version } = await worker.init(backend, threads);
  const b = backend === 'webgpu' ? 'WebGPU backend (operators it lacks on WebAssembly)' : 'WebAssembly backend (SIMD)';
  runtimeLabel = `onnxruntime-web ${version}, ${b}, ${threads} thread${threads > 1 ? 's' : ''}`;
  ui.runtime.textContent = `Runs on ${runtimeLabel}.`;
}

interface Result {
  explanation: Explained;
  options: ExplainerOptions;
  input: TensorData;
}

interface LoadedModel extends ModelFiles {
  info: ModelInfo;
}

const state: { model?: LoadedModel; input?: TensorData; last?: Result; lastText?: { explanation: TextExplained; options: TextOptions }; run: number } = {
  run: 0,
};

/** The image shape of the loaded model (image models only). */
const chwOf = (m: LoadedModel) => {
  if (m.info.kind !== 'image') throw new Error(`${m.name} is a text model`);
  return m.info.chw;
};

function showError(e: unknown) {
  ui.error.hidden = false;
  ui.error.textContent = e instanceof Error ? e.message : String(e);
  ui.status.textContent = '';
}

function fillSelect(sel: HTMLSelectElement, values: string[], selected: string) {
  sel.replaceChildren(...values.map((v) => new Option(v, v, v === selected, v === selected)));
}
fillSelect(ui.method, [...METHODS], 'lrp');
fillSelect(ui.composite, Object.keys(COMPOSITES), 'epsilon-plus-flat');

const SINGLE_PASS = ['lrp', 'gradient', 'gradient-x-input', 'deconvnet', 'guided-backprop'];

/** A number field: undefined when blank. */
function numberField(el: HTMLInputElement, name: string): number | undefined {
  if (el.value.trim() === '') return undefined;
  const v = Number(el.value);
  if (!Number.isFinite(v)) throw new Error(`${name}: not a number`);
  return v;
}

/** The explainer options the controls describe (the core checks their values). */
function options(method = ui.method.value, composite = ui.composite.value): ExplainerOptions {
  const o: ExplainerOptions = { method: method as ExplainerOptions['method'] };
  if (method === 'lrp') {
    o.composite = composite;
    if (ui.lrn.value === 'identity') o.lrn = 'identity';
    o.audit = true;
    const params: RuleParams = {};
    for (const [k, el] of [
      ['epsilon', ui.epsilon],
      ['gamma', ui.gamma],
      ['alpha', ui.alpha],
      ['beta', ui.beta],
    ] as const) {
      const v = numberField(el, k);
      if (v !== undefined) params[k] = v;
    }
    if (Object.keys(params).length > 0) o.params = params;
    if (ui.rules.value.trim() !== '') {
      let rules: unknown;
      try {
        rules = JSON.parse(ui.rules.value);
      } catch (e) {
        throw new Error(`per-layer rules: not JSON (${(e as Error).message})`);
      }
      if (typeof rules !== 'object' || rules === null || Array.isArray(rules)) throw new Error('per-layer rules: a JSON object of layer name → rule');
      for (const [k, v] of Object.entries(rules)) parseRuleObject(v, `per-layer rules, "${k}"`);
      o.rules = rules as Record<string, unknown>;
    }
  }
  if (SINGLE_PASS.includes(method)) o.layerRelevance = true;
  if (method === 'integrated-gradients') o.steps = numberField(ui.steps, 'steps');
  if (method === 'smoothgrad') o.samples = numberField(ui.nsamples, 'samples');
  const low = numberField(ui.low, 'input range');
  const high = numberField(ui.high, 'input range');
  if (low !== undefined || high !== undefined) {
    if (low === undefined || high === undefined || !(low <= high)) throw new Error('input range: give both ends, low ≤ high');
    o.inputRange = [low, high];
  }
  return o;
}

function showControls() {
  const m = ui.method.value;
  $('composite-row').hidden = m !== 'lrp';
  $('params-row').hidden = m !== 'lrp';
  $('lrn-row').hidden = m !== 'lrp' || !state.model?.info.hasLrn;
  $('steps-row').hidden = m !== 'integrated-gradients';
  $('samples-row').hidden = m !== 'smoothgrad';
}

const progress = (done: number, total: number) => {
  ui.status.textContent = `explaining… ${done}/${total}`;
};

/** Text models: the method (sa: sensitivity analysis) with LRP's composite and parameters. */
function textOptions(): TextOptions {
  const method = ui.method.value as TextOptions['method'];
  if (method !== 'lrp') return { method, ...(method === 'integrated-gradients' ? { steps: numberField(ui.steps, 'steps') } : {}) };
  const { method: _m, composite, audit: _a, layerRelevance: _l, ...rest } = options('lrp', ui.composite.value);
  // Without a composite chosen the text explainer uses the text paper's ε-rule.
  return ui.composite.value === 'paper' ? { method: 'lrp', ...rest } : { method: 'lrp', composite, ...rest };
}

async function explainTextNow(): Promise<TextExplained | undefined> {
  const model = state.model;
  if (model?.info.kind !== 'text') return undefined;
  const run = ++state.run;
  ui.error.hidden = true;
  ui.status.textContent = 'explaining…';
  try {
    const o = textOptions();
    const target = ui.target.value === 'predicted' ? 'predicted' : Number(ui.target.value);
    const e = await worker.explainText(ui.text.value, o, target);
    if (run !== state.run) return undefined;
    state.lastText = { explanation: e, options: o };
    const classes = model.card?.classes;
    const name = (k: number) => `${k}${classes?.[k] ? ` ${classes[k]}` : ''}`;
    let sum = 0;
    for (const v of e.relevance) sum += v;
    ui.textOut.innerHTML = highlightTextHtml(e.tokens, e.relevance, {
      title: `${o.method === 'sa' ? 'sensitivity analysis' : o.method} — class ${name(e.target)}`,
    });
    ui.summary.textContent = `Explained class ${name(e.target)}: logit ${e.logits[e.target]!.toFixed(4)}, ΣR ${sum.toFixed(4)} over ${e.tokens.length} words${e.unknown ? ` (${e.unknown} unknown to the vocabulary)` : ''}${e.truncated ? "; the text was cut to the model's length" : ''}.`;
    fillScores(ui.scores, e.logits, classes, e.predicted, e.target);
    fillAudit(ui.audit, undefined);
    for (const b of [ui.dlNpy, ui.dlOnnx]) b.disabled = false;
    ui.status.textContent = `explained in ${e.ms.toFixed(0)} ms on ${runtimeLabel}`;
    return e;
  } catch (e) {
    if (run === state.run) showError(e);
    return undefined;
  }
}

/** Explain the current input with the current controls and show it; later calls supersede earlier ones. */
async function explainNow(): Promise<Result | undefined> {
  const model = state.model;
  if (model?.info.kind === 'text') {
    await explainTextNow();
    return undefined;
  }
  const input = state.input;
  if (!model || !input) return undefined;
  const run = ++state.run;
  ui.error.hidden = true;
  ui.status.textContent = 'explaining…';
  try {
    const o = options();
    const target = ui.target.value === 'predicted' ? 'predicted' : Number(ui.target.value);
    const explanation = await worker.explain(input, o, target, progress);
    if (run !== state.run) return undefined;
    const result = { explanation, options: o, input };
    state.last = result;
    show(result);
    return result;
  } catch (e) {
    if (run === state.run) showError(e);
    return undefined;
  }
}

const methodLabel = (o: ExplainerOptions) => (o.method === 'lrp' ? `LRP ${o.composite}` : (o.method ?? 'lrp'));

function show(r: Result) {
  const model = state.model!;
  const e = r.explanation;
  const classes = model.card?.classes;
  const t = e.targets[0]!;
  drawFigure(ui.figure, {
    relevance: e.relevance.data as Float32Array,
    input: r.input.data as Float32Array,
    chw: chwOf(model),
    style: ui.style.value as HeatmapStyle,
    colormap: ui.colormap.value as ColormapChoice,
    title: `${methodLabel(r.options)}\nclass ${t}${classes?.[t] ? ` ${classes[t]}` : ''}`,
  });
  ui.summary.textContent = summaryText(e, r.options.method ?? 'lrp', classes);
  fillScores(ui.scores, e.logits.data as Float32Array, classes, e.predicted[0]!, t);
  fillAudit(ui.audit, e.audit);
  const layers = Object.keys(e.layers ?? {});
  // Default: the first layer with several channels (the input's own map is in the figure).
  const keep = layers.includes(ui.layer.value) ? ui.layer.value : (layers.find((l) => (e.layers![l]!.dims[1] ?? 0) > 3) ?? layers[0]);
  fillSelect(ui.layer, layers, keep ?? '');
  fillLayerMaps(ui.layerMaps, keep ? e.layers![keep] : undefined, ui.colormap.value as ColormapChoice);
  for (const b of [ui.dlNpy, ui.dlPng, ui.dlOnnx]) b.disabled = false;
  ui.status.textContent = `explained in ${e.ms.toFixed(0)} ms on ${runtimeLabel}`;
}

/** Save a blob under a file name (the browser's download). */
function download(blob: Blob, name: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

const isText = () => state.model?.info.kind === 'text';
const stem = () =>
  `${state.model?.name.replace(/\.onnx$/i, '') ?? 'model'}-${(isText() ? state.lastText?.options.method : state.last?.options.method) ?? 'lrp'}`;
ui.dlNpy.addEventListener('click', () => {
  // Text: one value per word, in the order of the words shown.
  const rel = isText()
    ? state.lastText && { dtype: 'float32' as const, dims: [state.lastText.explanation.relevance.length], data: state.lastText.explanation.relevance }
    : state.last?.explanation.relevance;
  if (rel) download(new Blob([encodeNpy(rel) as BlobPart]), `${stem()}-relevance.npy`);
});
ui.dlPng.addEventListener('click', () => ui.figure.toBlob((b) => b && download(b, `${stem()}-heatmap.png`), 'image/png'));
// The compiled explainer is built on demand: it holds a second copy of the weights.
ui.dlOnnx.addEventListener('click', async () => {
  if (!state.model) return;
  try {
    const bytes = isText()
      ? await worker.compile(state.lastText?.options ?? textOptions())
      : state.last && (await worker.compile(state.last.options, [1, ...chwOf(state.model)]));
    if (!bytes) return;
    download(new Blob([bytes as BlobPart]), `${stem()}-explainer.onnx`);
  } catch (e) {
    showError(e);
  }
});

async function setModel(m: ModelFiles) {
  ui.status.textContent = `loading ${m.name}…`;
  const info = await worker.load(m.name, m.bytes, m.vocab);
  state.model = { ...m, info };
  state.input = undefined;
  state.last = undefined;
  state.lastText = undefined;
  for (const b of [ui.dlNpy, ui.dlPng, ui.dlOnnx]) b.disabled = true;
  const text = info.kind === 'text';
  ui.imageInput.hidden = text;
  ui.textInput.hidden = !text;
  ui.figure.hidden = text;
  ui.textOut.hidden = !text;
  ui.textOut.replaceChildren();
  $('compare-panel').hidden = text;
  ui.layerMaps.replaceChildren();
  ui.layer.replaceChildren();
  fillSelect(ui.method, text ? [...TEXT_METHODS] : [...METHODS], 'lrp');
  fillSelect(ui.composite, text ? ['paper', ...Object.keys(COMPOSITES)] : Object.keys(COMPOSITES), text ? 'paper' : 'epsilon-plus-flat');
  const shape = info.kind === 'image' ? `input ${info.chw.join('×')}` : `token ids, vocabulary of ${info.vocabSize}`;
  ui.modelName.textContent = m.name;
  ui.modelInfo.textContent = `${shape}${m.card?.classes ? `, ${m.card.classes.length} classes` : ''}${m.card ? ` (card ${m.card.path})` : ', no card'}`;
  const classes = m.card?.classes;
  ui.target.replaceChildren(new Option('predicted class', 'predicted'), ...(classes ?? []).map((n, k) => new Option(`${k} ${n}`, String(k))));
  ui.low.value = m.card?.inputRange ? String(m.card.inputRange[0]) : '';
  ui.high.value = m.card?.inputRange ? String(m.card.inputRange[1]) : '';
  ui.compare.replaceChildren();
  showControls();
  ui.status.textContent = text ? 'model loaded: write a text and explain it' : 'model loaded: choose, open or draw an image';
  if (text) await explainTextNow();
}

async function setImage(img: Parameters<typeof toModelInput>[0]) {
  if (!state.model) return;
  const { tensor, note } = toModelInput(img, chwOf(state.model));
  state.input = tensor;
  ui.inputNote.textContent = note ? `Converted: ${note}.` : '';
  await explainNow();
}

async function loadSamples() {
  ui.samples.replaceChildren();
  const res = await fetch('./samples/labels.json');
  if (!res.ok) return;
  const list = (await res.json()) as { file: string; class: string }[];
  for (const s of list) {
    const b = document.createElement('button');
    b.type = 'button';
    b.title = s.class;
    b.dataset.file = s.file;
    const img = document.createElement('img');
    img.src = `./samples/${s.file}`;
    img.alt = s.class;
    b.appendChild(img);
    b.addEventListener('click', async () => {
      for (const o of ui.samples.querySelectorAll('button')) o.classList.toggle('active', o === b);
      try {
        const blob = await (await fetch(`./samples/${s.file}`)).blob();
        await setImage(await decodeImageFile(blob, s.file));
      } catch (e) {
        showError(e);
      }
    });
    ui.samples.appendChild(b);
  }
}

/** A .npy input for an image model, used as it is: [C, H, W] or [1, C, H, W], any float values. */
async function openNpy(file: File) {
  if (!state.model) return;
  const chw = chwOf(state.model);
  const t = readNpy(new Uint8Array(await file.arrayBuffer()));
  const dims = t.dims.length === 3 ? [1, ...t.dims] : t.dims;
  if (dims.join() !== [1, ...chw].join())
    throw new Error(`${file.name}: shape ${JSON.stringify(t.dims)}; the model takes [1, ${chw.join(', ')}] (or [${chw.join(', ')}])`);
  const data = t.dtype === 'float64' ? Float32Array.from(t.data as Float64Array) : t.dtype === 'float32' ? (t.data as Float32Array) : undefined;
  if (!data) throw new Error(`${file.name}: ${t.dtype} values; the model takes float32 (or float64, converted)`);
  state.input = { dtype: 'float32', dims, data };
  ui.inputNote.textContent = `Input: ${file.name}, used as it is${t.dtype === 'float64' ? ' (float64 → float32)' : ''}.`;
  await explainNow();
}

/** Files opened by a picker (`as` says which) or dropped (`any`: their names say what they are). */
async function openFiles(files: File[], as: 'model' | 'input' | 'any') {
  ui.error.hidden = true;
  try {
    if (as !== 'model' && files.length === 1 && /\.npy$/i.test(files[0]!.name)) return await openNpy(files[0]!);
    if (as === 'input' || (as === 'any' && files.length === 1 && !/\.(onnx|json)$/i.test(files[0]!.name)))
      return await setImage(await decodeImageFile(files[0]!, files[0]!.name));
    await setModel(await modelFromFiles(files));
    ui.samples.hidden = true;
  } catch (e) {
    showError(e);
  }
}

// Comparing: every chosen method on the current input, as bare heatmaps side by side.
const COMPARE = ['lrp:epsilon-plus-flat', 'lrp:epsilon-gamma-box', 'lrp:epsilon-alpha2-beta1', ...METHODS.filter((m) => m !== 'lrp')];
for (const m of COMPARE) {
  const l = document.createElement('label');
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.value = m;
  box.checked = ['lrp:epsilon-plus-flat', 'gradient', 'integrated-gradients'].includes(m);
  l.append(box, ` ${m}`);
  ui.compareChoices.appendChild(l);
}

async function compareNow(): Promise<{ method: string; relevance: number[] }[]> {
  const model = state.model;
  const input = state.input;
  if (!model || !input) return [];
  ui.error.hidden = true;
  ui.compare.replaceChildren();
  const chosen = [...ui.compareChoices.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.value);
  const out: { method: string; relevance: number[] }[] = [];
  try {
    for (const m of chosen) {
      const [method, composite] = m.split(':');
      const o = options(method, composite);
      const e = await worker.explain(input, o, ui.target.value === 'predicted' ? 'predicted' : Number(ui.target.value), progress);
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      drawFigure(canvas, {
        relevance: e.relevance.data as Float32Array,
        input: input.data as Float32Array,
        chw: chwOf(model),
        style: 'bare',
        colormap: ui.colormap.value as ColormapChoice,
        title: '',
      });
      fig.append(canvas, Object.assign(document.createElement('figcaption'), { textContent: `${m} (${e.ms.toFixed(0)} ms)` }));
      ui.compare.appendChild(fig);
      out.push({ method: m, relevance: Array.from(e.relevance.data as Float32Array) });
    }
    ui.status.textContent = `compared ${chosen.length} methods on ${runtimeLabel}`;
  } catch (e) {
    showError(e);
  }
  return out;
}
ui.compareRun.addEventListener('click', () => compareNow());

const pad = drawPad(ui.pad, () => {
  const ctx = ui.pad.getContext('2d')!;
  const { data } = ctx.getImageData(0, 0, ui.pad.width, ui.pad.height);
  setImage(rgbaToImage(data, ui.pad.width, ui.pad.height)).catch(showError);
});
ui.padClear.addEventListener('click', () => pad.clear());
ui.modelFile.addEventListener('change', () => openFiles([...(ui.modelFile.files ?? [])], 'model'));
ui.imageFile.addEventListener('change', () => openFiles([...(ui.imageFile.files ?? [])], 'input'));
ui.npyFile.addEventListener('change', () => openFiles([...(ui.npyFile.files ?? [])], 'input'));
ui.textExplain.addEventListener('click', () => explainTextNow());
ui.modelDefault.addEventListener('click', async () => {
  try {
    await setModel(await bundledModel());
    ui.samples.hidden = false;
    ui.samples.querySelector<HTMLButtonElement>('button')?.click();
  } catch (e) {
    showError(e);
  }
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  openFiles([...(e.dataTransfer?.files ?? [])], 'any');
});
for (const el of [
  ui.method,
  ui.composite,
  ui.lrn,
  ui.steps,
  ui.nsamples,
  ui.epsilon,
  ui.gamma,
  ui.alpha,
  ui.beta,
  ui.rules,
  ui.low,
  ui.high,
  ui.target,
  ui.colormap,
  ui.style,
])
  el.addEventListener('change', () => {
    showControls();
    explainNow();
  });
ui.backend.addEventListener('change', async () => {
  try {
    await initRuntime(ui.backend.value as Backend);
    if (state.model) await setModel(state.model);
  } catch (e) {
    showError(e);
  }
});
ui.layer.addEventListener('change', () => {
  const l = state.last?.explanation.layers?.[ui.layer.value];
  fillLayerMaps(ui.layerMaps, l, ui.colormap.value as ColormapChoice);
});

/** For tests and the console: the last result as plain numbers, and the comparison. */
const app = {
  ready: (async () => {
    await initRuntime('wasm');
    await setModel(await bundledModel());
    await loadSamples();
    ui.samples.querySelector<HTMLButtonElement>('button')?.click();
  })().catch(showError),
  compare: compareNow,
  last: () => {
    const r = state.last;
    if (!r) return undefined;
    return {
      model: state.model?.name,
      options: r.options,
      input: Array.from(r.input.data as Float32Array),
      relevance: Array.from(r.explanation.relevance.data as Float32Array),
      logits: Array.from(r.explanation.logits.data as Float32Array),
      target: r.explanation.targets[0],
    };
  },
  lastText: () => {
    const t = state.lastText;
    return t && { ...t.explanation, relevance: Array.from(t.explanation.relevance), options: t.options };
  },
  runtime: () => runtimeLabel,
  /** Explain the current input again `rounds` times with the last options: the milliseconds the page waited for each. */
  time: async (rounds: number) => {
    const r = state.last;
    if (!r) throw new Error('nothing explained yet');
    const ms: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await worker.explain(r.input, r.options, r.explanation.targets[0]!);
      ms.push(performance.now() - t0);
    }
    return ms;
  },
};
(globalThis as unknown as { relpropApp: typeof app }).relpropApp = app;
