/**
 * A diagonal Gaussian mixture fitted by EM, the data passes as ONNX graphs (papers/model-papers.md
 * §2.2.2; Bishop, PRML §9.2.2):
 *   E-step graph, per batch X [M, D]: γ = softmax_k log p(x, k) (log domain, encode.ts), and the
 *     sufficient statistics N_k = Σ γ_k, S1_k = Σ γ_k x, S2_k = Σ γ_k x², with Σ_x log Σ_k p(x, k).
 *   M-step graph: π_k = N_k / n, μ_k = S1_k / N_k, σ²_k = max(S2_k / N_k − μ_k², floor), the floor
 *     a fraction of the data's variance per dimension (the constrained maximiser, so the
 *     log-likelihood still never decreases).
 * Batch statistics are summed in float64. Initialisation: k-means++ (Arthur & Vassilvitskii 2007)
 * seeds the means, the distances to the nearest seed updated by a graph; variances start at the
 * data variance, priors uniform. A component left with (almost) no data (N_k < 1e-6·n) is
 * re-seeded at a random descriptor with the data variance and prior 1/K (priors renormalised);
 * the fit reports how many times that happened.
 */
import { rngFor } from '../math/rng.js';
import { float32 } from '../onnx/tensor.js';
import type { Runtime, Session } from '../runtime.js';
import { logJoint } from './encode.js';
import { FvGraph } from './graph.js';
import type { Gmm } from './model.js';

export function buildEStepGraph(K: number, D: number) {
  const fg = new FvGraph();
  const { b } = fg;
  const x = fg.input('x', ['M', D]);
  const g = { logPriors: fg.input('log_priors', [K]), means: fg.input('means', [K, D]), variances: fg.input('variances', [K, D]) };
  const lj = logJoint(b, x, g, D);
  // γ = exp(log p(x, k) − log Σ_j p(x, j)): one exp pass serves both the posteriors and the likelihood
  const lse = b.op('ReduceLogSumExp', [lj], { axes: [1], keepdims: 1 });
  const gamma = b.op('Exp', [b.sub(lj, lse)], {}, 'gamma');
  const gT = b.op('Transpose', [gamma], { perm: [1, 0] });
  fg.output('nk', b.op('ReduceSum', [gamma, b.ints([0])], { keepdims: 0 }), [K]);
  fg.output('s1', b.op('MatMul', [gT, x]), [K, D]);
  fg.output('s2', b.op('MatMul', [gT, b.mul(x, x)]), [K, D]);
  fg.output('loglik', b.op('ReduceSum', [lse], { keepdims: 0 }), []);
  fg.output('gamma', gamma, ['M', K]);
  fg.output('log_joint', lj, ['M', K]);
  return fg;
}

export function buildMStepGraph(K: number, D: number) {
  const fg = new FvGraph();
  const { b } = fg;
  const nk = fg.input('nk', [K]);
  const s1 = fg.input('s1', [K, D]);
  const s2 = fg.input('s2', [K, D]);
  const floor = fg.input('floor', [D]);
  const n = fg.input('n', []);
  const nkSafe = b.op('Unsqueeze', [b.op('Max', [nk, b.scalar(1e-30)]), b.ints([1])]);
  const mu = b.div(s1, nkSafe);
  const v = b.op('Max', [b.sub(b.div(s2, nkSafe), b.mul(mu, mu)), floor]);
  fg.output('log_priors', b.op('Log', [b.div(b.op('Max', [nk, b.scalar(1e-30)]), n)]), [K]);
  fg.output('means', mu, [K, D]);
  fg.output('variances', v, [K, D]);
  return fg;
}

/** min(prev, ‖x − c‖²) per row: k-means++'s distance to the nearest seed, one seed at a time. */
export function buildSeedDistanceGraph(D: number) {
  const fg = new FvGraph();
  const { b } = fg;
  const x = fg.input('x', ['M', D]);
  const c = fg.input('c', [D]);
  const prev = fg.input('prev', ['M']);
  const diff = b.sub(x, c);
  fg.output('dist', b.op('Min', [prev, b.op('ReduceSum', [b.mul(diff, diff), b.ints([1])], { keepdims: 0 })]), ['M']);
  return fg;
}

export interface GmmFitOptions {
  K: number;
  seed: number;
  maxIterations?: number;
  /** Stop when the mean log-likelihood per descriptor improves by less than this (default 1e-4). */
  tolerance?: number;
  /** Variance floor as a fraction of the data variance per dimension (default 1e-3). */
  varianceFloor?: number;
  batch?: number;
  runtime?: Runtime;
  threads?: number;
  onIteration?: (iteration: number, meanLogLik: number) => void;
  /** Continue from a state saved by onState (a resumed fit ends exactly where an uninterrupted one does). */
  start?: GmmState;
  /** Called after every M-step with the state to resume from. */
  onState?: (state: GmmState) => Promise<void> | void;
}

/** The mixture after `iteration` M-steps, with the log-likelihoods seen so far. */
export interface GmmState {
  iteration: number;
  gmm: Gmm;
  logLik: number[];
  reseeded: number;
}

export interface GmmFit {
  gmm: Gmm;
  /** Mean log-likelihood per descriptor after each E-step (the first is at the initialisation). */
  logLik: number[];
  reseeded: number;
}

/** K means picked by k-means++ from the rows of x [M, D] (fitGmm's initialisation; exported for bench/fisher.ts). */
export async function kmeansPlusPlus(
  x: Float32Array,
  M: number,
  D: number,
  K: number,
  seed: number,
  o: Pick<GmmFitOptions, 'runtime' | 'threads'> = {},
): Promise<Float32Array> {
  const rng = rngFor(seed, 'gmm-kmeans++');
  const session = await buildSeedDistanceGraph(D).session(o.runtime, 'the k-means++ graph', o.threads);
  const means = new Float32Array(K * D);
  let dist: Float32Array = new Float32Array(M).fill(Number.MAX_VALUE);
  try {
    let pick = Math.floor(rng() * M);
    for (let k = 0; k < K; k++) {
      means.set(x.subarray(pick * D, (pick + 1) * D), k * D);
      const out = await session.run({ x: float32([M, D], x), c: float32([D], means.subarray(k * D, (k + 1) * D)), prev: float32([M], dist) });
      dist = out.dist!.data as Float32Array;
      let total = 0;
      for (const v of dist) total += v;
      let u = rng() * total;
      pick = M - 1;
      if (total > 0) {
        for (let i = 0; i < M; i++) {
          u -= dist[i]!;
          if (u < 0) {
            pick = i;
            break;
          }
        }
      } else pick = Math.floor(rng() * M); // all points coincide with seeds
    }
  } finally {
    await session.release();
  }
  return means;
}

function columnStats(x: Float32Array, M: number, D: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(D);
  const variance = new Float64Array(D);
  for (let i = 0; i < M; i++) for (let d = 0; d < D; d++) mean[d]! += x[i * D + d]! / M;
  for (let i = 0; i < M; i++)
    for (let d = 0; d < D; d++) {
      const c = x[i * D + d]! - mean[d]!;
      variance[d]! += (c * c) / M;
    }
  return { mean, variance };
}

/** Sufficient statistics of one E-step over all rows, summed in float64. */
export async function eStep(session: Session, x: Float32Array, M: number, D: number, g: Gmm, batch: number) {
  const K = g.K;
  const nk = new Float64Array(K);
  const s1 = new Float64Array(K * D);
  const s2 = new Float64Array(K * D);
  let loglik = 0;
  const params = {
    log_priors: float32([K], Array.from(g.priors, Math.log)),
    means: float32([K, D], g.means),
    variances: float32([K, D], g.variances),
  };
  for (let s = 0; s < M; s += batch) {
    const e = Math.min(M, s + batch);
    const out = await session.run({ x: float32([e - s, D], x.subarray(s * D, e * D)), ...params }, ['nk', 's1', 's2', 'loglik']);
    const add = (acc: Float64Array, t: Float32Array) => {
      for (let i = 0; i < acc.length; i++) acc[i]! += t[i]!;
    };
    add(nk, out.nk!.data as Float32Array);
    add(s1, out.s1!.data as Float32Array);
    add(s2, out.s2!.data as Float32Array);
    loglik += (out.loglik!.data as Float32Array)[0]!;
  }
  return { nk, s1, s2, loglik };
}

/** Fit a K-component diagonal GMM to rows `x` [M, D]. */
export async function fitGmm(x: Float32Array, M: number, D: number, o: GmmFitOptions): Promise<GmmFit> {
  const K = o.K;
  if (!Number.isInteger(K) || K < 1) throw new Error(`GMM components must be an integer ≥ 1, got ${K}`);
  if (M < K) throw new Error(`cannot fit ${K} GMM components to ${M} descriptors: need at least as many descriptors as components`);
  for (const v of x) if (!Number.isFinite(v)) throw new Error('GMM data holds NaN or infinite values');
  const batch = o.batch ?? 8192;
  const { variance } = columnStats(x, M, D);
  const floor = Float32Array.from(variance, (v) => Math.max(v * (o.varianceFloor ?? 1e-3), 1e-12));
  const dataVar = Float32Array.from(variance, (v, d) => Math.max(v, floor[d]!));
  let gmm: Gmm;
  if (o.start) {
    if (o.start.gmm.K !== K || o.start.gmm.D !== D) throw new Error(`cannot resume: the saved GMM is ${o.start.gmm.K}×${o.start.gmm.D}, not ${K}×${D}`);
    gmm = {
      ...o.start.gmm,
      priors: Float32Array.from(o.start.gmm.priors),
      means: Float32Array.from(o.start.gmm.means),
      variances: Float32Array.from(o.start.gmm.variances),
    };
  } else {
    gmm = { K, D, priors: new Float32Array(K).fill(1 / K), means: await kmeansPlusPlus(x, M, D, K, o.seed, o), variances: new Float32Array(K * D) };
    for (let k = 0; k < K; k++) gmm.variances.set(dataVar, k * D);
  }
  const eSession = await buildEStepGraph(K, D).session(o.runtime, 'the GMM E-step graph', o.threads);
  const mSession = await buildMStepGraph(K, D).session(o.runtime, 'the GMM M-step graph', o.threads);
  const logLik: number[] = [...(o.start?.logLik ?? [])];
  let reseeded = o.start?.reseeded ?? 0;
  try {
    const maxIt = o.maxIterations ?? 100;
    for (let it = o.start?.iteration ?? 0; ; it++) {
      const st = await eStep(eSession, x, M, D, gmm, batch);
      const ll = st.loglik / M;
      logLik.push(ll);
      o.onIteration?.(it, ll);
      const prev = logLik[logLik.length - 2];
      if (it >= maxIt || (prev !== undefined && ll - prev < (o.tolerance ?? 1e-4) * Math.max(1, Math.abs(prev)))) break;
      const out = await mSession.run({
        nk: float32([K], st.nk),
        s1: float32([K, D], st.s1),
        s2: float32([K, D], st.s2),
        floor: float32([D], floor),
        n: float32([], [M]),
      });
      gmm.priors = Float32Array.from(out.log_priors!.data as Float32Array, Math.exp);
      gmm.means = Float32Array.from(out.means!.data as Float32Array);
      gmm.variances = Float32Array.from(out.variances!.data as Float32Array);
      let fixed = false;
      for (let k = 0; k < K; k++) {
        if (st.nk[k]! >= 1e-6 * M) continue;
        const pick = Math.floor(rngFor(o.seed, 'gmm-reseed', it, k)() * M);
        gmm.means.set(x.subarray(pick * D, (pick + 1) * D), k * D);
        gmm.variances.set(dataVar, k * D);
        gmm.priors[k] = 1 / K;
        reseeded++;
        fixed = true;
      }
      if (fixed) {
        const total = gmm.priors.reduce((a, v) => a + v, 0);
        gmm.priors = gmm.priors.map((v) => v / total);
      }
      await o.onState?.({ iteration: it + 1, gmm, logLik: [...logLik], reseeded });
    }
  } finally {
    await eSession.release();
    await mSession.release();
  }
  return { gmm, logLik, reseeded };
}
