/**
 * One chunk of a region-perturbation run: a fixed range of samples evaluated for every method,
 * from the plan (plain data) and the runtime objects, with no I/O. Every random stream is keyed
 * by sample, never by processing order, so chunks are independent: they give the same records
 * run in any order, after a resume, or on separate workers.
 */
import type { TensorData } from '../onnx/tensor.js';
import { permutation, rngFor } from '../math/rng.js';
import { heatmapComplexity, type Complexity, type PngEncoder } from './complexity.js';
import { scoreOf, type Forward } from './forward.js';
import type { MethodSpec } from './methods.js';
import { perturbRegion, replacementImage } from './perturb.js';
import type { SampleRecord } from './progress.js';
import { morfOrder, poolChannels, regionScores, reversed } from './regions.js';
import type { Plan } from './settings.js';

/** The work a chunk took: ms by kind and counts (summed over chunks, and over resumed runs). */
export type ChunkWork = {
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
  /** Perturbed inferences run. */
  inferences: number;
  forwardRuns: number;
};

export const WORK_KEYS = ['forwardOrtMs', 'forwardJsMs', 'explainMs', 'prepareMs', 'cleanMs', 'inferences', 'forwardRuns'] as const;

export function noWork(): ChunkWork {
  return { forwardOrtMs: 0, forwardJsMs: 0, explainMs: 0, prepareMs: 0, cleanMs: 0, inferences: 0, forwardRuns: 0 };
}

/** What a chunk needs of a method: relevance maps of a batch for given classes (an Explainer, or a Taylor baseline on one). */
export interface Attributor {
  explain(x: TensorData, opts: { target: number[] }): Promise<{ relevance: TensorData }>;
  release(): Promise<void>;
  /** Anything about the maps computed so far that a reader of the results must know. */
  note?(): string | undefined;
}

/** The runtime objects a chunk runs on: the model's forward session, one explainer per non-random method (by label). */
export interface Engines {
  forward: Forward;
  explainers: ReadonlyMap<string, Attributor>;
  encodePng: PngEncoder;
}

export interface ChunkResult {
  /** Per sample of the chunk, per method (methods outer, samples inner). */
  records: SampleRecord[];
  spent: ChunkWork;
}

export function chunkCount(plan: Plan): number {
  return Math.ceil(plan.samples / plan.chunkSize);
}

/** Perturbed inferences per sample (every method, repetition, direction and step). */
export function inferencesPerSample(plan: Plan): number {
  return plan.methods.length * plan.repeats * 2 * plan.steps;
}

/** The samples of one chunk: what every step of it reads. */
interface Chunk {
  index: number;
  /** First sample and sample count. */
  s0: number;
  n: number;
  /** The chunk's samples, flat. */
  x: Float32Array;
}

/** Evaluate chunk `index` for every method. `onInferences` hears of every forward run of perturbed images. */
export async function evaluateChunk(plan: Plan, engines: Engines, index: number, onInferences?: (n: number) => void): Promise<ChunkResult> {
  const work = noWork();
  const s0 = index * plan.chunkSize;
  const n = Math.min(plan.chunkSize, plan.samples - s0);
  if (!(Number.isInteger(index) && index >= 0 && n > 0)) throw new Error(`chunk ${index} is out of range (${chunkCount(plan)} chunks)`);
  const chunk: Chunk = { index, s0, n, x: plan.x.subarray(s0 * plan.per, (s0 + n) * plan.per) };
  const clean = await cleanScores(plan, engines.forward, chunk, work);
  const tp = performance.now();
  const classes = classify(plan, chunk, clean);
  const prep = prepareSamples(plan, chunk);
  work.prepareMs += performance.now() - tp;
  const batches = new PerturbedBatches(plan, engines.forward, work, onInferences);
  const records: SampleRecord[] = [];
  for (const m of plan.methods) {
    const { orders, complexity } = await methodOrders(plan, engines, m, chunk, classes.targets, prep.tieKeys, work);
    const curves = await perturbationCurves(plan, batches, chunk, classes, prep.R, orders);
    records.push(...sampleRecords(plan, chunk, m, classes, curves, complexity));
  }
  return { records, spent: work };
}

/** Class scores of the clean images. */
async function cleanScores(plan: Plan, forward: Forward, chunk: Chunk, work: ChunkWork): Promise<Float32Array> {
  const { n, x } = chunk;
  const { per, classes: K, forwardBatch } = plan;
  const clean = new Float32Array(n * K);
  const ta = performance.now();
  for (let b = 0; b < n; b += forwardBatch) {
    const rows = Math.min(forwardBatch, n - b);
    clean.set(await forward.run(x.subarray(b * per, (b + rows) * per), rows), b * K);
  }
  work.cleanMs += performance.now() - ta;
  return clean;
}

interface Classes {
  predicted: number[];
  targets: number[];
  /** f(x^(0)): the tracked score of the clean image. */
  f0: number[];
}

/** Predictions, the tracked classes and their clean scores. */
function classify(plan: Plan, chunk: Chunk, clean: Float32Array): Classes {
  const K = plan.classes;
  const predicted: number[] = [];
  const targets: number[] = [];
  for (let i = 0; i < chunk.n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (clean[i * K + k]! > clean[i * K + best]!) best = k;
    predicted.push(best);
    targets.push(plan.target === 'label' ? plan.labels![chunk.s0 + i]! : best);
  }
  const f0 = targets.map((t, i) => scoreOf(clean, i, K, t, plan.score));
  return { predicted, targets, f0 };
}

/** Replacement images per sample and repetition; tie-break keys of the regions per sample. */
function prepareSamples(plan: Plan, chunk: Chunk): { R: Float32Array[][]; tieKeys: Int32Array[] } {
  const { per, grid, seed } = plan;
  const R: Float32Array[][] = [];
  const tieKeys: Int32Array[] = [];
  for (let i = 0; i < chunk.n; i++) {
    const id = plan.ids[chunk.s0 + i]!;
    const xi = chunk.x.subarray(i * per, (i + 1) * per);
    const reps: Float32Array[] = [];
    for (let r = 0; r < plan.repeats; r++)
      reps.push(replacementImage(xi, plan.geometry, plan.replacement, { range: plan.range, sigma: plan.blurSigma, rng: rngFor(seed, 'replace', id, r) }));
    R.push(reps);
    const perm = permutation(grid.count, rngFor(seed, 'ties', id));
    const keys = new Int32Array(grid.count);
    perm.forEach((region, rank) => (keys[region] = rank));
    tieKeys.push(keys);
  }
  return { R, tieKeys };
}

interface MethodOrders {
  /** MoRF order per sample and repetition. */
  orders: Int32Array[][];
  /** Heatmap complexity per sample (none for random). */
  complexity: (Complexity | undefined)[];
}

/** Region orders of one method: random permutations, or the explainer's heatmaps ranked. */
async function methodOrders(
  plan: Plan,
  engines: Engines,
  m: MethodSpec,
  chunk: Chunk,
  targets: number[],
  tieKeys: Int32Array[],
  work: ChunkWork,
): Promise<MethodOrders> {
  if (m.method === 'random') {
    const tq = performance.now();
    const orders = Array.from({ length: chunk.n }, (_, i) =>
      Array.from({ length: plan.repeats }, (_, r) => permutation(plan.grid.count, rngFor(plan.seed, 'random', plan.ids[chunk.s0 + i]!, r))),
    );
    work.prepareMs += performance.now() - tq;
    return { orders, complexity: [] };
  }
  const te = performance.now();
  const res = await engines.explainers.get(m.label)!.explain({ dtype: 'float32', dims: [chunk.n, ...plan.sampleDims], data: chunk.x }, { target: targets });
  const tq = performance.now();
  work.explainMs += tq - te;
  const out = rankHeatmaps(plan, m, chunk, res.relevance.data as Float32Array, tieKeys, engines.encodePng);
  work.prepareMs += performance.now() - tq;
  return out;
}

function rankHeatmaps(plan: Plan, m: MethodSpec, chunk: Chunk, rel: Float32Array, tieKeys: Int32Array[], encodePng: PngEncoder): MethodOrders {
  const { per, geometry } = plan;
  const out: MethodOrders = { orders: [], complexity: [] };
  for (let i = 0; i < chunk.n; i++) {
    const map = poolChannels(rel.subarray(i * per, (i + 1) * per), geometry, m.pooling);
    let order: Int32Array;
    try {
      order = morfOrder(regionScores(map, plan.grid), tieKeys[i]);
    } catch (e) {
      throw new Error(`${m.label}, sample ${plan.ids[chunk.s0 + i]}: ${(e as Error).message}`);
    }
    out.orders.push(Array.from({ length: plan.repeats }, () => order));
    out.complexity.push(heatmapComplexity(map, geometry.H, geometry.W, encodePng));
  }
  return out;
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

type Curves = { morf: Float64Array[]; lerf: Float64Array[] };

/** Per sample, the MoRF and LeRF curves of every repetition. */
async function perturbationCurves(
  plan: Plan,
  batches: PerturbedBatches,
  chunk: Chunk,
  classes: Classes,
  R: Float32Array[][],
  orders: Int32Array[][],
): Promise<Curves[]> {
  const series: Series[] = [];
  const curves: Curves[] = [];
  for (let i = 0; i < chunk.n; i++) {
    const xi = chunk.x.subarray(i * plan.per, (i + 1) * plan.per);
    const c: Curves = { morf: [], lerf: [] };
    for (let r = 0; r < plan.repeats; r++) {
      for (const dir of ['morf', 'lerf'] as const) {
        const dest = new Float64Array(plan.steps + 1);
        dest[0] = classes.f0[i]!;
        c[dir].push(dest);
        series.push({ x: xi, R: R[i]![r]!, order: dir === 'morf' ? orders[i]![r]! : reversed(orders[i]![r]!), dest, target: classes.targets[i]! });
      }
    }
    curves.push(c);
  }
  await batches.run(series);
  return curves;
}

/** The chunk's records of one method: curves averaged over repetitions, as float32 values. */
function sampleRecords(plan: Plan, chunk: Chunk, m: MethodSpec, classes: Classes, curves: Curves[], complexity: (Complexity | undefined)[]): SampleRecord[] {
  const avg = (list: Float64Array[]) => Array.from({ length: plan.steps + 1 }, (_, k) => Math.fround(list.reduce((a, v) => a + v[k]!, 0) / list.length));
  return curves.map((c, i) => {
    const s = chunk.s0 + i;
    const rec: SampleRecord = {
      chunk: chunk.index,
      i: s,
      id: plan.ids[s]!,
      method: m.label,
      label: plan.labels?.[s],
      target: classes.targets[i]!,
      predicted: classes.predicted[i]!,
      morf: avg(c.morf),
      lerf: avg(c.lerf),
    };
    if (complexity[i]) Object.assign(rec, complexity[i]);
    return rec;
  });
}

/** Perturbed images gathered into forward batches; each score lands where its series wants it. */
class PerturbedBatches {
  private readonly buf: Float32Array;
  private readonly slots: { dest: Float64Array; k: number; target: number }[] = [];
  private filled = 0;

  constructor(
    private readonly plan: Plan,
    private readonly forward: Forward,
    private readonly work: ChunkWork,
    private readonly onInferences?: (n: number) => void,
  ) {
    this.buf = new Float32Array(plan.forwardBatch * plan.per);
  }

  /** Run every step of every series; the last batch may be partial. */
  async run(list: Series[]): Promise<void> {
    const { per, steps, grid, forwardBatch } = this.plan;
    let tj = performance.now();
    for (const s of list) {
      const cur = Float32Array.from(s.x);
      for (let k = 1; k <= steps; k++) {
        perturbRegion(cur, s.R, grid, s.order[k - 1]!);
        this.buf.set(cur, this.filled * per);
        this.slots.push({ dest: s.dest, k, target: s.target });
        this.filled++;
        if (this.filled === forwardBatch) {
          this.work.forwardJsMs += performance.now() - tj;
          await this.flush();
          tj = performance.now();
        }
      }
    }
    this.work.forwardJsMs += performance.now() - tj;
    await this.flush();
  }

  private async flush(): Promise<void> {
    const filled = this.filled;
    if (filled === 0) return;
    const ta = performance.now();
    const logits = await this.forward.run(this.buf, filled);
    const tb = performance.now();
    this.work.forwardOrtMs += tb - ta;
    for (let r = 0; r < filled; r++) {
      const s = this.slots[r]!;
      s.dest[s.k] = scoreOf(logits, r, this.plan.classes, s.target, this.plan.score);
    }
    this.work.inferences += filled;
    this.work.forwardRuns += 1;
    this.filled = 0;
    this.slots.length = 0;
    this.work.forwardJsMs += performance.now() - tb;
    this.onInferences?.(filled);
  }
}
