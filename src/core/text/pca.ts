/**
 * Principal component analysis of row vectors (float64 throughout): centre, covariance, Jacobi
 * eigen-decomposition of the symmetric covariance. Small dimensions (word embeddings: tens to a
 * few hundred) make the exact decomposition cheap. Signs are fixed so that each component's
 * largest-magnitude loading is positive (deterministic plots).
 */

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

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations. Returns eigenvalues and eigenvectors (columns of V), unsorted. */
export function symmetricEigen(A: number[][]): { values: number[]; vectors: number[][] } {
  const n = A.length;
  const a = A.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p]![q]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k]![p]!;
          const vkq = v[k]![q]!;
          v[k]![p] = c * vkp - s * vkq;
          v[k]![q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((r, i) => r[i]!), vectors: v };
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
  const cov = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  const c = new Float64Array(D);
  for (const r of rows) {
    for (let d = 0; d < D; d++) c[d] = r[d]! - mean[d]!;
    for (let i = 0; i < D; i++) {
      const ci = c[i]!;
      const row = cov[i]!;
      for (let j = i; j < D; j++) row[j]! += ci * c[j]!;
    }
  }
  for (let i = 0; i < D; i++) for (let j = i; j < D; j++) cov[j]![i] = cov[i]![j] = cov[i]![j]! / (n - 1);
  const { values, vectors } = symmetricEigen(cov);
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => y[0] - x[0]);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  const components = order.slice(0, k).map(([, i]) => {
    const col = vectors.map((r) => r[i]!);
    let big = 0;
    for (const x of col) if (Math.abs(x) > Math.abs(big)) big = x;
    return big < 0 ? col.map((x) => -x) : col;
  });
  const variance = order.slice(0, k).map(([v]) => v);
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
