/**
 * Perturbation functions g of the region-perturbation protocol. Each mode defines, per sample, a
 * replacement image R of the sample's shape; perturbing region r sets the sample's values in r
 * (all channels) to R's. Because R is fixed per sample (and repetition), x^(k) is simply x with the
 * first k regions of the order taken from R: the MoRF recursion x^(k) = g(x^(k-1), r_k) of the
 * paper, and every method sees the same replacement values in the same region (common random
 * numbers, so differences between methods are not noise-draw differences).
 *
 * - uniform (the paper's choice): R ~ U(lo_c, hi_c) per value, independently, per channel c range.
 * - blur: R = the sample blurred by a Gaussian of the given σ (pixels), per channel.
 * - mean: R = the sample's own per-channel mean.
 * - zero: R = 0 (in model-input space: with normalisation inside the model, the darkest value).
 */
import { unknownNameError } from '../names.js';
import type { ImageGeometry, RegionGrid } from './regions.js';

export type Replacement = 'uniform' | 'blur' | 'mean' | 'zero';
export const REPLACEMENTS: readonly Replacement[] = ['uniform', 'blur', 'mean', 'zero'];

export interface ReplacementOptions {
  /** uniform: per-channel value range [lo, hi] (one entry applies to every channel). */
  range?: [number, number][];
  /** blur: Gaussian σ in pixels. */
  sigma?: number;
  /** uniform: the random stream. */
  rng?: () => number;
}

export function checkReplacement(name: string): Replacement {
  if (!(REPLACEMENTS as readonly string[]).includes(name)) throw unknownNameError('replacement', name, REPLACEMENTS);
  return name as Replacement;
}

function channelOf(i: number, g: ImageGeometry): number {
  return g.layout === 'nchw' ? Math.floor(i / (g.H * g.W)) : i % g.C;
}

/** The replacement image of one sample (same length and layout as `x`). */
export function replacementImage(x: Float32Array, g: ImageGeometry, mode: Replacement, o: ReplacementOptions = {}): Float32Array {
  const out = new Float32Array(x.length);
  switch (mode) {
    case 'zero':
      return out;
    case 'mean': {
      const sum = new Float64Array(g.C);
      for (let i = 0; i < x.length; i++) sum[channelOf(i, g)]! += x[i]!;
      for (let i = 0; i < x.length; i++) out[i] = sum[channelOf(i, g)]! / (g.H * g.W);
      return out;
    }
    case 'uniform': {
      const rng = o.rng;
      if (!rng) throw new Error('uniform replacement needs a random stream');
      const range = o.range ?? [[0, 1]];
      if (range.length !== 1 && range.length !== g.C) throw new Error(`uniform replacement: ${range.length} value ranges for ${g.C} channels`);
      for (let i = 0; i < x.length; i++) {
        const [lo, hi] = range.length === 1 ? range[0]! : range[channelOf(i, g)]!;
        out[i] = lo + (hi - lo) * rng();
      }
      return out;
    }
    case 'blur':
      return gaussianBlur(x, g, o.sigma ?? 2);
  }
}

/** Separable Gaussian blur per channel, kernel radius ceil(3σ), edges mirrored (reflect-101 style, clamped for tiny images). */
export function gaussianBlur(x: Float32Array, g: ImageGeometry, sigma: number): Float32Array {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`blur sigma must be a positive number, got ${sigma}`);
  const r = Math.ceil(3 * sigma);
  const k = new Float64Array(2 * r + 1);
  let ks = 0;
  for (let i = -r; i <= r; i++) ks += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= ks;
  const reflect = (i: number, n: number): number => {
    if (n === 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  };
  const { C, H, W } = g;
  const at = (c: number, y: number, xx: number) => (g.layout === 'nchw' ? (c * H + y) * W + xx : (y * W + xx) * C + c);
  const tmp = new Float64Array(H * W);
  const out = new Float32Array(x.length);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r]! * x[at(c, y, reflect(xx + t, W))]!;
        tmp[y * W + xx] = s;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let xx = 0; xx < W; xx++) {
        let s = 0;
        for (let t = -r; t <= r; t++) s += k[t + r]! * tmp[reflect(y + t, H) * W + xx]!;
        out[at(c, y, xx)] = s;
      }
    }
  }
  return out;
}

/** Perturb one region of `cur` in place: its values (all channels) become R's. */
export function perturbRegion(cur: Float32Array, R: Float32Array, grid: RegionGrid, region: number): void {
  const idx = grid.indices[region]!;
  for (let i = 0; i < idx.length; i++) cur[idx[i]!] = R[idx[i]!]!;
}

/** x^(k) for k = 0..steps as rows of one array (for tests and small inputs; the evaluator streams them into batches). */
export function perturbationSeries(x: Float32Array, R: Float32Array, grid: RegionGrid, order: ArrayLike<number>, steps: number): Float32Array {
  const per = x.length;
  const out = new Float32Array((steps + 1) * per);
  const cur = Float32Array.from(x);
  out.set(cur, 0);
  for (let k = 1; k <= steps; k++) {
    perturbRegion(cur, R, grid, order[k - 1]!);
    out.set(cur, k * per);
  }
  return out;
}
