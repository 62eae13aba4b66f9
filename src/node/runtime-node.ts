/**
 * The runtime seam on onnxruntime-node (native CPU kernels shipped in the npm package).
 * onnxruntime-node is an optional dependency: its install script downloads CUDA binaries on
 * linux/x64 and fails without network access, and npm then installs relprop without it. So it is
 * imported on first use, and importing relprop never fails for its absence (register.ts then
 * falls back to onnxruntime-web).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-common';
import type { Runtime, Session, SessionOptions } from '../core/runtime.js';
import { sessionFrom } from '../core/runtime-tensors.js';

/**
 * The command that adds the native runtime where npm left it out: the flag skips the CUDA download
 * for this install, and as an optional dependency a later install without the flag cannot fail on it.
 */
export const INSTALL_NATIVE = 'npm install --save-optional onnxruntime-node --onnxruntime-node-install=skip';

interface OrtNode {
  InferenceSession: { create(model: Uint8Array | string, options: InferenceSession.SessionOptions): Promise<InferenceSession> };
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

const sessionOptions = (opts: SessionOptions): InferenceSession.SessionOptions => ({
  intraOpNumThreads: opts.threads ?? 0,
  interOpNumThreads: 1,
  graphOptimizationLevel: opts.optimization ?? 'all',
  // Large models: no arena (it keeps its high-water mark) and no prepacked weight copies (a
  // weight the explainer also reads unpacked would be held twice).
  ...(opts.largeModel ? { enableCpuMemArena: false, extra: { session: { disable_prepacking: '1' } } } : {}),
  logSeverityLevel: 4, // relprop reports errors itself, as one line; ORT warnings are noise to users
});

export const nodeRuntime: Runtime = {
  name: 'onnxruntime-node',
  async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const ort = await load();
    const s = await ort.InferenceSession.create(model, sessionOptions(opts));
    return sessionFrom(s, ort.Tensor);
  },
  /** Parts written one after the other to a private temporary file that ONNX Runtime reads, then removed. */
  async createSessionFromParts(parts: Uint8Array[], opts: SessionOptions = {}): Promise<Session> {
    const ort = await load();
    const dir = mkdtempSync(join(tmpdir(), 'relprop-session-'));
    const file = join(dir, 'model.onnx');
    try {
      const fd = openSync(file, 'w', 0o600);
      try {
        for (const p of parts) for (let at = 0; at < p.length; ) at += writeSync(fd, p, at);
      } finally {
        closeSync(fd);
      }
      const s = await ort.InferenceSession.create(file, sessionOptions(opts));
      return sessionFrom(s, ort.Tensor);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
