/**
 * Principal component analysis of row vectors (float64 throughout): centre, covariance, Jacobi
 * eigen-decomposition of the symmetric covariance (src/core/math/linalg.ts). Small dimensions
 * (word embeddings: tens to a few hundred) make the exact decomposition cheap. Signs are fixed so that each component's
 * largest-magnitude loading is positive (deterministic plots).
 */
import { descendingOrder, symmetricEigen } from '../math/linalg.js';

export interface PcaResult {
  /** Principal directions, [k][D]. */
  components: number[][];
  /** Variance along each component. */
  variance: number[];
  /** Share of the total variance each component explains. */
  explained: number[];
  mean: number[];
  /** Projected rows, [n][k]. */
  projected: number[][];
}

export function pca(rows: ArrayLike<number>[], k = 2): PcaResult {
  const n = rows.length;
  if (n < 2) throw new Error(`PCA needs at least 2 rows, got ${n}`);
  const D = rows[0]!.length;
  if (k < 1 || k > D) throw new Error(`PCA: cannot keep ${k} components of ${D}-dimensional rows`);
  const mean = new Array<number>(D).fill(0);
  for (const r of rows) {
    if (r.length !== D) throw new Error(`PCA: rows have different lengths (${D} and ${r.length})`);
    for (let d = 0; d < D; d++) mean[d]! += r[d]! / n;
  }
  const cov = new Float64Array(D * D);
  const c = new Float64Array(D);
  for (const r of rows) {
    for (let d = 0; d < D; d++) c[d] = r[d]! - mean[d]!;
    for (let i = 0; i < D; i++) {
      const ci = c[i]!;
      for (let j = i; j < D; j++) cov[i * D + j]! += ci * c[j]!;
    }
  }
  for (let i = 0; i < D; i++) for (let j = i; j < D; j++) cov[j * D + i] = cov[i * D + j] = cov[i * D + j]! / (n - 1);
  const { values, vectors } = symmetricEigen(cov, D);
  const order = descendingOrder(values).slice(0, k);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const components = order.map((i) => {
    const col = Array.from({ length: D }, (_, d) => vectors[d * D + i]!);
    let big = 0;
    for (const x of col) if (Math.abs(x) > Math.abs(big)) big = x;
    return big < 0 ? col.map((x) => -x) : col;
  });
  const variance = order.map((i) => values[i]!);
  const projected = rows.map((r) => components.map((comp) => comp.reduce((s, w, d) => s + w * (r[d]! - mean[d]!), 0)));
  return { components, variance, explained: variance.map((v) => (total > 0 ? v / total : 0)), mean, projected };
}

/**
 * Leave-one-out k-nearest-neighbour accuracy (Euclidean, majority vote, ties to the nearest):
 * how well points of the same class stay together — a number for "classes separate".
 */
export function knnAccuracy(points: ArrayLike<number>[], labels: number[], k = 5): number {
  const n = points.length;
  let correct = 0;
  const dist = new Float64Array(n);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    for (let j = 0; j < n; j++) {
      let s = 0;
      const q = points[j]!;
      for (let d = 0; d < p.length; d++) s += (p[d]! - q[d]!) ** 2;
      dist[j] = j === i ? Infinity : s;
    }
    idx.sort((a, b) => dist[a]! - dist[b]! || a - b);
    const votes = new Map<number, number>();
    for (let m = 0; m < Math.min(k, n - 1); m++) votes.set(labels[idx[m]!]!, (votes.get(labels[idx[m]!]!) ?? 0) + 1);
    let best = -1;
    let bestVotes = -1;
    for (let m = 0; m < Math.min(k, n - 1); m++) {
      const l = labels[idx[m]!]!;
      const v = votes.get(l)!;
      if (v > bestVotes) [best, bestVotes] = [l, v];
    }
    if (best === labels[i]) correct++;
  }
  return correct / n;
}
