/**
 * The relprop app: import, canonize, compile and run the explainer in the page on
 * onnxruntime-web, on the bundled model or the user's own. Nothing leaves the page.
 */
import { env } from 'onnxruntime-web';
import { COMPOSITES, encodeNpy, Explainer, type ExplainerOptions, type Explanation, METHODS, setDefaultRuntime } from '../../core/index.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { ColormapChoice, HeatmapStyle } from '../../core/visualize/figure.js';
import { webRuntime } from '../runtime-web.js';
import { drawPad } from './draw-pad.js';
import { decodeImageFile, rgbaToImage, toModelInput } from './image-input.js';
import { bundledModel, type LoadedModel, modelFromFiles } from './model-source.js';
import { drawFigure, fillAudit, fillLayerMaps, fillScores, summaryText } from './view.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  runtime: $('runtime'),
  modelName: $('model-name'),
  modelInfo: $('model-info'),
  modelFile: $<HTMLInputElement>('model-file'),
  modelDefault: $<HTMLButtonElement>('model-default'),
  samples: $('samples'),
  imageFile: $<HTMLInputElement>('image-file'),
  pad: $<HTMLCanvasElement>('pad'),
  padClear: $<HTMLButtonElement>('pad-clear'),
  inputNote: $('input-note'),
  method: $<HTMLSelectElement>('method'),
  composite: $<HTMLSelectElement>('composite'),
  lrn: $<HTMLSelectElement>('lrn'),
  steps: $<HTMLInputElement>('steps'),
  nsamples: $<HTMLInputElement>('nsamples'),
  low: $<HTMLInputElement>('low'),
  high: $<HTMLInputElement>('high'),
  target: $<HTMLSelectElement>('target'),
  colormap: $<HTMLSelectElement>('colormap'),
  style: $<HTMLSelectElement>('style'),
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
};

// Threads need cross-origin isolation (`relprop web` sends the headers); WebGPU is not used yet.
const threads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
setDefaultRuntime(webRuntime({ numThreads: threads }));
const runtimeLabel = `onnxruntime-web ${env.versions.web ?? ''}, WebAssembly backend (SIMD), ${threads} thread${threads > 1 ? 's' : ''}`;
ui.runtime.textContent = `Runs on ${runtimeLabel}.`;

interface Result {
  explanation: Explanation;
  options: ExplainerOptions;
  input: TensorData;
}

const state: { model?: LoadedModel; input?: TensorData; explainers: Map<string, Promise<Explainer>>; last?: Result; run: number } = {
  explainers: new Map(),
  run: 0,
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

/** The explainer options the controls describe. */
function options(): ExplainerOptions {
  const method = ui.method.value as ExplainerOptions['method'];
  const o: ExplainerOptions = { method };
  if (method === 'lrp') {
    o.composite = ui.composite.value;
    o.lrn = ui.lrn.value === 'identity' ? 'identity' : undefined;
    o.audit = true;
  }
  if (method === 'lrp' || method === 'gradient' || method === 'gradient-x-input' || method === 'deconvnet' || method === 'guided-backprop')
    o.layerRelevance = true;
  if (method === 'integrated-gradients') o.steps = Number(ui.steps.value);
  if (method === 'smoothgrad') o.samples = Number(ui.nsamples.value);
  if (ui.low.value !== '' || ui.high.value !== '') {
    const range: [number, number] = [Number(ui.low.value), Number(ui.high.value)];
    if (ui.low.value === '' || ui.high.value === '' || !(range[0] <= range[1])) throw new Error('input range: give both ends, low ≤ high');
    o.inputRange = range;
  }
  return o;
}

function showControls() {
  const m = ui.method.value;
  $('composite-row').hidden = m !== 'lrp';
  $('lrn-row').hidden = m !== 'lrp' || !state.model?.imported.graph.nodes.some((n) => n.op === 'LRN');
  $('steps-row').hidden = m !== 'integrated-gradients';
  $('samples-row').hidden = m !== 'smoothgrad';
}

async function explainerFor(o: ExplainerOptions): Promise<Explainer> {
  const key = JSON.stringify(o);
  let ex = state.explainers.get(key);
  if (!ex) {
    ex = Explainer.create(state.model!.imported, o);
    state.explainers.set(key, ex);
    ex.catch(() => state.explainers.delete(key));
  }
  return ex;
}

async function releaseExplainers() {
  const all = [...state.explainers.values()];
  state.explainers.clear();
  for (const p of all) await p.then((e) => e.release()).catch(() => undefined);
}

/** Explain the current input with the current controls and show it; later calls supersede earlier ones. */
async function explainNow(): Promise<Result | undefined> {
  const model = state.model;
  const input = state.input;
  if (!model || !input) return undefined;
  const run = ++state.run;
  ui.error.hidden = true;
  ui.status.textContent = 'explaining…';
  try {
    const o = options();
    const t0 = performance.now();
    const ex = await explainerFor(o);
    const target = ui.target.value === 'predicted' ? 'predicted' : Number(ui.target.value);
    const explanation = await ex.explain(input, { target });
    const ms = performance.now() - t0;
    if (run !== state.run) return undefined;
    const result = { explanation, options: o, input };
    state.last = result;
    show(result, ms);
    return result;
  } catch (e) {
    if (run === state.run) showError(e);
    throw e;
  }
}

function show(r: Result, ms: number) {
  const model = state.model!;
  const e = r.explanation;
  const classes = model.card?.classes;
  const t = e.targets[0]!;
  const method = r.options.method ?? 'lrp';
  const label = method === 'lrp' ? `LRP ${r.options.composite}` : method;
  drawFigure(ui.figure, {
    relevance: e.relevance.data as Float32Array,
    input: r.input.data as Float32Array,
    chw: model.chw,
    style: ui.style.value as HeatmapStyle,
    colormap: ui.colormap.value as ColormapChoice,
    title: `${label}\nclass ${t}${classes?.[t] ? ` ${classes[t]}` : ''}`,
  });
  ui.summary.textContent = summaryText(e, method, classes);
  fillScores(ui.scores, e.logits.data as Float32Array, classes, e.predicted[0]!, t);
  fillAudit(ui.audit, e.audit);
  const layers = Object.keys(e.layers ?? {});
  // Default: the first layer with several channels (the input's own maps are in the figure).
  const keep = layers.includes(ui.layer.value) ? ui.layer.value : (layers.find((l) => (e.layers![l]!.dims[1] ?? 0) > 3) ?? layers[0]);
  fillSelect(ui.layer, layers, keep ?? '');
  fillLayerMaps(ui.layerMaps, keep ? e.layers![keep] : undefined, ui.colormap.value as ColormapChoice);
  for (const b of [ui.dlNpy, ui.dlPng, ui.dlOnnx]) b.disabled = false;
  ui.status.textContent = `explained in ${ms.toFixed(0)} ms on ${runtimeLabel}`;
}

/** Save a blob under a file name (the browser's download). */
function download(blob: Blob, name: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

const stem = () => `${state.model?.name.replace(/\.onnx$/i, '') ?? 'model'}-${state.last?.options.method ?? 'lrp'}`;
ui.dlNpy.addEventListener('click', () => {
  if (state.last) download(new Blob([encodeNpy(state.last.explanation.relevance) as BlobPart]), `${stem()}-relevance.npy`);
});
ui.dlPng.addEventListener('click', () => ui.figure.toBlob((b) => b && download(b, `${stem()}-heatmap.png`), 'image/png'));
// The compiled explainer is built on demand: it holds a second copy of the weights.
ui.dlOnnx.addEventListener('click', async () => {
  if (!state.model || !state.last) return;
  try {
    const ex = await explainerFor(state.last.options);
    const compiled = await ex.compile([1, ...state.model.chw]);
    download(new Blob([compiled.model as BlobPart]), `${stem()}-explainer.onnx`);
  } catch (e) {
    showError(e);
  }
});

async function setModel(m: LoadedModel) {
  await releaseExplainers();
  state.model = m;
  state.input = undefined;
  state.last = undefined;
  for (const b of [ui.dlNpy, ui.dlPng, ui.dlOnnx]) b.disabled = true;
  const [c, h, w] = m.chw;
  ui.modelName.textContent = m.name;
  ui.modelInfo.textContent = `input ${c}×${h}×${w}${m.card?.classes ? `, ${m.card.classes.length} classes` : ''}${m.card ? ` (card ${m.card.path})` : ', no card'}`;
  const classes = m.card?.classes;
  ui.target.replaceChildren(new Option('predicted class', 'predicted'), ...(classes ?? []).map((n, k) => new Option(`${k} ${n}`, String(k))));
  ui.low.value = m.card?.inputRange ? String(m.card.inputRange[0]) : '';
  ui.high.value = m.card?.inputRange ? String(m.card.inputRange[1]) : '';
  showControls();
}

async function setImage(img: Parameters<typeof toModelInput>[0]) {
  if (!state.model) return;
  const { tensor, note } = toModelInput(img, state.model.chw);
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
      const blob = await (await fetch(`./samples/${s.file}`)).blob();
      await setImage(await decodeImageFile(blob)).catch(showError);
    });
    ui.samples.appendChild(b);
  }
}

async function openFiles(files: File[]) {
  ui.error.hidden = true;
  try {
    const image = files.length === 1 && /^image\//.test(files[0]!.type);
    if (image) return await setImage(await decodeImageFile(files[0]!));
    await setModel(await modelFromFiles(files));
    ui.samples.hidden = true;
    const first = ui.samples.querySelector('button');
    if (first && state.model) first.classList.remove('active');
    ui.status.textContent = 'model loaded: open or draw an image';
  } catch (e) {
    showError(e);
  }
}

const pad = drawPad(ui.pad, () => {
  const ctx = ui.pad.getContext('2d')!;
  const { data } = ctx.getImageData(0, 0, ui.pad.width, ui.pad.height);
  setImage(rgbaToImage(data, ui.pad.width, ui.pad.height)).catch(showError);
});
ui.padClear.addEventListener('click', () => pad.clear());
ui.modelFile.addEventListener('change', () => openFiles([...(ui.modelFile.files ?? [])]));
ui.imageFile.addEventListener('change', () => openFiles([...(ui.imageFile.files ?? [])]));
ui.modelDefault.addEventListener('click', async () => {
  try {
    await setModel(await bundledModel());
    ui.samples.hidden = false;
    (ui.samples.querySelector('button') as HTMLButtonElement | null)?.click();
  } catch (e) {
    showError(e);
  }
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  openFiles([...(e.dataTransfer?.files ?? [])]);
});
for (const el of [ui.method, ui.composite, ui.lrn, ui.steps, ui.nsamples, ui.low, ui.high, ui.target, ui.colormap, ui.style])
  el.addEventListener('change', () => {
    showControls();
    explainNow().catch(() => undefined);
  });
ui.layer.addEventListener('change', () => {
  const l = state.last?.explanation.layers?.[ui.layer.value];
  fillLayerMaps(ui.layerMaps, l, ui.colormap.value as ColormapChoice);
});

/** For tests and the console: explain with the current controls, and the last result as plain numbers. */
const app = {
  ready: (async () => {
    await setModel(await bundledModel());
    await loadSamples();
    await (ui.samples.querySelector('button') as HTMLButtonElement | null)?.click();
  })().catch(showError),
  explainNow,
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
  runtime: runtimeLabel,
};
(globalThis as unknown as { relpropApp: typeof app }).relpropApp = app;
