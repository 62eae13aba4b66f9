/**
 * RBM likelihoods: exact log Z by enumerating the smaller layer (≤ 20 units) in batches on ONNX
 * Runtime, log p(v) = −F(v) − log Z, and annealed importance sampling (Salakhutdinov & Murray,
 * 2008) for models too large to enumerate. log Z here is always that of the uncentered energy
 * (see `uncentered` in rbm.ts); p(v) is the same in either form.
 */
import { encodeModel } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import { rngFor } from '../math/rng.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { buildAisGraph, buildMarginalGraph } from './graphs.js';
import { type RbmParams, type UncenteredRbm, uncentered } from './rbm.js';

/** Largest layer that exact enumeration accepts (2^20 states). */
export const MAX_ENUMERATED_UNITS = 20;

export interface RunOptions {
  runtime?: Runtime;
  threads?: number;
}

/** Float64 log Σ exp(x). */
export function logSumExp(x: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) m = Math.max(m, x[i]!);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i]! - m);
  return m + Math.log(s);
}

function transpose(W: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = W[i * cols + j]!;
  return t;
}

async function marginalSession(m: number, n: number, opts: RunOptions): Promise<Session> {
  return openSession(opts.runtime, encodeModel(buildMarginalGraph(m, n), 'relprop-rbm-marginal'), { threads: opts.threads ?? 1 }, 'the RBM enumeration graph');
}

/** Exact log Z (uncentered energy) by enumerating every state of the smaller layer. */
export async function exactLogZ(p: RbmParams, opts: RunOptions = {}): Promise<number> {
  const u = uncentered(p);
  const hiddenSmaller = u.nh <= u.nv;
  const m = hiddenSmaller ? u.nh : u.nv;
  const n = hiddenSmaller ? u.nv : u.nh;
  if (m > MAX_ENUMERATED_UNITS) {
    throw new Error(
      `exact log Z enumerates 2^${m} states of the smaller layer (${m} units); that is limited to ${MAX_ENUMERATED_UNITS} units: use AIS for this model`,
    );
  }
  const Wm = hiddenSmaller ? transpose(u.W, u.nv, u.nh) : u.W;
  const feeds = {
    Wm: float32([m, n], Wm),
    bm: float32([m], hiddenSmaller ? u.c : u.a),
    bo: float32([n], hiddenSmaller ? u.a : u.c),
  };
  const session = await marginalSession(m, n, opts);
  try {
    const total = 2 ** m;
    const batch = Math.min(total, 2 ** 14);
    const parts: number[] = [];
    for (let start = 0; start < total; start += batch) {
      const states = new Float32Array(batch * m);
      for (let r = 0; r < batch; r++) {
        const index = start + r;
        for (let j = 0; j < m; j++) states[r * m + j] = Math.floor(index / 2 ** j) % 2;
      }
      const out = await session.run({ ...feeds, states: float32([batch, m], states) }, ['lse']);
      parts.push((out.lse!.data as Float32Array)[0]!);
    }
    return logSumExp(parts);
  } finally {
    await session.release();
  }
}

/** −F(v) for each row of `v` [n, nv] (uncentered energy), on ONNX Runtime. */
export async function negFreeEnergy(p: RbmParams, v: Float32Array, opts: RunOptions = {}): Promise<Float64Array> {
  const u = uncentered(p);
  if (v.length % u.nv !== 0) throw new Error(`data has ${v.length} values, not a multiple of ${u.nv} visible units`);
  const rows = v.length / u.nv;
  const session = await marginalSession(u.nv, u.nh, opts);
  try {
    const out = await session.run({ states: float32([rows, u.nv], v), Wm: float32([u.nv, u.nh], u.W), bm: float32([u.nv], u.a), bo: float32([u.nh], u.c) }, [
      'g',
    ]);
    return Float64Array.from(out.g!.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** Mean log p(v) over the rows of `v`, given log Z. */
export async function meanLogProb(p: RbmParams, v: Float32Array, logZ: number, opts: RunOptions = {}): Promise<number> {
  const g = await negFreeEnergy(p, v, opts);
  let s = 0;
  for (const x of g) s += x;
  return s / g.length - logZ;
}

export type BetaSchedule = 'linear' | 'geometric';

/**
 * The K + 1 inverse temperatures 0 = β_0 < … < β_K = 1. 'geometric' spaces β_1 … β_K evenly in
 * log β from 1e-3 to 1, spending more steps where the base model turns into the target.
 */
export function betaSchedule(kind: BetaSchedule, K: number): Float64Array {
  if (!Number.isInteger(K) || K < 1) throw new Error(`AIS needs an integer number of temperatures ≥ 1, got ${K}`);
  const betas = new Float64Array(K + 1);
  for (let k = 1; k <= K; k++) betas[k] = kind === 'linear' ? k / K : K === 1 ? 1 : Math.exp(Math.log(1e-3) * (1 - (k - 1) / (K - 1)));
  return betas;
}

export interface AisOptions extends RunOptions {
  /** Independent annealing chains (default 100). */
  chains?: number;
  /** Intermediate temperatures (default 1,000). */
  temperatures?: number;
  schedule?: BetaSchedule;
  seed?: number;
  /** Visible biases of the base model (default: the target's uncentered visible biases). */
  baseBias?: ArrayLike<number>;
  /** Temperatures per graph run (default 100). */
  block?: number;
}

export interface AisResult {
  logZ: number;
  /** Standard error of log Ẑ (delta method on the mean importance weight). */
  stdErr: number;
  /** log of the importance weight of each chain, log Z_base included. */
  logWeights: Float64Array;
}

/** log of the mean of exp(w) with the delta-method standard error of that log. */
export function logMeanExp(w: ArrayLike<number>): { value: number; stdErr: number } {
  const n = w.length;
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, w[i]!);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(w[i]! - m);
    s += e;
    s2 += e * e;
  }
  const mean = s / n;
  const variance = n > 1 ? (s2 / n - mean * mean) * (n / (n - 1)) : 0;
  return { value: m + Math.log(mean), stdErr: Math.sqrt(Math.max(variance, 0) / n) / mean };
}

const softplus = (t: number) => (t > 0 ? t + Math.log1p(Math.exp(-t)) : Math.log1p(Math.exp(t)));

/** AIS estimate of log Z (uncentered energy). The base model has zero weights, so its log Z is analytic. */
export async function aisLogZ(p: RbmParams, opts: AisOptions = {}): Promise<AisResult> {
  const u: UncenteredRbm = uncentered(p);
  const M = opts.chains ?? 100;
  const K = opts.temperatures ?? 1000;
  const T = Math.min(opts.block ?? 100, K);
  if (!Number.isInteger(M) || M < 2) throw new Error(`AIS needs an integer number of chains ≥ 2, got ${M}`);
  const betas = betaSchedule(opts.schedule ?? 'linear', K);
  const aB = Float64Array.from(opts.baseBias ?? u.a);
  if (aB.length !== u.nv) throw new Error(`AIS base biases have ${aB.length} values for ${u.nv} visible units`);
  let logZBase = u.nh * Math.LN2;
  for (const x of aB) logZBase += softplus(x);
  const seed = opts.seed ?? 0;
  const rngV0 = rngFor(seed, 'ais-v0');
  let v: Float32Array = new Float32Array(M * u.nv);
  for (let r = 0; r < M; r++) for (let i = 0; i < u.nv; i++) v[r * u.nv + i] = rngV0() < 1 / (1 + Math.exp(-aB[i]!)) ? 1 : 0;
  const session = await openSession(
    opts.runtime,
    encodeModel(buildAisGraph(u.nv, u.nh, T), 'relprop-rbm-ais'),
    { threads: opts.threads ?? 1 },
    'the AIS graph',
  );
  const logw = new Float64Array(M).fill(logZBase);
  const fixed = { W: float32([u.nv, u.nh], u.W), a: float32([u.nv], u.a), c: float32([u.nh], u.c), aB: float32([u.nv], aB) };
  try {
    for (let start = 0, block = 0; start < K; start += T, block++) {
      // A short last block repeats β = 1: its increments are 0 and its sweeps leave the target invariant.
      const bs = new Float32Array(T + 1);
      for (let t = 0; t <= T; t++) bs[t] = betas[Math.min(start + t, K)]!;
      const rng = rngFor(seed, 'ais-block', block);
      const uh = new Float32Array(T * M * u.nh);
      for (let k = 0; k < uh.length; k++) uh[k] = rng();
      const uv = new Float32Array(T * M * u.nv);
      for (let k = 0; k < uv.length; k++) uv[k] = rng();
      const out = await session.run({
        ...fixed,
        betas: float32([T + 1], bs),
        v: float32([M, u.nv], v),
        uh: float32([T, M, u.nh], uh),
        uv: float32([T, M, u.nv], uv),
      });
      const d = out.dlogw!.data as Float32Array;
      for (let r = 0; r < M; r++) logw[r]! += d[r]!;
      v = out.v_new!.data as Float32Array;
    }
  } finally {
    await session.release();
  }
  const { value, stdErr } = logMeanExp(logw);
  return { logZ: value, stdErr, logWeights: logw };
}
