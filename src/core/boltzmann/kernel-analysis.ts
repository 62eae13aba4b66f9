/**
 * Kernel analysis of a representation (Montavon, Braun & Müller, "Kernel analysis of deep
 * networks", JMLR 12, 2011; used in arXiv 1203.3783 to compare the layers of a DBM, digest §5.4):
 * how well the labels are explained by the leading d kernel-PCA components of the representation.
 * With an RBF kernel K_ij = exp(−‖x_i − x_j‖² / (2σ²)), its centered form K̃ = HKH (H = I − 11ᵀ/n)
 * and the leading eigenvectors u_1 … u_d of K̃, the labels (one-hot Y) are projected:
 *   Ŷ_d = Ȳ + U_d U_dᵀ (Y − Ȳ),
 * and e(d) = the fraction of samples whose largest entry of Ŷ_d is not their class (the projection
 * error on the analysed set itself, as in the paper: d is the complexity). A representation is
 * more "abstract" for the task when e(d) is low at small d. σ is taken from a grid of multiples
 * of the median pairwise distance, the lowest error at each d, as the paper selects the kernel
 * scale per d. The leading eigenvectors come from the randomised range finder of linalg.ts.
 */
import { gaussian, rngFor } from '../math/rng.js';
import { truncatedSvd } from '../math/linalg.js';

export interface KernelAnalysisOptions {
  /** Largest number of components (default 50). */
  maxComponents?: number;
  /** Multiples of the median pairwise distance tried as σ (default 0.25, 0.5, 1, 2). */
  widthFactors?: number[];
  /** Seed of the range finder's probes. */
  seed?: number;
}

export interface KernelAnalysisResult {
  /** e(d) for d = 1 … maxComponents: the lowest error over the widths. */
  error: Float64Array;
  /** The width factor that gave each e(d). */
  widthFactor: Float64Array;
  /** Median pairwise distance of the representation. */
  medianDistance: number;
}

/** Squared Euclidean distances between the rows of x [n, d] (float64, n×n). */
function squaredDistances(x: ArrayLike<number>, n: number, d: number): Float64Array {
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (x[i * d + k] as number) ** 2;
    sq[i] = s;
  }
  const D = new Float64Array(n * n);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) row[k] = x[i * d + k] as number;
    for (let j = i + 1; j < n; j++) {
      let dot = 0;
      const o = j * d;
      for (let k = 0; k < d; k++) dot += row[k]! * (x[o + k] as number);
      const v = Math.max(0, sq[i]! + sq[j]! - 2 * dot);
      D[i * n + j] = v;
      D[j * n + i] = v;
    }
  }
  return D;
}

function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  return s[Math.floor(s.length / 2)]!;
}

/** e(d) for d = 1 … maxComponents (see the file head). `x` is [n, dim] row-major, labels in 0 … classes − 1. */
export function kernelAnalysis(x: ArrayLike<number>, labels: ArrayLike<number>, dim: number, opts: KernelAnalysisOptions = {}): KernelAnalysisResult {
  const n = labels.length;
  if (x.length !== n * dim) throw new Error(`kernel analysis: ${x.length} values are not ${n} samples × ${dim}`);
  const D = Math.min(opts.maxComponents ?? 50, n - 1);
  let classes = 0;
  for (let i = 0; i < n; i++) {
    const c = labels[i] as number;
    if (!Number.isInteger(c) || c < 0) throw new Error(`kernel analysis: label ${i} is ${c}, not a class index`);
    classes = Math.max(classes, c + 1);
  }
  const dist2 = squaredDistances(x, n, dim);
  const off = new Float64Array((n * (n - 1)) / 2);
  for (let i = 0, k = 0; i < n; i++) for (let j = i + 1; j < n; j++) off[k++] = dist2[i * n + j]!;
  const med = Math.sqrt(median(off));
  // Centered labels.
  const Y = new Float64Array(n * classes);
  const mean = new Float64Array(classes);
  for (let i = 0; i < n; i++) mean[labels[i] as number]! += 1 / n;
  for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) Y[i * classes + c] = (c === labels[i] ? 1 : 0) - mean[c]!;
  const error = new Float64Array(D).fill(Infinity);
  const widthFactor = new Float64Array(D);
  const K = new Float32Array(n * n);
  for (const f of opts.widthFactors ?? [0.25, 0.5, 1, 2]) {
    const s2 = 2 * (f * med) ** 2 || 1;
    for (let k = 0; k < n * n; k++) K[k] = Math.exp(-dist2[k]! / s2);
    center(K, n);
    const rng = rngFor(opts.seed ?? 0, 'kernel-analysis', f);
    const { U } = truncatedSvd(K, n, n, D, () => gaussian(rng), 4);
    // Ŷ accumulates one component at a time: Ŷ_d = Ȳ + Σ_{k ≤ d} u_k (u_kᵀ (Y − Ȳ)).
    const Yhat = new Float64Array(n * classes);
    for (let d = 0; d < D; d++) {
      const proj = new Float64Array(classes);
      for (let i = 0; i < n; i++) for (let c = 0; c < classes; c++) proj[c]! += U[i * D + d]! * Y[i * classes + c]!;
      let wrong = 0;
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 0; c < classes; c++) {
          Yhat[i * classes + c]! += U[i * D + d]! * proj[c]!;
          if (Yhat[i * classes + c]! + mean[c]! > Yhat[i * classes + best]! + mean[best]!) best = c;
        }
        if (best !== labels[i]) wrong++;
      }
      if (wrong / n < error[d]!) {
        error[d] = wrong / n;
        widthFactor[d] = f;
      }
    }
  }
  return { error, widthFactor, medianDistance: med };
}

/** K ← HKH in place: subtract row and column means, add the grand mean. */
function center(K: Float32Array, n: number): void {
  const rowMean = new Float64Array(n);
  let grand = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += K[i * n + j]!;
    rowMean[i] = s / n;
    grand += s;
  }
  grand /= n * n;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = K[i * n + j]! - rowMean[i]! - rowMean[j]! + grand;
}
