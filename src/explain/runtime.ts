/** A thin layer over onnxruntime-node sessions. */
import ort from 'onnxruntime-node';
import type { TensorData } from '../onnx/tensor.js';

export interface RuntimeOptions {
  /** Threads ONNX Runtime may use inside one operator (0: its default, all cores). */
  threads?: number;
}

export async function createSession(model: Uint8Array, opts: RuntimeOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(model, {
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      logSeverityLevel: 4, // relprop reports errors itself, as one line; ORT warnings are noise to users
    });
  } catch (e) {
    throw new Error(`ONNX Runtime cannot load the compiled graph: ${(e as Error).message}`);
  }
}

export function toOrt(t: TensorData): ort.Tensor {
  if (t.dtype === 'float32') return new ort.Tensor('float32', t.data as Float32Array, t.dims);
  if (t.dtype === 'int64') return new ort.Tensor('int64', t.data as BigInt64Array, t.dims);
  throw new Error(`cannot feed a ${t.dtype} tensor`);
}

export function fromOrt(v: ort.Tensor): TensorData {
  if (v.type === 'float32') return { dtype: 'float32', dims: [...v.dims], data: v.data as Float32Array };
  if (v.type === 'int64') return { dtype: 'int64', dims: [...v.dims], data: v.data as BigInt64Array };
  throw new Error(`unexpected ${v.type} output`);
}
