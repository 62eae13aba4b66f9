/**
 * DBM likelihoods. Exact: log Z by enumerating the odd layers (the even ones, visible included,
 * summed out analytically), log p*(v) by enumerating the even hidden layers (the odd ones summed
 * out given v), each in batches on ONNX Runtime, when the enumerated layers have ≤ 20 units in
 * total (arXiv 1203.3783 digest §5.7: for 64-16-8 that is 2^16 states for log Z and 2^8 for p(v)).
 * AIS (Salakhutdinov & Murray 2008; Salakhutdinov & Hinton 2009) for larger models. log Z is
 * that of the uncentered energy (uncenteredDbm); p(v) is the same in either form.
 */
import { encodeModel } from '../onnx/model.js';
import { float32, type TensorData } from '../onnx/tensor.js';
import { rngFor } from '../math/rng.js';
import { openSession, type Session } from '../runtime.js';
import { type DbmParams, layersOfParity, type UncenteredDbm, uncenteredDbm } from './dbm.js';
import { buildDbmAisGraph, buildDbmOddMarginalGraph, buildDbmVisibleGraph, unitCounts } from './dbm-graphs.js';
import { buildMeanFieldBoundGraph } from './dbm-model-file.js';
import { type AisOptions, type AisResult, betaSchedule, logMeanExp, logSumExp, MAX_ENUMERATED_UNITS, type RunOptions } from './likelihood.js';

const softplus = (t: number) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));

function paramFeeds(u: UncenteredDbm) {
  const feeds: Record<string, TensorData> = {};
  u.W.forEach((w, l) => {
    feeds[`W${l}`] = float32([u.sizes[l]!, u.sizes[l + 1]!], w);
  });
  u.a.forEach((a, l) => {
    feeds[`a${l}`] = float32([u.sizes[l]!], a);
  });
  return feeds;
}

function unitsOf(sizes: number[], layers: number[]): number {
  return layers.reduce((s, l) => s + sizes[l]!, 0);
}

/** Rows start … start+count−1 of the binary enumeration of m units (bit j of the index is unit j). */
function enumerate(start: number, count: number, m: number): Float32Array {
  const states = new Float32Array(count * m);
  for (let r = 0; r < count; r++) {
    const index = start + r;
    for (let j = 0; j < m; j++) states[r * m + j] = Math.floor(index / 2 ** j) % 2;
  }
  return states;
}

function tooLarge(what: string, units: number, layers: string): Error {
  return new Error(
    `exact ${what} enumerates 2^${units} states of the ${layers} (${units} units); that is limited to ${MAX_ENUMERATED_UNITS} units: use AIS for this model`,
  );
}

async function open(graph: ReturnType<typeof buildDbmOddMarginalGraph>, what: string, opts: RunOptions): Promise<Session> {
  return openSession(opts.runtime, encodeModel(graph, `relprop-dbm-${what}`), { threads: opts.threads ?? 1 }, `the DBM ${what} graph`);
}

/** Exact log Z (uncentered energy) by enumerating every state of the odd layers. */
export async function exactDbmLogZ(p: DbmParams, opts: RunOptions = {}): Promise<number> {
  const u = uncenteredDbm(p);
  const L = u.sizes.length - 1;
  const m = unitsOf(u.sizes, layersOfParity(L, 'odd'));
  if (m > MAX_ENUMERATED_UNITS) throw tooLarge('log Z', m, 'odd layers (1, 3, …)');
  const session = await open(buildDbmOddMarginalGraph(u.sizes), 'enumeration', opts);
  try {
    const feeds = paramFeeds(u);
    const total = 2 ** m;
    const batch = Math.min(total, 2 ** 14);
    const parts: number[] = [];
    for (let start = 0; start < total; start += batch) {
      const out = await session.run({ ...feeds, states: float32([batch, m], enumerate(start, batch, m)) }, ['lse']);
      parts.push((out.lse!.data as Float32Array)[0]!);
    }
    return logSumExp(parts);
  } finally {
    await session.release();
  }
}

/** Exact unnormalised log p*(v) (uncentered energy) of each row of `v` [n, n₀]. */
export async function exactDbmLogPStar(p: DbmParams, v: Float32Array, opts: RunOptions = {}): Promise<Float64Array> {
  const u = uncenteredDbm(p);
  const L = u.sizes.length - 1;
  const nv = u.sizes[0]!;
  if (v.length % nv !== 0) throw new Error(`data has ${v.length} values, not a multiple of ${nv} visible units`);
  const n = v.length / nv;
  const m = unitsOf(
    u.sizes,
    layersOfParity(L, 'even').filter((l) => l > 0),
  );
  if (m > MAX_ENUMERATED_UNITS) throw tooLarge('log p(v)', m, 'even hidden layers (2, 4, …)');
  const session = await open(buildDbmVisibleGraph(u.sizes), 'visible', opts);
  const result = new Float64Array(n);
  try {
    const feeds = paramFeeds(u);
    const total = 2 ** m;
    const stateBatch = Math.min(total, 2 ** 12);
    // Keep the [rows, states, n₁] intermediate near 2^22 floats.
    const rowBatch = Math.max(1, Math.floor(2 ** 22 / (stateBatch * u.sizes[1]!)));
    for (let r0 = 0; r0 < n; r0 += rowBatch) {
      const rows = Math.min(rowBatch, n - r0);
      const vFeed = float32([rows, nv], v.subarray(r0 * nv, (r0 + rows) * nv));
      const parts: Float32Array[] = [];
      for (let start = 0; start < total; start += stateBatch) {
        const run: Record<string, TensorData> = { ...feeds, v: vFeed };
        if (m > 0) run.states = float32([stateBatch, m], enumerate(start, stateBatch, m));
        const out = await session.run(run, ['logp']);
        parts.push(out.logp!.data as Float32Array);
        if (m === 0) break;
      }
      for (let r = 0; r < rows; r++) result[r0 + r] = logSumExp(parts.map((q) => q[r]!));
    }
    return result;
  } finally {
    await session.release();
  }
}

/** Mean exact log p(v) over the rows of `v`, given log Z (uncentered, from exactDbmLogZ or AIS). */
export async function meanDbmLogProb(p: DbmParams, v: Float32Array, logZ: number, opts: RunOptions = {}): Promise<number> {
  const g = await exactDbmLogPStar(p, v, opts);
  let s = 0;
  for (const x of g) s += x;
  return s / g.length - logZ;
}

/**
 * AIS estimate of log Z (uncentered energy) for a DBM; the state is the odd layers, the base
 * model has zero weights, visible biases aB (default: the model's uncentered visible biases) and
 * uniform hidden units, so log Z_base = (Σ hidden sizes)·log 2 + Σ_i softplus(aB_i).
 */
export async function aisDbmLogZ(p: DbmParams, opts: AisOptions = {}): Promise<AisResult> {
  const u = uncenteredDbm(p);
  const { sizes } = u;
  const L = sizes.length - 1;
  const nv = sizes[0]!;
  const M = opts.chains ?? 100;
  const K = opts.temperatures ?? 1000;
  const T = Math.min(opts.block ?? 100, K);
  if (!Number.isInteger(M) || M < 2) throw new Error(`AIS needs an integer number of chains ≥ 2, got ${M}`);
  const betas = betaSchedule(opts.schedule ?? 'linear', K);
  const aB = Float64Array.from(opts.baseBias ?? u.a[0]!);
  if (aB.length !== nv) throw new Error(`AIS base biases have ${aB.length} values for ${nv} visible units`);
  const { total, hidden } = unitCounts(sizes);
  let logZBase = hidden * Math.LN2;
  for (const x of aB) logZBase += softplus(x);
  const m = unitsOf(sizes, layersOfParity(L, 'odd'));
  const seed = opts.seed ?? 0;
  const rng0 = rngFor(seed, 'dbm-ais-x0');
  let x: Float32Array = Float32Array.from({ length: M * m }, () => (rng0() < 0.5 ? 1 : 0));
  const session = await open(buildDbmAisGraph(sizes, T), 'AIS', opts);
  const logw = new Float64Array(M).fill(logZBase);
  const fixed = { ...paramFeeds(u), aB: float32([nv], aB) };
  try {
    for (let start = 0, block = 0; start < K; start += T, block++) {
      // A short last block repeats β = 1: its increments are 0 and its sweeps leave the target invariant.
      const bs = new Float32Array(T + 1);
      for (let t = 0; t <= T; t++) bs[t] = betas[Math.min(start + t, K)]!;
      const rng = rngFor(seed, 'dbm-ais-block', block);
      const uu = new Float32Array(T * M * total);
      rng.fill(uu);
      const out = await session.run({ ...fixed, betas: float32([T + 1], bs), x: float32([M, m], x), u: float32([T, M, total], uu) });
      const d = out.dlogw!.data as Float32Array;
      for (let r = 0; r < M; r++) logw[r]! += d[r]!;
      x = out.x_new!.data as Float32Array;
    }
  } finally {
    await session.release();
  }
  const { value, stdErr } = logMeanExp(logw);
  return { logZ: value, stdErr, logWeights: logw };
}

/** Mean-field rounds for the variational bound (default). */
export const BOUND_MEANFIELD_ITERATIONS = 30;

/**
 * Mean over the rows of `v` of the mean-field lower bound on log p(v) given log Z (uncentered, from
 * exactDbmLogZ or AIS): E_q[log p*(v, h)] + H(q) − log Z (see buildMeanFieldBoundGraph). For DBMs
 * whose even hidden layers are too large to enumerate; equal to log p(v) only if q is the posterior.
 */
export async function meanDbmLogProbBound(p: DbmParams, v: Float32Array, logZ: number, opts: RunOptions & { iterations?: number } = {}): Promise<number> {
  const nv = p.sizes[0]!;
  if (v.length % nv !== 0) throw new Error(`data has ${v.length} values, not a multiple of ${nv} visible units`);
  const n = v.length / nv;
  const bytes = buildMeanFieldBoundGraph(p, opts.iterations ?? BOUND_MEANFIELD_ITERATIONS);
  const session = await openSession(opts.runtime, bytes, { threads: opts.threads ?? 1 }, 'the DBM bound graph');
  let sum = 0;
  try {
    const batch = 1024;
    for (let r0 = 0; r0 < n; r0 += batch) {
      const rows = Math.min(batch, n - r0);
      const out = await session.run({ visible: float32([rows, nv], v.subarray(r0 * nv, (r0 + rows) * nv)) }, ['bound']);
      for (const x of out.bound!.data as Float32Array) sum += x;
    }
  } finally {
    await session.release();
  }
  return sum / n + uncenteredDbm(p).shift - logZ;
}
