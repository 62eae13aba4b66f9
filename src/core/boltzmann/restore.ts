/**
 * Completion and denoising of binary vectors with a trained RBM by conditional Gibbs sampling
 * (arXiv 1507.01972 §4.4 uses the model this way; the protocol here is ours):
 * - completion: the observed units are clamped, the missing ones sampled from p(v_miss | v_obs);
 * - denoising with independent flips at rate ρ: the posterior p(v | ṽ) ∝ p_θ(v) Π_i ρ^[v_i ≠ ṽ_i]
 *   (1 − ρ)^[v_i = ṽ_i] is again an RBM, with every visible bias shifted by
 *   (2ṽ_i − 1) log((1 − ρ)/ρ), sampled from the noisy input.
 * After `burnIn` sweeps, p(v_i = 1 | h) is averaged over `sweeps` more; the output is that average
 * thresholded at ½ (the per-unit posterior mode, which minimises the expected Hamming error).
 */
import { encodeModel } from '../onnx/model.js';
import { rngFor } from '../math/rng.js';
import { openSession, type Runtime } from '../runtime.js';
import { checkBinary, type RbmParams } from './rbm.js';
import { runGibbs } from './wasserstein.js';
import { buildGibbsGraph } from './wasserstein-graphs.js';

export interface RestoreOptions {
  /** Sweeps whose p(v | h) is averaged (default 50). */
  sweeps?: number;
  /** Sweeps discarded first (default 50). */
  burnIn?: number;
  seed: number;
  runtime?: Runtime;
  threads?: number;
}

export interface Restored {
  /** Posterior mean of each unit, [N, nv]. */
  probabilities: Float32Array;
  /** The thresholded output, [N, nv]. */
  restored: Float32Array;
}

async function conditionalGibbs(
  p: RbmParams,
  v0: Float32Array,
  bias: Float32Array | undefined,
  mask: Float32Array | undefined,
  o: RestoreOptions,
  purpose: string,
): Promise<Restored> {
  const sweeps = o.sweeps ?? 50;
  const burnIn = o.burnIn ?? 50;
  if (!Number.isInteger(sweeps) || sweeps < 1) throw new Error(`sweeps must be an integer ≥ 1, got ${sweeps}`);
  if (!Number.isInteger(burnIn) || burnIn < 0) throw new Error(`burn-in must be an integer ≥ 0, got ${burnIn}`);
  const run = { threads: o.threads ?? 1 };
  let v = v0;
  if (burnIn > 0) {
    const s = await openSession(o.runtime, encodeModel(buildGibbsGraph(p.nv, p.nh, burnIn), 'relprop-rbm-gibbs'), run, 'the Gibbs graph');
    try {
      v = (await runGibbs(s, p, v, burnIn, rngFor(o.seed, purpose, 'burn-in'), bias, mask)).v;
    } finally {
      await s.release();
    }
  }
  const s = await openSession(o.runtime, encodeModel(buildGibbsGraph(p.nv, p.nh, sweeps), 'relprop-rbm-gibbs'), run, 'the Gibbs graph');
  try {
    const { pvMean } = await runGibbs(s, p, v, sweeps, rngFor(o.seed, purpose, 'average'), bias, mask);
    return { probabilities: pvMean, restored: Float32Array.from(pvMean, (q) => (q >= 0.5 ? 1 : 0)) };
  } finally {
    await s.release();
  }
}

/**
 * Fill in the units where `missing` is 1, given x [N, nv] (values under the mask are ignored).
 * Missing units start as fair coin flips.
 */
export async function completeRbm(p: RbmParams, x: Float32Array, missing: Float32Array, o: RestoreOptions): Promise<Restored> {
  if (x.length % p.nv !== 0) throw new Error(`data has ${x.length} values, not a multiple of the model's ${p.nv} visible units`);
  if (missing.length !== x.length) throw new Error(`the mask has ${missing.length} values; the data have ${x.length}`);
  checkBinary(missing, 'the mask of missing values');
  const mask = Float32Array.from(missing, (m) => 1 - m);
  const rng = rngFor(o.seed, 'complete-start');
  const v0 = Float32Array.from(x, (v, k) => (missing[k] ? (rng() < 0.5 ? 1 : 0) : v));
  checkBinary(
    v0.filter((_, k) => !missing[k]),
    'the observed data',
  );
  return conditionalGibbs(p, v0, undefined, mask, o, 'complete');
}

/** Denoise x̃ [N, nv] assuming each unit was flipped independently with probability ρ ∈ (0, ½). */
export async function denoiseRbm(p: RbmParams, noisy: Float32Array, flipRate: number, o: RestoreOptions): Promise<Restored> {
  if (!(flipRate > 0 && flipRate < 0.5)) throw new Error(`the flip rate must be in (0, 0.5), got ${flipRate}`);
  if (noisy.length % p.nv !== 0) throw new Error(`data has ${noisy.length} values, not a multiple of the model's ${p.nv} visible units`);
  checkBinary(noisy, 'the noisy data');
  const s = Math.log((1 - flipRate) / flipRate);
  const bias = Float32Array.from(noisy, (v) => (2 * v - 1) * s);
  return conditionalGibbs(p, noisy.slice(), bias, undefined, o, 'denoise');
}

/** Mean Hamming distance per sample between two [N, nv] binary arrays. */
export function meanHamming(a: ArrayLike<number>, b: ArrayLike<number>, nv: number): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += Math.abs(a[k]! - b[k]!);
  return s / (a.length / nv);
}
