/** A dense host tensor: the currency between file formats, the runtime and the references. */
export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface TensorData {
  dtype: DType;
  dims: number[];
  data: TypedData;
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function float32(dims: number[], data?: ArrayLike<number>): TensorData {
  const out = new Float32Array(numel(dims));
  if (data) {
    if (data.length !== out.length) throw new Error(`float32 tensor ${JSON.stringify(dims)} needs ${out.length} values, got ${data.length}`);
    out.set(data);
  }
  return { dtype: 'float32', dims: [...dims], data: out };
}

/** A float32 tensor over `data` itself, not a copy (for feeds rebuilt every run, e.g. a training loop's). */
export function float32View(dims: number[], data: Float32Array): TensorData {
  if (data.length !== numel(dims)) throw new Error(`float32 tensor ${JSON.stringify(dims)} needs ${numel(dims)} values, got ${data.length}`);
  return { dtype: 'float32', dims: [...dims], data };
}

export function int64(dims: number[], data: ArrayLike<number | bigint>): TensorData {
  const out = new BigInt64Array(numel(dims));
  if (data.length !== out.length) throw new Error(`int64 tensor ${JSON.stringify(dims)} needs ${out.length} values, got ${data.length}`);
  for (let i = 0; i < out.length; i++) out[i] = BigInt(data[i] as number | bigint);
  return { dtype: 'int64', dims: [...dims], data: out };
}
