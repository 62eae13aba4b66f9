/**
 * Region perturbation (Samek et al., arXiv 1509.06321; papers digest §4.3): for every sample and
 * method, order the non-overlapping regions of the image by their summed relevance, replace them
 * one by one (MoRF: most relevant first; LeRF: least relevant first) and record the explained
 * class score after every step. All perturbed variants go through one ONNX Runtime session of
 * the original model in large batches; heatmaps come from the Explainer API.
 *
 * Work is split into chunks of samples with fixed boundaries (chunk.ts); each finished chunk is
 * appended to a progress store (progress.ts; on Node a file), so a stopped run resumes where it
 * stopped and gives the same numbers. This file holds the public types and the driver: check
 * and resolve the settings (settings.ts), open the sessions, run the missing chunks, summarise
 * (summary.ts).
 */
import { Explainer } from '../explain/explainer.js';
import type { TensorData } from '../onnx/tensor.js';
import type { Runtime } from '../runtime.js';
import { chunkCount, evaluateChunk, inferencesPerSample, noWork, WORK_KEYS, type Attributor, type ChunkWork, type Engines } from './chunk.js';
import type { PngEncoder } from './complexity.js';
import { Forward } from './forward.js';
import { attributorFor, type MethodSpec } from './methods.js';
import { memoryProgress, type ProgressLog, type ProgressStore, type SampleRecord } from './progress.js';
import type { Replacement } from './perturb.js';
import { poolChannels, type ImageGeometry } from './regions.js';
import { checkRun, planWithModel, settingsHash, settingsRecord, type CheckedRun, type Plan, type ResolvedSettings } from './settings.js';
import { summarise, type MethodResult } from './summary.js';

export { chunkCount, evaluateChunk, type Attributor, type ChunkResult, type ChunkWork, type Engines } from './chunk.js';
export { memoryProgress, type ProgressLog, type ProgressStore, type SampleRecord } from './progress.js';
export { checkRun, type CheckedRun, type Plan, type ResolvedSettings } from './settings.js';
export { summarise, type CurveSummary, type MethodResult } from './summary.js';

export interface Dataset {
  /** float32 images, [N, C, H, W], [N, H, W, C] or [N, H, W]. */
  x: TensorData;
  labels?: number[];
  /** Index of each sample in its source (default 0..N-1). */
  ids?: number[];
  /** For the record: where the data came from. */
  source?: string;
}

export interface EvaluateConfig {
  methods: MethodSpec[];
  /** Region height and width in pixels; must divide the image. */
  regionSize: [number, number];
  /** Perturbation steps L (default: min(100, number of regions)). */
  steps?: number;
  replacement?: Replacement;
  /** blur: Gaussian σ in pixels (default 2). */
  blurSigma?: number;
  /** uniform: value range for every channel (default: per-channel min/max of the data). */
  range?: [number, number];
  /** Noise draws (and random orders) per sample, averaged (default 1). */
  repeats?: number;
  seed?: number;
  /** Class whose score is tracked: the model's prediction on the clean image (default) or the label. */
  target?: 'predicted' | 'label';
  /** Tracked score: the pre-softmax logit (default, as the paper) or the softmax probability. */
  score?: 'logit' | 'probability';
  layout?: 'nchw' | 'nhwc';
  /** Samples per chunk (the unit of progress and resume; default 50). */
  chunkSize?: number;
}

export interface RunOptions {
  /** ONNX Runtime intra-op threads (0/undefined: all cores). */
  threads?: number;
  /** Where the model and explainers run (default: the registered default runtime). */
  runtime?: Runtime;
  /** The model's name in the settings record (e.g. its path). */
  modelName?: string;
  /** PNG encoder for the heatmap-complexity measure (required; Node's entry point supplies pngjs). */
  encodePng?: PngEncoder;
  /** Perturbed variants per forward run (default 256). */
  forwardBatch?: number;
  /** Samples (× IG steps / SmoothGrad samples) per explainer run (default 256). */
  explainBatch?: number;
  /** Where finished chunks are kept; chunks it already holds are skipped (default: kept for this call only). */
  progress?: ProgressStore;
  /** Checked between chunks: when aborted, the run returns with complete = false. */
  signal?: AbortSignal;
  /** Perturbed inferences done / total (resumed work counts as done). */
  onProgress?: (done: number, total: number) => void;
  /** Keep pooled heatmaps of the first n samples for a grid image (default 0). */
  heatmapSamples?: number;
}

export interface Timing extends ChunkWork {
  /** Whole run (this process's share of it when resumed), ms. The other fields: this process's work. */
  totalMs: number;
}

export interface EvaluationResult {
  complete: boolean;
  /** What a reader of the results must know about some methods' maps (e.g. Taylor roots not reached). */
  notes?: string[];
  settings: ResolvedSettings;
  /** Samples evaluated so far (all of them when complete). */
  samples: number;
  /** Clean-image accuracy against the labels, when there are labels. */
  accuracy?: number;
  methods: MethodResult[];
  records: SampleRecord[];
  /** This process's work (a resumed run counts only what it computed itself). */
  timing: Timing;
  /** With a progress store: the work of every finished chunk, this run's and earlier runs' (no wall time). */
  timingAllChunks?: ChunkWork;
  heatmaps?: { geometry: ImageGeometry; inputs: Float32Array[]; targets: number[]; maps: { label: string; maps: Float64Array[] }[] };
}

/** Evaluate methods by region perturbation. See the module comment. */
export async function evaluateRegionPerturbation(model: Uint8Array, data: Dataset, config: EvaluateConfig, run: RunOptions = {}): Promise<EvaluationResult> {
  const t0 = performance.now();
  const { plan, engines } = await openEngines(model, checkRun(data, config, run), run);
  try {
    const settings = settingsRecord(plan, engines.forward.outputName, data, run);
    const log = await (run.progress ?? memoryProgress()).open(await settingsHash(model, plan, settings, run), settings);
    const timing: Timing = { totalMs: 0, ...noWork() };
    const complete = await runChunks(plan, engines, log, run, timing);
    const result = collectResult(plan, settings, log, complete, timing, run.progress !== undefined);
    const G = Math.min(run.heatmapSamples ?? 0, plan.samples);
    if (complete && G > 0) result.heatmaps = await keptHeatmaps(plan, engines.explainers, result.records, G);
    const notes = [...engines.explainers.values()].map((a) => a.note?.()).filter((n): n is string => n !== undefined);
    if (notes.length > 0) result.notes = notes;
    timing.totalMs = performance.now() - t0;
    return result;
  } finally {
    await releaseEngines(engines);
  }
}

/**
 * Open the model's forward session and one explainer per method (random needs none) for a
 * checked run. The model's output must be class scores: that is checked on one sample before
 * any explainer is compiled. On failure, whatever was opened is released.
 */
export async function openEngines(model: Uint8Array, checked: CheckedRun, run: RunOptions): Promise<{ plan: Plan; engines: Engines }> {
  const forward = await Forward.create(model, run.runtime, run.threads, checked.sampleDims);
  const explainers = new Map<string, Attributor>();
  const engines: Engines = { forward, explainers, encodePng: run.encodePng! }; // checkRun made sure of it
  try {
    const plan = await planWithModel(checked, forward);
    for (const m of plan.methods) {
      if (m.method === 'random') continue;
      const ex = await Explainer.create(model, { ...m.options, batchSize: run.explainBatch ?? 256, threads: run.threads, runtime: run.runtime });
      try {
        explainers.set(m.label, attributorFor(m, ex));
      } catch (e) {
        await ex.release();
        throw e;
      }
    }
    return { plan, engines };
  } catch (e) {
    await releaseEngines(engines);
    throw e;
  }
}

export async function releaseEngines(engines: Engines): Promise<void> {
  for (const ex of engines.explainers.values()) await ex.release();
  await engines.forward.session.release();
}

/**
 * Evaluate, in order, every chunk the log does not hold yet, appending each as it finishes and
 * adding its work to `work`. The signal is checked between chunks; returns whether all are done.
 */
export async function runChunks(
  plan: Plan,
  engines: Engines,
  log: ProgressLog,
  run: Pick<RunOptions, 'signal' | 'onProgress'>,
  work: ChunkWork,
): Promise<boolean> {
  const perSample = inferencesPerSample(plan);
  const total = plan.samples * perSample;
  let doneInf = 0;
  for (const recs of log.done.values()) doneInf += (recs.length / plan.methods.length) * perSample;
  run.onProgress?.(doneInf, total);
  const onInferences = (n: number) => {
    doneInf += n;
    run.onProgress?.(doneInf, total);
  };
  for (let c = 0; c < chunkCount(plan); c++) {
    if (log.done.has(c)) continue;
    if (run.signal?.aborted) return false;
    const { records, spent } = await evaluateChunk(plan, engines, c, onInferences);
    for (const k of WORK_KEYS) work[k] += spent[k];
    await log.append(c, records, spent);
  }
  return true;
}

/** The result from the log's records: summary, accuracy, and the work of all chunks when a store keeps them. */
function collectResult(plan: Plan, settings: ResolvedSettings, log: ProgressLog, complete: boolean, timing: Timing, stored: boolean): EvaluationResult {
  const all = [...log.done.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, r]) => r);
  const result: EvaluationResult = {
    complete,
    settings,
    samples: new Set(all.map((r) => r.i)).size,
    methods: summarise(plan.methods, all),
    records: all,
    timing,
  };
  if (stored && Object.keys(log.spent).length > 0) {
    result.timingAllChunks = Object.fromEntries(WORK_KEYS.map((k) => [k, log.spent[k] ?? 0])) as ChunkWork;
  }
  if (plan.labels) {
    const firsts = all.filter((r) => r.method === plan.methods[0]!.label);
    if (firsts.length > 0) result.accuracy = firsts.filter((r) => r.predicted === r.label).length / firsts.length;
  }
  return result;
}

/** Pooled heatmaps of the first G samples (for the grid image), explaining the classes the records tracked. */
async function keptHeatmaps(
  plan: Plan,
  explainers: ReadonlyMap<string, Attributor>,
  records: SampleRecord[],
  G: number,
): Promise<NonNullable<EvaluationResult['heatmaps']>> {
  const { x, per, geometry } = plan;
  const inputs = Array.from({ length: G }, (_, i) => x.slice(i * per, (i + 1) * per));
  const targets = records
    .filter((r) => r.method === plan.methods[0]!.label && r.i < G)
    .sort((a, b) => a.i - b.i)
    .map((r) => r.target);
  const maps: { label: string; maps: Float64Array[] }[] = [];
  for (const m of plan.methods) {
    if (m.method === 'random') continue;
    const res = await explainers.get(m.label)!.explain({ dtype: 'float32', dims: [G, ...plan.sampleDims], data: x.subarray(0, G * per) }, { target: targets });
    const rel = res.relevance.data as Float32Array;
    maps.push({ label: m.label, maps: Array.from({ length: G }, (_, i) => poolChannels(rel.subarray(i * per, (i + 1) * per), geometry, m.pooling)) });
  }
  return { geometry, inputs, targets, maps };
}
