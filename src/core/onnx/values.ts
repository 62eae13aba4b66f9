/**
 * The values of a constant tensor in the form code computes with: float32 for weights and biases
 * (float64 initializers are narrowed), plain numbers for integer operands such as axes, sizes and
 * shapes. Passes, layer kinds and adjoints all read initializers through these two.
 */
import type { TensorData } from './tensor.js';

/** A float tensor's values as float32; `what` names the tensor in the error for any other dtype. */
export function toF32(t: TensorData, what: string): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  if (t.dtype === 'float64') return Float32Array.from(t.data as Float64Array);
  throw new Error(`${what} must be a float tensor, got ${t.dtype}`);
}

/** An integer tensor's values (int64 converted) as plain numbers. */
export function intValues(t: TensorData): number[] {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, (v) => Number(v));
  return Array.from(t.data as ArrayLike<number>);
}
