/**
 * PCA of the local descriptors. The data pass is a graph: for a batch X [M, R] and a shift s it
 * returns Σ (x − s) and (X − s)ᵀ(X − s); the batches' sums are accumulated in float64 and the
 * covariance C = (G − n m mᵀ) / (n − 1) (m the shifted mean) is decomposed by Jacobi
 * (src/core/math/linalg.ts). The shift (the first batch's mean) keeps float32 Gram sums small.
 * Each component's sign makes its largest-magnitude loading positive.
 */
import { descendingOrder, symmetricEigen } from '../math/linalg.js';
import { float32 } from '../onnx/tensor.js';
import type { Runtime } from '../runtime.js';
import { FvGraph } from './graph.js';

export interface Pca {
  mean: Float32Array;
  /** [R, k] row-major: l = (d − mean) · proj. */
  proj: Float32Array;
  /** Variance along each kept component. */
  variance: Float64Array;
}

export function buildPcaStatsGraph(R: number) {
  const fg = new FvGraph();
  const { b } = fg;
  const x = fg.input('x', ['M', R]);
  const shift = fg.input('shift', [R]);
  const c = b.sub(x, shift);
  fg.output('sum', b.op('ReduceSum', [c, b.ints([0])], { keepdims: 0 }), [R]);
  fg.output('gram', b.op('MatMul', [b.op('Transpose', [c], { perm: [1, 0] }), c]), [R, R]);
  return fg;
}

/** PCA of `rows` [M, R] keeping k components, the data passes on the runtime in batches. */
export async function fitPca(
  rows: Float32Array,
  M: number,
  R: number,
  k: number,
  opts: { runtime?: Runtime; threads?: number; batch?: number } = {},
): Promise<Pca> {
  if (M < 2) throw new Error(`PCA needs at least 2 descriptors, got ${M}`);
  const session = await buildPcaStatsGraph(R).session(opts.runtime, 'the PCA statistics graph', opts.threads);
  const batch = opts.batch ?? 8192;
  const shift = new Float32Array(R);
  const first = Math.min(M, batch);
  for (let i = 0; i < first; i++) for (let r = 0; r < R; r++) shift[r]! += rows[i * R + r]! / first;
  const sum = new Float64Array(R);
  const gram = new Float64Array(R * R);
  try {
    for (let s = 0; s < M; s += batch) {
      const e = Math.min(M, s + batch);
      const out = await session.run({ x: float32([e - s, R], rows.subarray(s * R, e * R)), shift: float32([R], shift) });
      const os = out.sum!.data as Float32Array;
      const og = out.gram!.data as Float32Array;
      for (let i = 0; i < R; i++) sum[i]! += os[i]!;
      for (let i = 0; i < R * R; i++) gram[i]! += og[i]!;
    }
  } finally {
    await session.release();
  }
  const m = sum.map((v) => v / M);
  const cov = new Float64Array(R * R);
  for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) cov[i * R + j] = (gram[i * R + j]! - M * m[i]! * m[j]!) / (M - 1);
  return pcaFromCovariance(
    cov,
    R,
    k,
    Float32Array.from(shift, (v, i) => v + m[i]!),
  );
}

/** Top-k eigenvectors of a covariance [R, R] as the projection [R, k]. */
export function pcaFromCovariance(cov: Float64Array, R: number, k: number, mean: Float32Array): Pca {
  const { values, vectors } = symmetricEigen(cov, R);
  const order = descendingOrder(values).slice(0, k);
  const proj = new Float32Array(R * k);
  order.forEach((col, j) => {
    let big = 0;
    for (let i = 0; i < R; i++) if (Math.abs(vectors[i * R + col]!) > Math.abs(big)) big = vectors[i * R + col]!;
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < R; i++) proj[i * k + j] = sign * vectors[i * R + col]!;
  });
  return { mean, proj, variance: Float64Array.from(order, (c) => Math.max(0, values[c]!)) };
}
