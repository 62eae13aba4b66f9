/**
 * A region-perturbation run resolved and checked before any work: every default filled in and
 * every input validated (methods, data, regions, steps, replacement, batch sizes), then, once the
 * model has run on one sample, its class count and the labels against it. The result, the Plan,
 * is plain data: with the runtime objects it is all a chunk needs. The settings record is the
 * readable part of it; the settings hash (of everything that determines the results) keys the
 * progress store.
 */
import type { TensorData } from '../onnx/tensor.js';
import type { Forward } from './forward.js';
import type { MethodSpec } from './methods.js';
import { checkReplacement, type Replacement } from './perturb.js';
import type { Dataset, EvaluateConfig, RunOptions } from './region-perturbation.js';
import { imageGeometry, regionGrid, type ImageGeometry, type RegionGrid } from './regions.js';

/** What the results record of a run's settings (and, with more, what the hash covers). */
export interface ResolvedSettings
  extends Pick<Plan, 'samples' | 'geometry' | 'steps' | 'replacement' | 'blurSigma' | 'range' | 'repeats' | 'seed' | 'target' | 'score' | 'chunkSize'> {
  model: string;
  data: string;
  regionSize: [number, number];
  regions: number;
  fractionPerturbed: number;
  methods: { label: string; pooling: string }[];
  classes: number;
  outputName: string;
}

/** A run with every default resolved and every input checked: plain data. */
export interface Plan {
  methods: MethodSpec[];
  /** The samples, flat, `per` values each; their shape is sampleDims. */
  x: Float32Array;
  samples: number;
  per: number;
  sampleDims: number[];
  labels?: number[];
  /** Index of each sample in its source: the key of its random streams. */
  ids: number[];
  geometry: ImageGeometry;
  grid: RegionGrid;
  steps: number;
  replacement: Replacement;
  blurSigma?: number;
  range?: [number, number][];
  repeats: number;
  seed: number;
  target: 'predicted' | 'label';
  score: 'logit' | 'probability';
  chunkSize: number;
  /** Perturbed variants per forward run (within the model's fixed batch size, if it has one). */
  forwardBatch: number;
  /** Classes K of the model's scores. */
  classes: number;
}

/** The plan before the model is opened. */
export type CheckedRun = Omit<Plan, 'classes'>;

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** Check everything that can be checked without the model, in the order a user would fix it. */
export function checkRun(data: Dataset, config: EvaluateConfig, run: RunOptions): CheckedRun {
  checkMethods(config.methods, run);
  const { x, N, per } = checkImages(data.x);
  const geometry = imageGeometry(x.dims, config.layout);
  const grid = regionGrid(geometry, config.regionSize);
  const steps = positiveInt(config.steps ?? Math.min(100, grid.count), 'steps');
  if (steps > grid.count) throw new Error(`steps (${steps}) exceeds the number of ${grid.rh}x${grid.rw} regions (${grid.count})`);
  const replacement = checkReplacement(config.replacement ?? 'uniform');
  const repeats = positiveInt(config.repeats ?? 1, 'repeats');
  const target = config.target ?? 'predicted';
  const chunkSize = positiveInt(config.chunkSize ?? 50, 'chunk size');
  if (target === 'label' && !data.labels) throw new Error('target "label" needs labels, and the data set has none');
  if (data.labels && data.labels.length !== N) throw new Error(`${data.labels.length} labels for ${N} samples`);
  checkFinite(x.data, per);
  const blurSigma = replacement === 'blur' ? (config.blurSigma ?? 2) : undefined;
  if (blurSigma !== undefined && !(blurSigma > 0)) throw new Error(`blur sigma must be positive, got ${blurSigma}`);
  const range = replacement === 'uniform' ? noiseRange(config.range, x.data, geometry, per) : undefined;
  const ids = data.ids ?? Array.from({ length: N }, (_, i) => i);
  const forwardBatch = positiveInt(run.forwardBatch ?? 256, 'forward batch');
  return {
    methods: config.methods,
    x: x.data,
    samples: N,
    per,
    sampleDims: x.dims.slice(1),
    labels: data.labels,
    ids,
    geometry,
    grid,
    steps,
    replacement,
    blurSigma,
    range,
    repeats,
    seed: config.seed ?? 0,
    target,
    score: config.score ?? 'logit',
    chunkSize,
    forwardBatch,
  };
}

function checkMethods(methods: MethodSpec[], run: RunOptions): void {
  if (methods.length === 0) throw new Error('no methods to evaluate');
  if (!run.encodePng) throw new Error("region perturbation needs a PNG encoder (run.encodePng) for the heatmap complexity; relprop's Node entry supplies one");
  const labels = new Set<string>();
  for (const m of methods) {
    if (labels.has(m.label)) throw new Error(`method "${m.label}" is listed twice`);
    labels.add(m.label);
  }
}

function checkImages(x: TensorData): { x: { dims: number[]; data: Float32Array }; N: number; per: number } {
  if (x.dtype !== 'float32') throw new Error(`the data is ${x.dtype}; region perturbation needs float32 images in the model's input range`);
  const N = x.dims[0] ?? 0;
  if (N === 0) throw new Error('the data set is empty: no samples to evaluate');
  return { x: { dims: [...x.dims], data: x.data as Float32Array }, N, per: x.data.length / N };
}

function checkFinite(xs: Float32Array, per: number): void {
  for (let i = 0; i < xs.length; i++)
    if (!Number.isFinite(xs[i]!))
      throw new Error(`the data holds ${Number.isNaN(xs[i]!) ? 'NaN' : 'an infinite value'} at flat index ${i} (sample ${Math.floor(i / per)})`);
}

/** Uniform noise range: the given one for every channel, else each channel's min/max over the data. */
function noiseRange(given: [number, number] | undefined, xs: Float32Array, g: ImageGeometry, per: number): [number, number][] {
  if (given) {
    if (!(given[0] < given[1])) throw new Error(`noise range needs LOW < HIGH, got ${given.join(',')}`);
    return [given];
  }
  const range = Array.from({ length: g.C }, () => [Infinity, -Infinity] as [number, number]);
  const n = g.H * g.W;
  for (let i = 0; i < xs.length; i++) {
    const c = g.layout === 'nchw' ? Math.floor((i % per) / n) : (i % per) % g.C;
    range[c]![0] = Math.min(range[c]![0], xs[i]!);
    range[c]![1] = Math.max(range[c]![1], xs[i]!);
  }
  return range;
}

/** Run one sample through the model (its output must be class scores) and complete the plan. */
export async function planWithModel(checked: CheckedRun, forward: Forward): Promise<Plan> {
  await forward.run(checked.x.subarray(0, checked.per), 1);
  const K = forward.K;
  if (checked.labels)
    for (const l of checked.labels) if (!Number.isInteger(l) || l < 0 || l >= K) throw new Error(`label ${l} is out of range for a model with ${K} classes`);
  return { ...checked, classes: K, forwardBatch: forward.capBatch(checked.forwardBatch) };
}

/** The settings as the results record them. */
export function settingsRecord(plan: Plan, outputName: string, data: Dataset, run: RunOptions): ResolvedSettings {
  const { geometry, grid } = plan;
  return {
    model: run.modelName ?? 'model bytes',
    data: data.source ?? 'data',
    samples: plan.samples,
    geometry,
    regionSize: [grid.rh, grid.rw],
    regions: grid.count,
    steps: plan.steps,
    fractionPerturbed: (plan.steps * grid.rh * grid.rw) / (geometry.H * geometry.W),
    replacement: plan.replacement,
    blurSigma: plan.blurSigma,
    range: plan.range,
    repeats: plan.repeats,
    seed: plan.seed,
    target: plan.target,
    score: plan.score,
    chunkSize: plan.chunkSize,
    methods: plan.methods.map((m) => ({ label: m.label, pooling: m.pooling })),
    classes: plan.classes,
    outputName,
  };
}

/** Hash of everything that determines the results: the settings with the model's and data's bytes and the full method options. */
export async function settingsHash(model: Uint8Array, plan: Plan, settings: ResolvedSettings, run: RunOptions): Promise<string> {
  const xs = plan.x;
  const hashed = {
    ...settings,
    model: await sha256(model),
    data: await sha256(new Uint8Array(xs.buffer, xs.byteOffset, xs.byteLength), JSON.stringify(plan.labels ?? null), JSON.stringify(plan.ids)),
    methods: plan.methods.map((m) => ({ label: m.label, pooling: m.pooling, options: m.options })),
    explainBatch: run.explainBatch ?? 256,
  };
  return sha256(JSON.stringify(hashed));
}

/** SHA-256 by WebCrypto (in browsers and Node alike). */
async function sha256(...parts: (Uint8Array | string)[]): Promise<string> {
  const bytes = parts.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : p));
  const all = new Uint8Array(bytes.reduce((a, b) => a + b.length, 0));
  let off = 0;
  for (const b of bytes) {
    all.set(b, off);
    off += b.length;
  }
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (v) => v.toString(16).padStart(2, '0')).join('');
}
