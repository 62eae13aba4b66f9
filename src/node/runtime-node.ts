/** The runtime seam on onnxruntime-node (native CPU kernels shipped in the npm package). */
import ort from 'onnxruntime-node';
import type { Runtime, Session, SessionOptions } from '../core/runtime.js';
import { sessionFrom } from '../core/runtime-tensors.js';

export const nodeRuntime: Runtime = {
  name: 'onnxruntime-node',
  async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: 4, // relprop reports errors itself, as one line; ORT warnings are noise to users
    });
    return sessionFrom(s, ort.Tensor);
  },
};
