/**
 * The runtime seam on onnxruntime-node (native CPU kernels shipped in the npm package).
 * onnxruntime-node is an optional dependency: its install script downloads CUDA binaries on
 * linux/x64 and fails without network access, and npm then installs relprop without it. So it is
 * imported on first use, and importing relprop never fails for its absence (register.ts then
 * falls back to onnxruntime-web).
 */
import type { InferenceSession } from 'onnxruntime-common';
import type { Runtime, Session, SessionOptions } from '../core/runtime.js';
import { sessionFrom } from '../core/runtime-tensors.js';

/**
 * The command that adds the native runtime where npm left it out: the flag skips the CUDA download
 * for this install, and as an optional dependency a later install without the flag cannot fail on it.
 */
export const INSTALL_NATIVE = 'npm install --save-optional onnxruntime-node --onnxruntime-node-install=skip';

interface OrtNode {
  InferenceSession: { create(model: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: unknown;
  env: { versions: { common: string } };
}

let loading: Promise<OrtNode> | undefined;

function load(): Promise<OrtNode> {
  loading ??= import('onnxruntime-node').then(
    (m) => m.default as unknown as OrtNode,
    (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ERR_MODULE_NOT_FOUND' ? 'is not installed' : `cannot be loaded (${e.message.split('\n')[0]})`;
      throw new Error(`onnxruntime-node ${why}; install it with: ${INSTALL_NATIVE}`);
    },
  );
  return loading;
}

/** Resolves once onnxruntime-node is loaded; otherwise an error says why and how to install it. */
export async function loadOnnxruntimeNode(): Promise<void> {
  await load();
}

export const nodeRuntime: Runtime = {
  name: 'onnxruntime-node',
  async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const ort = await load();
    const s = await ort.InferenceSession.create(model, {
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: opts.optimization ?? 'all',
      logSeverityLevel: 4, // relprop reports errors itself, as one line; ORT warnings are noise to users
    });
    return sessionFrom(s, ort.Tensor);
  },
};
