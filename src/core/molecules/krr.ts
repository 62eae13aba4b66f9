/**
 * Baselines of the molecules experiments: the mean predictor and kernel ridge regression (Rupp et
 * al. 2012; Montavon et al. 2012) with a Gaussian kernel exp(−‖x−x'‖²/(2σ²)) or a Laplacian kernel
 * exp(−‖x−x'‖₁/σ) on fixed-length representations (sorted Coulomb matrices, eigenspectra).
 * α = (K + λI)⁻¹(y − ȳ), prediction ȳ + k(x)ᵀα; σ and λ per target by cross-validation on the
 * training molecules only. Float64 throughout; sizes up to a few thousand molecules.
 */

export type KernelKind = 'gaussian' | 'laplacian';

/** Pairwise distances (squared Euclidean for the Gaussian, L1 for the Laplacian) between rows of A (n×D) and B (m×D). */
export function distances(kind: KernelKind, A: Float64Array, n: number, B: Float64Array, m: number, D: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      if (kind === 'gaussian')
        for (let d = 0; d < D; d++) {
          const t = A[i * D + d]! - B[j * D + d]!;
          s += t * t;
        }
      else for (let d = 0; d < D; d++) s += Math.abs(A[i * D + d]! - B[j * D + d]!);
      out[i * m + j] = s;
    }
  return out;
}

/** Kernel values from distances: the Gaussian takes squared distances. */
export function kernelFromDistances(kind: KernelKind, dist: Float64Array, sigma: number): Float64Array {
  const c = kind === 'gaussian' ? -1 / (2 * sigma * sigma) : -1 / sigma;
  return dist.map((d) => Math.exp(c * d));
}

/** Cholesky factor L (lower, row-major) of the symmetric positive definite n×n matrix A; A is overwritten. */
export function cholesky(A: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= A[j * n + k]! ** 2;
    if (!(d > 0)) throw new Error(`kernel matrix is not positive definite at row ${j} (increase the regularisation)`);
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      const ri = i * n;
      const rj = j * n;
      for (let k = 0; k < j; k++) s -= A[ri + k]! * A[rj + k]!;
      A[i * n + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) A[j * n + k] = 0;
  }
  return A;
}

/** Solve L·Lᵀ·X = B for X (B: n×c, row-major; overwritten with X). */
export function choleskySolve(L: Float64Array, n: number, B: Float64Array, c: number): Float64Array {
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const l = L[i * n + k]!;
      if (l !== 0) for (let q = 0; q < c; q++) B[i * c + q] = B[i * c + q]! - l * B[k * c + q]!;
    }
    for (let q = 0; q < c; q++) B[i * c + q] = B[i * c + q]! / L[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const l = L[k * n + i]!;
      if (l !== 0) for (let q = 0; q < c; q++) B[i * c + q] = B[i * c + q]! - l * B[k * c + q]!;
    }
    for (let q = 0; q < c; q++) B[i * c + q] = B[i * c + q]! / L[i * n + i]!;
  }
  return B;
}

export interface KrrModel {
  kind: KernelKind;
  sigma: number;
  lambda: number;
  /** Training rows (n×D). */
  X: Float64Array;
  D: number;
  mean: Float64Array;
  /** n×c dual coefficients. */
  alpha: Float64Array;
}

/** Fit KRR on rows X (n×D) to targets Y (n×c, all present). */
export function fitKrr(kind: KernelKind, X: Float64Array, D: number, Y: Float64Array, c: number, sigma: number, lambda: number, dist?: Float64Array): KrrModel {
  const n = X.length / D;
  const K = kernelFromDistances(kind, dist ?? distances(kind, X, n, X, n, D), sigma);
  for (let i = 0; i < n; i++) K[i * n + i] = K[i * n + i]! + lambda;
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let q = 0; q < c; q++) mean[q] = mean[q]! + Y[i * c + q]! / n;
  const B = Y.map((v, k) => v - mean[k % c]!);
  return { kind, sigma, lambda, X, D, mean, alpha: choleskySolve(cholesky(K, n), n, B, c) };
}

/** Predictions (m×c) for rows Z (m×D). */
export function predictKrr(model: KrrModel, Z: Float64Array, dist?: Float64Array): Float64Array {
  const { D, X, alpha, mean } = model;
  const n = X.length / D;
  const m = Z.length / D;
  const c = mean.length;
  const k = kernelFromDistances(model.kind, dist ?? distances(model.kind, Z, m, X, n, D), model.sigma);
  const out = new Float64Array(m * c);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      const kij = k[i * n + j]!;
      for (let q = 0; q < c; q++) out[i * c + q] = out[i * c + q]! + kij * alpha[j * c + q]!;
    }
  for (let i = 0; i < m; i++) for (let q = 0; q < c; q++) out[i * c + q] = out[i * c + q]! + mean[q]!;
  return out;
}

/** Median of the off-diagonal pairwise distances (not squared), the scale of the σ grid. */
export function medianDistance(kind: KernelKind, dist: Float64Array, n: number): number {
  const v: number[] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) v.push(kind === 'gaussian' ? Math.sqrt(dist[i * n + j]!) : dist[i * n + j]!);
  v.sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] || 1;
}

/** Rows `idx` of a row-major matrix with `w` columns. */
export function takeRows(A: Float64Array, w: number, idx: ArrayLike<number>): Float64Array {
  const out = new Float64Array(idx.length * w);
  for (let k = 0; k < idx.length; k++) out.set(A.subarray(idx[k]! * w, (idx[k]! + 1) * w), k * w);
  return out;
}

/** The submatrix of an n×n matrix with rows `r` and columns `c`. */
function sub(A: Float64Array, n: number, r: ArrayLike<number>, c: ArrayLike<number>): Float64Array {
  const out = new Float64Array(r.length * c.length);
  for (let i = 0; i < r.length; i++) for (let j = 0; j < c.length; j++) out[i * c.length + j] = A[r[i]! * n + c[j]!]!;
  return out;
}

export interface CvChoice {
  sigma: number;
  lambda: number;
  /** The cross-validated MAE of the choice, per target. */
  mae: number;
}

/**
 * σ and λ per target by K-fold cross-validation over the grid (σ as multiples of the median
 * distance), with `folds` a fold index per row. Y: n×c, all present. Returns the best pair per target.
 */
export function crossValidateKrr(
  kind: KernelKind,
  X: Float64Array,
  D: number,
  Y: Float64Array,
  c: number,
  folds: Int32Array,
  grid: { sigmaFactors: number[]; lambdas: number[] },
): CvChoice[] {
  const n = X.length / D;
  const dist = distances(kind, X, n, X, n, D);
  const med = medianDistance(kind, dist, n);
  const K = Math.max(...folds) + 1;
  const best: CvChoice[] = Array.from({ length: c }, () => ({ sigma: NaN, lambda: NaN, mae: Infinity }));
  for (const f of grid.sigmaFactors)
    for (const lambda of grid.lambdas) {
      const sigma = f * med;
      const err = new Float64Array(c);
      for (let k = 0; k < K; k++) {
        const tr: number[] = [];
        const te: number[] = [];
        folds.forEach((v, i) => (v === k ? te : tr).push(i));
        let model: KrrModel;
        try {
          model = fitKrr(kind, takeRows(X, D, tr), D, takeRows(Y, c, tr), c, sigma, lambda, sub(dist, n, tr, tr));
        } catch {
          err.fill(Infinity); // λ too small for this σ: not a candidate
          break;
        }
        const p = predictKrr(model, takeRows(X, D, te), sub(dist, n, te, tr));
        te.forEach((i, r) => {
          for (let q = 0; q < c; q++) err[q] = err[q]! + Math.abs(p[r * c + q]! - Y[i * c + q]!) / n;
        });
      }
      for (let q = 0; q < c; q++) if (err[q]! < best[q]!.mae) best[q] = { sigma, lambda, mae: err[q]! };
    }
  return best;
}
