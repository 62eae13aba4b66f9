/**
 * Region perturbation (Samek et al., arXiv 1509.06321; papers digest §4.3): for every sample and
 * method, order the non-overlapping regions of the image by their summed relevance, replace them
 * one by one (MoRF: most relevant first; LeRF: least relevant first) and record the explained
 * class score after every step. All perturbed variants go through one ONNX Runtime session of
 * the original model in large batches; heatmaps come from the Explainer API.
 *
 * Work is split into chunks of samples with fixed boundaries; each finished chunk is appended
 * to a progress file, so a stopped run resumes where it stopped and gives the same numbers.
 */
import { Explainer } from '../explain/explainer.js';
import { decodeModel } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { aopc, aopcCurve, meanSe, meanSeCurves, type MeanSe } from './aopc.js';
import { heatmapComplexity, type PngEncoder } from './complexity.js';
import type { MethodSpec } from './methods.js';
import { checkReplacement, perturbRegion, replacementImage, type Replacement } from './perturb.js';
import type { ProgressOpener, SampleRecord } from './progress.js';
import { imageGeometry, morfOrder, poolChannels, regionGrid, regionScores, reversed, type ImageGeometry, type RegionGrid } from './regions.js';
import { permutation, rngFor } from '../math/rng.js';

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
  /** JSON-lines progress file; finished chunks in it are skipped. */
  progressFile?: string;
  /** Opens `progressFile` (required with it; Node's entry point supplies the JSON-lines file). */
  openProgress?: ProgressOpener;
  /** Ignore (overwrite) an existing progress file. */
  fresh?: boolean;
  /** Checked between chunks: when aborted, the run returns with complete = false. */
  signal?: AbortSignal;
  /** Perturbed inferences done / total (resumed work counts as done). */
  onProgress?: (done: number, total: number) => void;
  /** Keep pooled heatmaps of the first n samples for a grid image (default 0). */
  heatmapSamples?: number;
}

export interface CurveSummary {
  /** AOPC per the paper (1/(L+1) Σ_k (f(x0) − f(xk))), mean and standard error over samples. */
  aopc: MeanSe;
  /** Per step k = 0..L: mean and s.e. of f(x^(k)). */
  score: { mean: number[]; se: number[] };
  /** Per step: mean and s.e. of f(x^(0)) − f(x^(k)). */
  drop: { mean: number[]; se: number[] };
  /** Per step: AOPC with the sum truncated at k (normalised by k + 1). */
  aopcCurve: { mean: number[]; se: number[] };
}

export interface MethodResult {
  label: string;
  method: string;
  composite?: string;
  rule?: string;
  params?: Record<string, number>;
  pooling: string;
  n: number;
  morf: CurveSummary;
  lerf: CurveSummary;
  /** AOPC_MoRF − AOPC_LeRF per sample (area between the curves). */
  abpc: MeanSe;
  /** MoRF AOPC minus the random baseline's, paired per sample (when a random baseline was run). */
  morfVsRandom?: MeanSe;
  complexity?: { png: MeanSe; entropy: MeanSe };
}

export interface Timing {
  /** Whole run (this process's share of it when resumed), ms. */
  totalMs: number;
  /** Inside session.run of the perturbed batches. */
  forwardOrtMs: number;
  /** Building perturbed batches and reading scores back (JavaScript). */
  forwardJsMs: number;
  /** Explainer.explain calls (ONNX Runtime plus its JS pre/post-processing). */
  explainMs: number;
  /** Orders, replacement images, complexity (JavaScript). */
  prepareMs: number;
  /** Forward runs of the clean images (ONNX Runtime). */
  cleanMs: number;
  /** Perturbed inferences run by this process. */
  inferences: number;
  forwardRuns: number;
}

export interface EvaluationResult {
  complete: boolean;
  settings: ResolvedSettings;
  /** Samples evaluated so far (all of them when complete). */
  samples: number;
  /** Clean-image accuracy against the labels, when there are labels. */
  accuracy?: number;
  methods: MethodResult[];
  records: SampleRecord[];
  /** This process's work (a resumed run counts only what it computed itself). */
  timing: Timing;
  /** With a progress file: the work of every finished chunk, this run's and earlier runs' (no wall time). */
  timingAllChunks?: Omit<Timing, 'totalMs'>;
  heatmaps?: { geometry: ImageGeometry; inputs: Float32Array[]; targets: number[]; maps: { label: string; maps: Float64Array[] }[] };
}

export interface ResolvedSettings {
  model: string;
  data: string;
  samples: number;
  geometry: ImageGeometry;
  regionSize: [number, number];
  regions: number;
  steps: number;
  fractionPerturbed: number;
  replacement: Replacement;
  blurSigma?: number;
  range?: [number, number][];
  repeats: number;
  seed: number;
  target: 'predicted' | 'label';
  score: 'logit' | 'probability';
  chunkSize: number;
  methods: { label: string; pooling: string }[];
  classes: number;
  outputName: string;
}

/** The model's first output must be class scores [N, K], K ≥ 2. */
function checkClassScores(dims: readonly number[], type: string, name: string, rows: number): number {
  if (type !== 'float32') throw new Error(`the model's output "${name}" is ${type}; region perturbation needs float class scores [N, K]`);
  if (dims.length !== 2 || dims[0] !== rows || !(dims[1]! >= 2)) {
    throw new Error(`the model's output "${name}" has shape ${JSON.stringify(dims)} for ${rows} input(s); region perturbation needs class scores of shape [N, K] with K ≥ 2`);
  }
  return dims[1]!;
}

/** A forward-only session of the original model. */
class Forward {
  private constructor(
    readonly session: Session,
    readonly inputName: string,
    readonly outputName: string,
    readonly fixedBatch: number | null,
    readonly sampleDims: number[],
  ) {}

  K = 0;

  static async create(model: Uint8Array, runtime: Runtime | undefined, threads: number | undefined, sampleDims: number[]): Promise<Forward> {
    const graph = decodeModel(model);
    if (graph.inputs.length !== 1) throw new Error(`the model has ${graph.inputs.length} inputs; region perturbation needs a single image input`);
    const meta = graph.inputs[0]!;
    const session = await openSession(runtime, model, { threads }, 'the model');
    let fixedBatch: number | null = null;
    {
      if (meta.elemType !== 1) throw new Error(`the model reads ONNX type ${meta.elemType} input; region perturbation perturbs float32 images`);
      const shape = meta.shape;
      if (shape.length > 0) {
        if (shape.length !== sampleDims.length + 1) throw new Error(`the data has samples of shape ${JSON.stringify(sampleDims)} but the model expects rank ${shape.length} input ${JSON.stringify(shape)}`);
        shape.slice(1).forEach((d, i) => {
          if (typeof d === 'number' && d !== sampleDims[i]) throw new Error(`the data has samples of shape ${JSON.stringify(sampleDims)} but the model expects ${JSON.stringify(shape)}`);
        });
        if (typeof shape[0] === 'number' && shape[0] > 0) fixedBatch = shape[0];
      }
    }
    return new Forward(session, session.inputNames[0]!, session.outputNames[0]!, fixedBatch, sampleDims);
  }

  /** Logits of `rows` samples stored in `data` (length ≥ rows × per). */
  async run(data: Float32Array, rows: number): Promise<Float32Array> {
    const perSample = this.sampleDims.reduce((a, b) => a * b, 1);
    let feedRows = rows;
    let feed = data.length === rows * perSample ? data : data.subarray(0, rows * perSample);
    if (this.fixedBatch !== null && rows !== this.fixedBatch) {
      if (rows > this.fixedBatch) throw new Error('internal: batch larger than the fixed batch size');
      const padded = new Float32Array(this.fixedBatch * perSample);
      padded.set(feed);
      feed = padded;
      feedRows = this.fixedBatch;
    }
    const res = await this.session.run({ [this.inputName]: { dtype: 'float32', dims: [feedRows, ...this.sampleDims], data: feed } });
    const out = res[this.outputName]!;
    const K = checkClassScores(out.dims, out.dtype, this.outputName, feedRows);
    if (this.K === 0) this.K = K;
    return (out.data as Float32Array).subarray(0, rows * K);
  }

  /** Largest batch the session takes. */
  capBatch(b: number): number {
    return this.fixedBatch ?? b;
  }
}

/** The parts of Timing that are summed per chunk (and over resumed runs). */
const TIMED = ['forwardOrtMs', 'forwardJsMs', 'explainMs', 'prepareMs', 'cleanMs', 'inferences', 'forwardRuns'] as const;

function scoreOf(logits: Float32Array, row: number, K: number, target: number, kind: 'logit' | 'probability'): number {
  const off = row * K;
  if (kind === 'logit') return logits[off + target]!;
  let m = -Infinity;
  for (let k = 0; k < K; k++) m = Math.max(m, logits[off + k]!);
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(logits[off + k]! - m);
  return Math.exp(logits[off + target]! - m) / s;
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

/** One MoRF or LeRF series: the regions of `order` replaced one by one from `R`. */
interface Series {
  x: Float32Array;
  R: Float32Array;
  order: Int32Array;
  /** f(x^(k)) lands in dest[k]; dest[0] is the clean score. */
  dest: Float64Array;
  target: number;
}

/** Evaluate methods by region perturbation. See the module comment. */
export async function evaluateRegionPerturbation(model: Uint8Array, data: Dataset, config: EvaluateConfig, run: RunOptions = {}): Promise<EvaluationResult> {
  const t0 = performance.now();
  const timing: Timing = { totalMs: 0, forwardOrtMs: 0, forwardJsMs: 0, explainMs: 0, prepareMs: 0, cleanMs: 0, inferences: 0, forwardRuns: 0 };
  // ---- check everything before any work ------------------------------------------------------
  if (config.methods.length === 0) throw new Error('no methods to evaluate');
  const encodePng = run.encodePng;
  if (!encodePng) throw new Error('region perturbation needs a PNG encoder (run.encodePng) for the heatmap complexity; relprop\'s Node entry supplies one');
  const labels = new Set<string>();
  for (const m of config.methods) {
    if (labels.has(m.label)) throw new Error(`method "${m.label}" is listed twice`);
    labels.add(m.label);
  }
  const x = data.x;
  if (x.dtype !== 'float32') throw new Error(`the data is ${x.dtype}; region perturbation needs float32 images in the model's input range`);
  const N = x.dims[0] ?? 0;
  if (N === 0) throw new Error('the data set is empty: no samples to evaluate');
  const geometry = imageGeometry(x.dims, config.layout);
  const grid: RegionGrid = regionGrid(geometry, config.regionSize);
  const L = config.steps ?? Math.min(100, grid.count);
  if (!Number.isInteger(L) || L < 1) throw new Error(`steps must be a positive integer, got ${config.steps}`);
  if (L > grid.count) throw new Error(`steps (${L}) exceeds the number of ${grid.rh}x${grid.rw} regions (${grid.count})`);
  const replacement = checkReplacement(config.replacement ?? 'uniform');
  const repeats = config.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`repeats must be a positive integer, got ${repeats}`);
  const seed = config.seed ?? 0;
  const target = config.target ?? 'predicted';
  const scoreKind = config.score ?? 'logit';
  const chunkSize = config.chunkSize ?? 50;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new Error(`chunk size must be a positive integer, got ${chunkSize}`);
  if (target === 'label' && !data.labels) throw new Error('target "label" needs labels, and the data set has none');
  if (data.labels && data.labels.length !== N) throw new Error(`${data.labels.length} labels for ${N} samples`);
  const per = x.data.length / N;
  const xs = x.data as Float32Array;
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i]!)) throw new Error(`the data holds ${Number.isNaN(xs[i]!) ? 'NaN' : 'an infinite value'} at flat index ${i} (sample ${Math.floor(i / per)})`);
  const blurSigma = replacement === 'blur' ? (config.blurSigma ?? 2) : undefined;
  if (blurSigma !== undefined && !(blurSigma > 0)) throw new Error(`blur sigma must be positive, got ${blurSigma}`);
  let range: [number, number][] | undefined;
  if (replacement === 'uniform') {
    if (config.range) {
      if (!(config.range[0] < config.range[1])) throw new Error(`noise range needs LOW < HIGH, got ${config.range.join(',')}`);
      range = [config.range];
    } else {
      range = Array.from({ length: geometry.C }, () => [Infinity, -Infinity] as [number, number]);
      const n = geometry.H * geometry.W;
      for (let i = 0; i < xs.length; i++) {
        const c = geometry.layout === 'nchw' ? Math.floor((i % per) / n) : (i % per) % geometry.C;
        range[c]![0] = Math.min(range[c]![0], xs[i]!);
        range[c]![1] = Math.max(range[c]![1], xs[i]!);
      }
    }
  }
  const ids = data.ids ?? Array.from({ length: N }, (_, i) => i);
  const fwdBatchWanted = run.forwardBatch ?? 256;
  if (!Number.isInteger(fwdBatchWanted) || fwdBatchWanted < 1) throw new Error(`forward batch must be a positive integer, got ${run.forwardBatch}`);

  const sampleDims = x.dims.slice(1);
  const forward = await Forward.create(model, run.runtime, run.threads, sampleDims);
  // The output must be class scores: check on one sample before compiling any explainer.
  await forward.run(xs.subarray(0, per), 1);
  const K = forward.K;
  if (data.labels) for (const l of data.labels) if (!Number.isInteger(l) || l < 0 || l >= K) throw new Error(`label ${l} is out of range for a model with ${K} classes`);
  const fwdBatch = forward.capBatch(fwdBatchWanted);

  const explainers = new Map<string, Explainer>();
  try {
    for (const m of config.methods) {
      if (m.method === 'random') continue;
      const ex = await Explainer.create(model, { ...m.options, batchSize: run.explainBatch ?? 256, threads: run.threads, runtime: run.runtime });
      explainers.set(m.label, ex);
    }

    const modelBytes = model;
    const settings: ResolvedSettings = {
      model: run.modelName ?? 'model bytes',
      data: data.source ?? 'data',
      samples: N,
      geometry,
      regionSize: [grid.rh, grid.rw],
      regions: grid.count,
      steps: L,
      fractionPerturbed: (L * grid.rh * grid.rw) / (geometry.H * geometry.W),
      replacement,
      blurSigma,
      range,
      repeats,
      seed,
      target,
      score: scoreKind,
      chunkSize,
      methods: config.methods.map((m) => ({ label: m.label, pooling: m.pooling })),
      classes: K,
      outputName: forward.outputName,
    };
    const hashed = {
      ...settings,
      model: await sha256(modelBytes),
      data: await sha256(new Uint8Array(xs.buffer, xs.byteOffset, xs.byteLength), JSON.stringify(data.labels ?? null), JSON.stringify(ids)),
      methods: config.methods.map((m) => ({ label: m.label, pooling: m.pooling, options: m.options })),
      explainBatch: run.explainBatch ?? 256,
    };
    const hash = await sha256(JSON.stringify(hashed));
    const { progressFile, openProgress } = run;
    if (progressFile && !openProgress) throw new Error('progressFile needs openProgress (the Node entry point supplies it)');
    const progress = progressFile && openProgress ? await openProgress(progressFile, hash, { ...settings, hash }, run.fresh) : undefined;
    const done = progress?.done ?? new Map<number, SampleRecord[]>();

    const nChunks = Math.ceil(N / chunkSize);
    const M = config.methods.length;
    const perSampleInferences = M * repeats * 2 * L;
    const total = N * perSampleInferences;
    let doneInf = 0;
    for (const recs of done.values()) doneInf += (recs.length / M) * perSampleInferences;
    run.onProgress?.(doneInf, total);

    const buf = new Float32Array(fwdBatch * per);
    const slots: { dest: Float64Array; k: number; target: number }[] = [];
    let filled = 0;
    const flush = async () => {
      if (filled === 0) return;
      const ta = performance.now();
      const logits = await forward.run(buf, filled);
      const tb = performance.now();
      timing.forwardOrtMs += tb - ta;
      for (let r = 0; r < filled; r++) {
        const s = slots[r]!;
        s.dest[s.k] = scoreOf(logits, r, K, s.target, scoreKind);
      }
      timing.inferences += filled;
      timing.forwardRuns += 1;
      doneInf += filled;
      filled = 0;
      slots.length = 0;
      timing.forwardJsMs += performance.now() - tb;
      run.onProgress?.(doneInf, total);
    };
    const runSeries = async (list: Series[]) => {
      let tj = performance.now();
      for (const s of list) {
        const cur = Float32Array.from(s.x);
        for (let k = 1; k <= L; k++) {
          perturbRegion(cur, s.R, grid, s.order[k - 1]!);
          buf.set(cur, filled * per);
          slots.push({ dest: s.dest, k, target: s.target });
          filled++;
          if (filled === fwdBatch) {
            timing.forwardJsMs += performance.now() - tj;
            await flush();
            tj = performance.now();
          }
        }
      }
      timing.forwardJsMs += performance.now() - tj;
      await flush();
    };

    let complete = true;
    for (let c = 0; c < nChunks; c++) {
      if (done.has(c)) continue;
      if (run.signal?.aborted) {
        complete = false;
        break;
      }
      const before = { ...timing };
      const s0 = c * chunkSize;
      const n = Math.min(chunkSize, N - s0);
      const chunkX = xs.subarray(s0 * per, (s0 + n) * per);
      // Clean scores, predictions and targets.
      const clean = new Float32Array(n * K);
      const ta = performance.now();
      for (let b = 0; b < n; b += fwdBatch) {
        const rows = Math.min(fwdBatch, n - b);
        clean.set(await forward.run(chunkX.subarray(b * per, (b + rows) * per), rows), b * K);
      }
      const tp = performance.now();
      timing.cleanMs += tp - ta;
      const predicted: number[] = [];
      const targets: number[] = [];
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (clean[i * K + k]! > clean[i * K + best]!) best = k;
        predicted.push(best);
        targets.push(target === 'label' ? data.labels![s0 + i]! : best);
      }
      const f0 = targets.map((t, i) => scoreOf(clean, i, K, t, scoreKind));
      // Replacement images per sample and repetition; tie-break keys per sample.
      const R: Float32Array[][] = [];
      const tieKeys: Int32Array[] = [];
      for (let i = 0; i < n; i++) {
        const id = ids[s0 + i]!;
        const xi = chunkX.subarray(i * per, (i + 1) * per);
        const reps: Float32Array[] = [];
        for (let r = 0; r < repeats; r++) reps.push(replacementImage(xi, geometry, replacement, { range, sigma: blurSigma, rng: rngFor(seed, 'replace', id, r) }));
        R.push(reps);
        const perm = permutation(grid.count, rngFor(seed, 'ties', id));
        const keys = new Int32Array(grid.count);
        perm.forEach((region, rank) => (keys[region] = rank));
        tieKeys.push(keys);
      }
      timing.prepareMs += performance.now() - tp;

      const records: SampleRecord[] = [];
      for (const m of config.methods) {
        const orders: Int32Array[][] = []; // [sample][rep] MoRF order
        const cx: ({ png: number; entropy: number } | undefined)[] = [];
        if (m.method === 'random') {
          const tq = performance.now();
          for (let i = 0; i < n; i++) orders.push(Array.from({ length: repeats }, (_, r) => permutation(grid.count, rngFor(seed, 'random', ids[s0 + i]!, r))));
          timing.prepareMs += performance.now() - tq;
        } else {
          const te = performance.now();
          const res = await explainers.get(m.label)!.explain({ dtype: 'float32', dims: [n, ...sampleDims], data: chunkX }, { target: targets });
          const tq = performance.now();
          timing.explainMs += tq - te;
          const rel = res.relevance.data as Float32Array;
          for (let i = 0; i < n; i++) {
            const map = poolChannels(rel.subarray(i * per, (i + 1) * per), geometry, m.pooling);
            let order: Int32Array;
            try {
              order = morfOrder(regionScores(map, grid), tieKeys[i]);
            } catch (e) {
              throw new Error(`${m.label}, sample ${ids[s0 + i]}: ${(e as Error).message}`);
            }
            orders.push(Array.from({ length: repeats }, () => order));
            cx.push(heatmapComplexity(map, geometry.H, geometry.W, encodePng));
          }
          timing.prepareMs += performance.now() - tq;
        }
        const series: Series[] = [];
        const dests: { morf: Float64Array[]; lerf: Float64Array[] }[] = [];
        for (let i = 0; i < n; i++) {
          const xi = chunkX.subarray(i * per, (i + 1) * per);
          const d = { morf: [] as Float64Array[], lerf: [] as Float64Array[] };
          for (let r = 0; r < repeats; r++) {
            for (const dir of ['morf', 'lerf'] as const) {
              const dest = new Float64Array(L + 1);
              dest[0] = f0[i]!;
              d[dir].push(dest);
              series.push({ x: xi, R: R[i]![r]!, order: dir === 'morf' ? orders[i]![r]! : reversed(orders[i]![r]!), dest, target: targets[i]! });
            }
          }
          dests.push(d);
        }
        await runSeries(series);
        for (let i = 0; i < n; i++) {
          const avg = (list: Float64Array[]) => Array.from({ length: L + 1 }, (_, k) => Math.fround(list.reduce((a, v) => a + v[k]!, 0) / list.length));
          const rec: SampleRecord = {
            chunk: c,
            i: s0 + i,
            id: ids[s0 + i]!,
            method: m.label,
            label: data.labels?.[s0 + i],
            target: targets[i]!,
            predicted: predicted[i]!,
            morf: avg(dests[i]!.morf),
            lerf: avg(dests[i]!.lerf),
          };
          if (cx[i]) Object.assign(rec, cx[i]);
          records.push(rec);
        }
      }
      const spent = Object.fromEntries(TIMED.map((k) => [k, timing[k] - before[k]]));
      if (progress) progress.append(c, records, spent);
      else done.set(c, records);
    }

    const all = [...done.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, r]) => r);
    const result: EvaluationResult = {
      complete,
      settings,
      samples: new Set(all.map((r) => r.i)).size,
      methods: summarise(config.methods, all),
      records: all,
      timing,
    };
    if (progress && Object.keys(progress.spent).length > 0) {
      const prev = progress.spent;
      result.timingAllChunks = Object.fromEntries(TIMED.map((k) => [k, (prev[k] ?? 0)])) as Omit<Timing, 'totalMs'>;
    }
    if (data.labels) {
      const firsts = all.filter((r) => r.method === config.methods[0]!.label);
      if (firsts.length > 0) result.accuracy = firsts.filter((r) => r.predicted === r.label).length / firsts.length;
    }
    const G = Math.min(run.heatmapSamples ?? 0, N);
    if (complete && G > 0) {
      const inputs = Array.from({ length: G }, (_, i) => xs.slice(i * per, (i + 1) * per));
      const targets = all.filter((r) => r.method === config.methods[0]!.label && r.i < G).sort((a, b) => a.i - b.i).map((r) => r.target);
      const maps: { label: string; maps: Float64Array[] }[] = [];
      for (const m of config.methods) {
        if (m.method === 'random') continue;
        const res = await explainers.get(m.label)!.explain({ dtype: 'float32', dims: [G, ...sampleDims], data: xs.subarray(0, G * per) }, { target: targets });
        const rel = res.relevance.data as Float32Array;
        maps.push({ label: m.label, maps: Array.from({ length: G }, (_, i) => poolChannels(rel.subarray(i * per, (i + 1) * per), geometry, m.pooling)) });
      }
      result.heatmaps = { geometry, inputs, targets, maps };
    }
    timing.totalMs = performance.now() - t0;
    return result;
  } finally {
    for (const ex of explainers.values()) await ex.release();
    await forward.session.release();
  }
}

function summariseCurves(curves: number[][]): CurveSummary {
  const drops = curves.map((c) => c.map((v) => c[0]! - v));
  return {
    aopc: meanSe(curves.map((c) => aopc(c))),
    score: meanSeCurves(curves),
    drop: meanSeCurves(drops),
    aopcCurve: meanSeCurves(curves.map((c) => aopcCurve(c))),
  };
}

/** Aggregate per-sample records into per-method results. */
export function summarise(methods: MethodSpec[], records: SampleRecord[]): MethodResult[] {
  const byMethod = new Map<string, SampleRecord[]>();
  for (const r of records) {
    const l = byMethod.get(r.method) ?? [];
    l.push(r);
    byMethod.set(r.method, l);
  }
  for (const l of byMethod.values()) l.sort((a, b) => a.i - b.i);
  const random = methods.find((m) => m.method === 'random');
  const randomAopc = new Map<number, number>();
  if (random) for (const r of byMethod.get(random.label) ?? []) randomAopc.set(r.i, aopc(r.morf));
  return methods.map((m) => {
    const recs = byMethod.get(m.label) ?? [];
    const o = m.options;
    const out: MethodResult = {
      label: m.label,
      method: m.method,
      composite: m.method === 'lrp' && !o?.rule ? (o?.composite ?? 'epsilon-plus-flat') : undefined,
      rule: o?.rule,
      pooling: m.pooling,
      n: recs.length,
      morf: summariseCurves(recs.map((r) => r.morf)),
      lerf: summariseCurves(recs.map((r) => r.lerf)),
      abpc: meanSe(recs.map((r) => aopc(r.morf) - aopc(r.lerf))),
    };
    const params = Object.fromEntries(Object.entries({ ...(o?.params ?? {}), steps: o?.steps, samples: o?.samples, noiseLevel: o?.noiseLevel }).filter(([, v]) => v !== undefined)) as Record<string, number>;
    if (Object.keys(params).length > 0) out.params = params;
    if (random && m !== random) {
      const paired = recs.filter((r) => randomAopc.has(r.i)).map((r) => aopc(r.morf) - randomAopc.get(r.i)!);
      if (paired.length > 0) out.morfVsRandom = meanSe(paired);
    }
    if (recs.length > 0 && recs[0]!.png !== undefined) {
      out.complexity = { png: meanSe(recs.map((r) => r.png!)), entropy: meanSe(recs.map((r) => r.entropy!)) };
    }
    return out;
  });
}
