/**
 * Word vectors trained on the task's own corpus (no downloads): positive pointwise mutual
 * information of words with the most frequent context words in a window, reduced by a randomised
 * truncated SVD (src/core/math/linalg.ts). Used to initialise embedding layers, as the text papers
 * start from pre-trained word vectors.
 */
import { truncatedSvd } from '../math/linalg.js';
import { gaussian, rngFor } from '../math/rng.js';

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
  const ctxIds = Array.from({ length: V }, (_, i) => i)
    .filter((i) => counts[i]! > 0)
    .sort((a, b) => counts[b]! - counts[a]!)
    .slice(0, o.contexts ?? 2000);
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
  for (let w = 0; w < V; w++)
    for (let j = 0; j < C; j++) {
      const v = A[w * C + j]!;
      rowSum[w]! += v;
      colSum[j]! += v;
      total += v;
    }
  const colPow = Array.from(colSum, (v) => v ** alpha);
  const colPowSum = colPow.reduce((a, b) => a + b, 0);
  for (let w = 0; w < V; w++)
    for (let j = 0; j < C; j++) {
      const v = A[w * C + j]!;
      if (v === 0) continue;
      const pmi = Math.log(v / total / ((rowSum[w]! / total) * (colPow[j]! / colPowSum)));
      A[w * C + j] = pmi > 0 ? pmi : 0;
    }
  const k = Math.min(o.dim, C);
  // The randomised SVD's probes: its trailing directions depend on them (see truncatedSvd).
  const rng = rngFor(o.seed ?? 0, 'word-vectors', 'svd-probes');
  const { U, S } = truncatedSvd(A, V, C, k, () => gaussian(rng));
  // Vectors U·√S, scaled to an initialisation-sized spread (std 0.1).
  const out = new Float32Array(V * o.dim);
  let sq = 0;
  for (let w = 0; w < V; w++)
    for (let c = 0; c < k; c++) {
      const v = U[w * k + c]! * Math.sqrt(S[c]!);
      out[w * o.dim + c] = v;
      sq += v * v;
    }
  const scale = 0.1 / Math.sqrt(sq / Math.max(1, V * k));
  for (let i = 0; i < out.length; i++) out[i]! *= scale;
  return out;
}
