/**
 * The runtime seam on onnxruntime-web (WebAssembly). Its wasm files are served from `wasmPaths`
 * (default: next to the page's bundle, as onnxruntime-web resolves them). In Node the package's
 * node build loads them from its own dist/ folder, without `wasmPaths` (test/runtime-web.test.ts).
 */
import * as ort from 'onnxruntime-web';
import type { Runtime, Session, SessionOptions } from '../core/runtime.js';
import { sessionFrom } from '../core/runtime-tensors.js';

export interface WebRuntimeOptions {
  /** Where onnxruntime-web finds its .wasm/.mjs files (a URL prefix). */
  wasmPaths?: string;
  /** WebAssembly threads (needs cross-origin isolation in a page); default 1. */
  numThreads?: number;
  /**
   * 'wasm' (default), or 'webgpu' where the browser has it: ONNX Runtime places the operators its
   * WebGPU backend has on the GPU and runs the rest on WebAssembly.
   */
  backend?: 'wasm' | 'webgpu';
}

export function webRuntime(options: WebRuntimeOptions = {}): Runtime {
  if (options.wasmPaths) ort.env.wasm.wasmPaths = options.wasmPaths;
  ort.env.wasm.numThreads = options.numThreads ?? 1;
  const providers = options.backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'];
  return {
    name: options.backend === 'webgpu' ? 'onnxruntime-web (WebGPU)' : 'onnxruntime-web',
    async createSession(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
      const s = await ort.InferenceSession.create(model, {
        executionProviders: providers,
        graphOptimizationLevel: opts.optimization ?? 'all',
        logSeverityLevel: 4,
      });
      return sessionFrom(s, ort.Tensor);
    },
  };
}
