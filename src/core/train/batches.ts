/**
 * Mini-batching for the trainer: which rows go into each batch, and the batch tensors. Training
 * batches are shuffled by the epoch's RNG, so a resumed run sees the same batches. Token rows are
 * bucketed by length and each batch is cut to its longest row (plus the model's margin of
 * paddings), so little time goes to padding; the result is exact for max-over-time models (see
 * sequenceMargin in spec.ts).
 */
import { permutation } from '../math/rng.js';
import { numel, type TensorData } from '../onnx/tensor.js';
import { sequenceMargin, type ModelSpec } from './spec.js';

export interface Dataset {
  /** Inputs, first axis = samples: float32, or int64 token ids. */
  x: TensorData;
  /** Class labels (int64 [N]) or regression targets (float32 [N, K]). */
  y: TensorData;
  /** Multi-task: 1 where the target is present, 0 where it is missing (float32 [N, K]). */
  mask?: TensorData;
  /** Token ids: tokens per row before the padding; batches are then cut to their longest row. */
  lengths?: Int32Array;
}

/** How a model's data sets are cut into batches. */
export class Batching {
  /** Trailing paddings token batches keep (sequenceMargin of the spec), computed once. */
  private margin?: number;

  constructor(private readonly spec: ModelSpec) {}

  /** Does this data set hold token rows that may be cut to each batch's longest row? */
  cuts(d: Dataset): d is Dataset & { lengths: Int32Array } {
    return !!d.lengths && d.x.dtype === 'int64' && d.x.dims.length === 2 && this.spec.input.shape.length === 1 && this.spec.input.shape[0] === null;
  }

  /** Row length for a batch of token rows: its longest row plus the model's margin of paddings. */
  cutLength(d: Dataset, idx: Int32Array): number | undefined {
    if (!this.cuts(d)) return undefined;
    let longest = 1;
    for (const r of idx) longest = Math.max(longest, d.lengths[r]!);
    this.margin ??= sequenceMargin(this.spec.layers);
    return Math.min(d.x.dims[1]!, longest + this.margin);
  }

  /**
   * Mini-batches as row indices. Shuffled when `rng` is given. Token rows go in length buckets
   * (sorted within windows of 32 batches, then the batches shuffled).
   */
  batchesOf(d: Dataset, B: number, rng?: () => number): Int32Array[] {
    const N = d.x.dims[0]!;
    const order = rng ? permutation(N, rng) : Int32Array.from({ length: N }, (_, i) => i);
    if (this.cuts(d)) {
      const len = d.lengths;
      const W = rng ? B * 32 : N;
      for (let s = 0; s < N; s += W) order.subarray(s, Math.min(s + W, N)).sort((a, b) => len[a]! - len[b]! || a - b);
    }
    const batches: Int32Array[] = [];
    for (let s = 0; s < N; s += B) batches.push(order.slice(s, Math.min(s + B, N)));
    if (rng && this.cuts(d)) return Array.from(permutation(batches.length, rng), (i) => batches[i]!);
    return batches;
  }

  /** The inputs of the rows `idx`, token rows cut to the batch's length. */
  inputs(d: Dataset, idx: Int32Array): TensorData {
    return gatherRows(d.x, idx, numel(d.x.dims.slice(1)), this.cutLength(d, idx));
  }
}

/** Rows `idx` of t as one tensor; `cut`: keep only the first `cut` entries of each (token) row. */
export function gatherRows(t: TensorData, idx: Int32Array, per: number, cut?: number): TensorData {
  const dims = [idx.length, ...t.dims.slice(1)];
  if (t.dtype === 'int64') {
    const src = t.data as BigInt64Array;
    const w = cut ?? per;
    const out = new BigInt64Array(idx.length * w);
    idx.forEach((r, i) => out.set(src.subarray(r * per, r * per + w), i * w));
    return { dtype: 'int64', dims: cut === undefined ? dims : [idx.length, w], data: out };
  }
  const src = t.data as Float32Array;
  const out = new Float32Array(idx.length * per);
  idx.forEach((r, i) => out.set(src.subarray(r * per, (r + 1) * per), i * per));
  return { dtype: 'float32', dims, data: out };
}
