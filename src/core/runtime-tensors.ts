/**
 * Wrap an onnxruntime-common InferenceSession (from onnxruntime-node or -web) as a Session on
 * host tensors. Typed arrays are handed over without copying in either direction.
 */
import type { InferenceSession, Tensor, TypedTensor } from 'onnxruntime-common';
import type { TensorData } from './onnx/tensor.js';
import type { Session } from './runtime.js';

type TensorCtor = new (type: 'float32' | 'int64' | 'int32' | 'uint8' | 'bool' | 'float64', data: TensorData['data'], dims: readonly number[]) => Tensor;

export function sessionFrom(s: InferenceSession, TensorClass: unknown): Session {
  const T = TensorClass as TensorCtor;
  const toOrt = (t: TensorData): Tensor => {
    switch (t.dtype) {
      case 'float32':
      case 'int64':
      case 'int32':
      case 'uint8':
      case 'bool':
      case 'float64':
        return new T(t.dtype, t.data, t.dims);
    }
  };
  const fromOrt = (v: Tensor, name: string): TensorData => {
    const dims = [...v.dims];
    switch (v.type) {
      case 'float32':
        return { dtype: 'float32', dims, data: (v as TypedTensor<'float32'>).data };
      case 'int64':
        return { dtype: 'int64', dims, data: (v as TypedTensor<'int64'>).data };
      case 'int32':
        return { dtype: 'int32', dims, data: (v as TypedTensor<'int32'>).data };
      case 'float64':
        return { dtype: 'float64', dims, data: (v as TypedTensor<'float64'>).data };
      case 'uint8':
        return { dtype: 'uint8', dims, data: (v as TypedTensor<'uint8'>).data };
      case 'bool':
        return { dtype: 'bool', dims, data: (v as TypedTensor<'bool'>).data };
      default:
        throw new Error(`output "${name}" has type ${v.type}, which relprop does not read`);
    }
  };
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds, fetches) {
      const f: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = toOrt(t);
      const res = fetches ? await s.run(f, fetches as string[]) : await s.run(f);
      const out: Record<string, TensorData> = {};
      for (const [k, v] of Object.entries(res)) out[k] = fromOrt(v, k);
      return out;
    },
    release: () => s.release(),
  };
}
