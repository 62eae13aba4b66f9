/**
 * Word vectors trained on the task's own corpus (no downloads): positive pointwise mutual
 * information of words with the most frequent context words in a window, reduced by a truncated
 * SVD (randomised range finder + a small symmetric eigenproblem). Used to initialise embedding
 * layers, as the text papers start from pre-trained word vectors.
 */
import { gaussian, mulberry32 } from '../math/random.js';

export interface WordVectorOptions {
  dim: number;
  window?: number;
  contexts?: number;
  /** Context-distribution smoothing exponent. */
  alpha?: number;
  /** Token ids that are not words (padding, unknown): they get no vector and are no context. */
  skip?: number[];
  seed?: number;
}

/** Documents as token-id arrays; vocabulary size V. Returns row-major [V, dim] vectors. */
export function ppmiSvdVectors(docs: number[][], V: number, o: WordVectorOptions): Float32Array {
  const window = o.window ?? 5;
  const skip = new Set(o.skip ?? []);
  const counts = new Float64Array(V);
  for (const d of docs) for (const t of d) if (!skip.has(t)) counts[t]!++;
  const ctxIds = Array.from({ length: V }, (_, i) => i).filter((i) => counts[i]! > 0).sort((a, b) => counts[b]! - counts[a]!).slice(0, o.contexts ?? 2000);
  const C = ctxIds.length;
  const ctxIndex = new Int32Array(V).fill(-1);
  ctxIds.forEach((id, j) => (ctxIndex[id] = j));
  // Co-occurrence counts word × context within the window.
  const A = new Float32Array(V * C);
  for (const d of docs) {
    for (let i = 0; i < d.length; i++) {
      const w = d[i]!;
      if (skip.has(w)) continue;
      for (let k = Math.max(0, i - window); k <= Math.min(d.length - 1, i + window); k++) {
        const j = ctxIndex[d[k]!]!;
        if (k !== i && j >= 0) A[w * C + j]!++;
      }
    }
  }
  // PPMI with smoothed context probabilities.
  const alpha = o.alpha ?? 0.75;
  const rowSum = new Float64Array(V);
  const colSum = new Float64Array(C);
  let total = 0;
  for (let w = 0; w < V; w++) for (let j = 0; j < C; j++) {
    const v = A[w * C + j]!;
    rowSum[w]! += v;
    colSum[j]! += v;
    total += v;
  }
  const colPow = Array.from(colSum, (v) => v ** alpha);
  const colPowSum = colPow.reduce((a, b) => a + b, 0);
  for (let w = 0; w < V; w++) for (let j = 0; j < C; j++) {
    const v = A[w * C + j]!;
    if (v === 0) continue;
    const pmi = Math.log((v / total) / ((rowSum[w]! / total) * (colPow[j]! / colPowSum)));
    A[w * C + j] = pmi > 0 ? pmi : 0;
  }
  const k = Math.min(o.dim, C);
  const { U, S } = truncatedSvd(A, V, C, k, o.seed ?? 0);
  // Vectors U·√S, scaled to an initialisation-sized spread (std 0.1).
  const out = new Float32Array(V * o.dim);
  let sq = 0;
  for (let w = 0; w < V; w++) for (let c = 0; c < k; c++) {
    const v = U[w * k + c]! * Math.sqrt(S[c]!);
    out[w * o.dim + c] = v;
    sq += v * v;
  }
  const scale = 0.1 / Math.sqrt(sq / Math.max(1, V * k));
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}

/** Top-k left singular vectors and values of the row-major m×n matrix A. */
export function truncatedSvd(A: Float32Array, m: number, n: number, k: number, seed: number, powerIterations = 3): { U: Float64Array; S: Float64Array } {
  const l = Math.min(n, k + 16);
  const rng = mulberry32(seed);
  const omega = Float64Array.from({ length: n * l }, () => gaussian(rng));
  let Y = mulAB(A, m, n, omega, l); // m×l
  orthonormalize(Y, m, l);
  for (let it = 0; it < powerIterations; it++) {
    const Z = mulAtB(A, m, n, Y, l); // n×l
    orthonormalize(Z, n, l);
    Y = mulAB(A, m, n, Z, l);
    orthonormalize(Y, m, l);
  }
  // B = Yᵀ A (l×n); eigen-decompose B Bᵀ (l×l).
  const B = mulAtB(A, m, n, Y, l); // n×l, i.e. Bᵀ
  const G = new Float64Array(l * l);
  for (let i = 0; i < l; i++) for (let j = i; j < l; j++) {
    let s = 0;
    for (let r = 0; r < n; r++) s += B[r * l + i]! * B[r * l + j]!;
    G[i * l + j] = s;
    G[j * l + i] = s;
  }
  const { values, vectors } = jacobiEigen(G, l);
  const order = Array.from({ length: l }, (_, i) => i).sort((a, b) => values[b]! - values[a]!).slice(0, k);
  const U = new Float64Array(m * k);
  for (let r = 0; r < m; r++) for (let c = 0; c < k; c++) {
    let s = 0;
    for (let i = 0; i < l; i++) s += Y[r * l + i]! * vectors[i * l + order[c]!]!;
    U[r * k + c] = s;
  }
  return { U, S: Float64Array.from(order, (i) => Math.sqrt(Math.max(values[i]!, 0))) };
}

function mulAB(A: Float32Array, m: number, n: number, X: Float64Array, l: number): Float64Array {
  const out = new Float64Array(m * l);
  for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) {
    const a = A[r * n + j]!;
    if (a === 0) continue;
    for (let c = 0; c < l; c++) out[r * l + c]! += a * X[j * l + c]!;
  }
  return out;
}

function mulAtB(A: Float32Array, m: number, n: number, Y: Float64Array, l: number): Float64Array {
  const out = new Float64Array(n * l);
  for (let r = 0; r < m; r++) for (let j = 0; j < n; j++) {
    const a = A[r * n + j]!;
    if (a === 0) continue;
    for (let c = 0; c < l; c++) out[j * l + c]! += a * Y[r * l + c]!;
  }
  return out;
}

/** Modified Gram–Schmidt on the l columns of a row-major rows×l matrix. */
function orthonormalize(M: Float64Array, rows: number, l: number) {
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

/** Cyclic Jacobi for a symmetric matrix: eigenvalues and column eigenvectors. */
export function jacobiEigen(G: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(G);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += a[i * n + j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q]!;
      if (Math.abs(apq) < 1e-300) continue;
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
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]!), vectors: v };
}
