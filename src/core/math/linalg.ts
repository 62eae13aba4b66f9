/**
 * Dense linear algebra in float64 for the small problems relprop meets outside ONNX graphs: the
 * covariance of a PCA (tens to a few hundred dimensions) and the small projected problem of a
 * randomised truncated SVD. Matrices are row-major Float64Arrays with their sizes passed along.
 */

/**
 * Eigen-decomposition of the symmetric n×n matrix A by cyclic Jacobi rotations: eigenvalues
 * (unsorted) and eigenvectors as the columns of `vectors` (vectors[i * n + j] is component i of
 * eigenvector j). Jacobi rather than a QR method because it is short, needs no tridiagonal
 * reduction and is accurate to float64 for the sizes above. A is not modified.
 */
export function symmetricEigen(A: ArrayLike<number>, n: number, maxSweeps = 100): { values: Float64Array; vectors: Float64Array } {
  if (A.length !== n * n) throw new Error(`symmetricEigen: expected ${n}×${n} = ${n * n} values, got ${A.length}`);
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        // The rotation that zeroes a[p][q]: t = tan of its angle, the smaller root for stability.
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
}

/** Indices of `values` from the largest value to the smallest (ties keep their order). */
export function descendingOrder(values: ArrayLike<number>): number[] {
  return Array.from({ length: values.length }, (_, i) => i).sort((x, y) => values[y]! - values[x]!);
}

/**
 * Top-k left singular vectors (row-major m×k) and singular values of the row-major m×n matrix A,
 * by a randomised range finder (k + 16 Gaussian probes, `powerIterations` power iterations) and
 * the symmetric eigenproblem of the projected l×l Gram matrix. `normal` draws the probes.
 */
export function truncatedSvd(
  A: Float32Array,
  m: number,
  n: number,
  k: number,
  normal: () => number,
  powerIterations = 3,
): { U: Float64Array; S: Float64Array } {
  const l = Math.min(n, k + 16);
  const omega = Float64Array.from({ length: n * l }, () => normal());
  let Y = mulAB(A, m, n, omega, l); // m×l
  orthonormalizeColumns(Y, m, l);
  for (let it = 0; it < powerIterations; it++) {
    const Z = mulAtB(A, m, n, Y, l); // n×l
    orthonormalizeColumns(Z, n, l);
    Y = mulAB(A, m, n, Z, l);
    orthonormalizeColumns(Y, m, l);
  }
  // B = Yᵀ A (l×n); eigen-decompose B Bᵀ (l×l).
  const B = mulAtB(A, m, n, Y, l); // n×l, i.e. Bᵀ
  const G = new Float64Array(l * l);
  for (let i = 0; i < l; i++)
    for (let j = i; j < l; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += B[r * l + i]! * B[r * l + j]!;
      G[i * l + j] = s;
      G[j * l + i] = s;
    }
  const { values, vectors } = symmetricEigen(G, l);
  const order = descendingOrder(values).slice(0, k);
  const U = new Float64Array(m * k);
  for (let r = 0; r < m; r++)
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let i = 0; i < l; i++) s += Y[r * l + i]! * vectors[i * l + order[c]!]!;
      U[r * k + c] = s;
    }
  return { U, S: Float64Array.from(order, (i) => Math.sqrt(Math.max(values[i]!, 0))) };
}

/** A·X for A m×n (float32, mostly zeros: zero entries are skipped) and X n×l. */
function mulAB(A: Float32Array, m: number, n: number, X: Float64Array, l: number): Float64Array {
  const out = new Float64Array(m * l);
  for (let r = 0; r < m; r++)
    for (let j = 0; j < n; j++) {
      const a = A[r * n + j]!;
      if (a === 0) continue;
      for (let c = 0; c < l; c++) out[r * l + c]! += a * X[j * l + c]!;
    }
  return out;
}

/** Aᵀ·Y for A m×n and Y m×l. */
function mulAtB(A: Float32Array, m: number, n: number, Y: Float64Array, l: number): Float64Array {
  const out = new Float64Array(n * l);
  for (let r = 0; r < m; r++)
    for (let j = 0; j < n; j++) {
      const a = A[r * n + j]!;
      if (a === 0) continue;
      for (let c = 0; c < l; c++) out[j * l + c]! += a * Y[r * l + c]!;
    }
  return out;
}

/** Modified Gram–Schmidt on the l columns of a row-major rows×l matrix, in place. */
function orthonormalizeColumns(M: Float64Array, rows: number, l: number): void {
  for (let c = 0; c < l; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += M[r * l + c]! * M[r * l + p]!;
      for (let r = 0; r < rows; r++) M[r * l + c]! -= dot * M[r * l + p]!;
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += M[r * l + c]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < rows; r++) M[r * l + c]! /= norm;
  }
}
