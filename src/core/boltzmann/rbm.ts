/**
 * A binary restricted Boltzmann machine, optionally centered (Montavon & Müller, arXiv 1203.3783):
 *
 *   E(v, h) = −(v − o_v)ᵀ W (h − o_h) − (v − o_v)ᵀ a − (h − o_h)ᵀ c,   v ∈ {0,1}^nv, h ∈ {0,1}^nh.
 *
 * With zero offsets it is the usual RBM. The offsets only re-parameterise the same family:
 * expanding the energy gives the uncentered biases a − W o_h and c − Wᵀ o_v and a constant
 * (see {@link uncentered}). Moving the offsets by δ while shifting the biases by W δ_h and Wᵀ δ_v
 * leaves the distribution unchanged ({@link moveOffsets}); the training graph does the same.
 */
import { gaussian, rngFor } from '../math/rng.js';

export interface RbmParams {
  nv: number;
  nh: number;
  /** Weights [nv, nh], row-major: W[i * nh + j] couples visible i and hidden j. */
  W: Float32Array;
  /** Visible bias (centered form). */
  a: Float32Array;
  /** Hidden bias (centered form). */
  c: Float32Array;
  /** Visible offset (zeros: uncentered). */
  ov: Float32Array;
  /** Hidden offset (zeros: uncentered). */
  oh: Float32Array;
}

/** The same model in the usual form E = −vᵀWh − aᵀv − cᵀh (float64), plus the energy's constant shift. */
export interface UncenteredRbm {
  nv: number;
  nh: number;
  W: Float64Array;
  a: Float64Array;
  c: Float64Array;
  /** E_centered(v, h) = E_uncentered(v, h) + shift, so log Z_centered = log Z_uncentered − shift. */
  shift: number;
}

export function uncentered(p: RbmParams): UncenteredRbm {
  const { nv, nh, W } = p;
  const a = Float64Array.from(p.a);
  const c = Float64Array.from(p.c);
  let shift = 0;
  for (let i = 0; i < nv; i++) {
    for (let j = 0; j < nh; j++) {
      const w = W[i * nh + j]!;
      a[i]! -= w * p.oh[j]!;
      c[j]! -= w * p.ov[i]!;
      shift -= p.ov[i]! * w * p.oh[j]!;
    }
    shift += p.ov[i]! * p.a[i]!;
  }
  for (let j = 0; j < nh; j++) shift += p.oh[j]! * p.c[j]!;
  return { nv, nh, W: Float64Array.from(W), a, c, shift };
}

/**
 * Move the offsets to `ov`, `oh` and shift the biases (a += W δ_h, c += Wᵀ δ_v) so that the model
 * distribution is unchanged. Returns new parameters.
 */
export function moveOffsets(p: RbmParams, ov: ArrayLike<number>, oh: ArrayLike<number>): RbmParams {
  const { nv, nh, W } = p;
  const a = Float64Array.from(p.a);
  const c = Float64Array.from(p.c);
  for (let i = 0; i < nv; i++) {
    const dv = ov[i]! - p.ov[i]!;
    for (let j = 0; j < nh; j++) {
      const w = W[i * nh + j]!;
      a[i]! += w * (oh[j]! - p.oh[j]!);
      c[j]! += w * dv;
    }
  }
  return { nv, nh, W: Float32Array.from(W), a: Float32Array.from(a), c: Float32Array.from(c), ov: Float32Array.from(ov), oh: Float32Array.from(oh) };
}

export interface RbmInit {
  /** Per-visible-unit data mean: the visible bias starts at its clipped logit, the visible offset at it. */
  dataMean: ArrayLike<number>;
  centered: boolean;
  seed: number;
  /** Standard deviation of the initial weights (default 0.01; symmetry between hidden units needs > 0). */
  weightStd?: number;
}

export function initRbm(nv: number, nh: number, init: RbmInit): RbmParams {
  if (init.dataMean.length !== nv) throw new Error(`data mean has ${init.dataMean.length} values for ${nv} visible units`);
  const rng = rngFor(init.seed, 'rbm-init');
  const std = init.weightStd ?? 0.01;
  const W = new Float32Array(nv * nh);
  for (let k = 0; k < W.length; k++) W[k] = std * gaussian(rng);
  const a = new Float32Array(nv);
  const ov = new Float32Array(nv);
  for (let i = 0; i < nv; i++) {
    const m = Math.min(0.99, Math.max(0.01, init.dataMean[i]!));
    a[i] = Math.log(m / (1 - m));
    if (init.centered) ov[i] = init.dataMean[i]!;
  }
  const c = new Float32Array(nh);
  // Hidden offsets start at the hidden units' mean activation under zero input, σ(0) = ½.
  const oh = new Float32Array(nh).fill(init.centered ? 0.5 : 0);
  return { nv, nh, W, a, c, ov, oh };
}

export function cloneRbm(p: RbmParams): RbmParams {
  return { nv: p.nv, nh: p.nh, W: p.W.slice(), a: p.a.slice(), c: p.c.slice(), ov: p.ov.slice(), oh: p.oh.slice() };
}

/** Throw a clear error unless every value is exactly 0 or 1. */
export function checkBinary(x: ArrayLike<number>, what: string): void {
  for (let k = 0; k < x.length; k++) {
    const v = x[k]!;
    if (v !== 0 && v !== 1) {
      throw new Error(
        `${what} must be binary (0/1), but value ${k} is ${v}; binarise it first, e.g. threshold at 0.5 or sample each pixel as Bernoulli(intensity)`,
      );
    }
  }
}
