/**
 * Wrap an onnxruntime-common InferenceSession (from onnxruntime-node or -web) as a Session on
 * host tensors. Typed arrays are handed over without copying in either direction.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import type { DType, TensorData, TypedData } from './onnx/tensor.js';
import type { Session } from './runtime.js';

type TensorCtor = new (type: DType, data: TypedData, dims: readonly number[]) => Tensor;

/** The element types relprop's host tensors hold (TensorData's dtypes). */
const READ = new Set<string>(['float32', 'float64', 'int64', 'int32', 'uint8', 'bool'] satisfies DType[]);

export function sessionFrom(s: InferenceSession, TensorClass: unknown): Session {
  const T = TensorClass as TensorCtor;
  const fromOrt = (v: Tensor, name: string): TensorData => {
    if (!READ.has(v.type)) throw new Error(`output "${name}" has type ${v.type}, which relprop does not read`);
    return { dtype: v.type as DType, dims: [...v.dims], data: v.data as TypedData };
  };
  return {
    inputNames: s.inputNames,
    outputNames: s.outputNames,
    async run(feeds, fetches) {
      const f: Record<string, Tensor> = {};
      for (const [k, t] of Object.entries(feeds)) f[k] = new T(t.dtype, t.data, t.dims);
      const res = fetches ? await s.run(f, fetches as string[]) : await s.run(f);
      const out: Record<string, TensorData> = {};
      for (const [k, v] of Object.entries(res)) out[k] = fromOrt(v, k);
      return out;
    },
    release: () => s.release(),
  };
}
