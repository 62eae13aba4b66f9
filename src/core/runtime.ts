/**
 * The runtime seam: the only way relprop's core runs a graph. A Runtime creates sessions from
 * model bytes; a Session runs feeds → fetches on relprop's host tensors. Implementations live at
 * the edges (src/node/runtime-node.ts on onnxruntime-node, src/web/runtime-web.ts on
 * onnxruntime-web); nothing in src/core imports a runtime package.
 */
import { encodeModel, encodeModelParts, type Graph } from './onnx/model.js';
import type { TensorData } from './onnx/tensor.js';

export interface SessionOptions {
  /** Threads ONNX Runtime may use inside one operator (0 or absent: its default, all cores). */
  threads?: number;
  /**
   * Graph optimisation level (default 'all'); shape probing runs unoptimised graphs. ONNX
   * Runtime's own values, spelled out so that relprop's declarations need no onnxruntime-common
   * types (whose declarations need the DOM library).
   */
  optimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Weights of hundreds of MB: a runtime may trade per-run allocation speed for a lower peak. */
  largeModel?: boolean;
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Run the graph; `fetches` limits the outputs computed (default: all). */
  run(feeds: Record<string, TensorData>, fetches?: readonly string[]): Promise<Record<string, TensorData>>;
  release(): Promise<void>;
}

export interface Runtime {
  /** 'onnxruntime-node', 'onnxruntime-web', … (shown in errors and benchmarks). */
  readonly name: string;
  createSession(model: Uint8Array, options?: SessionOptions): Promise<Session>;
  /**
   * Optional: a session from the model's encoded parts (encodeModelParts), for runtimes that can
   * read a model without it ever being one buffer (onnxruntime-node, through a temporary file).
   */
  createSessionFromParts?(parts: Uint8Array[], options?: SessionOptions): Promise<Session>;
}

let fallback: Runtime | undefined;

/**
 * The runtime used where an API call names none. The Node entry (`relprop`) sets
 * onnxruntime-node; `relprop/core` users pass `runtime` or call this once.
 */
export function setDefaultRuntime(runtime: Runtime): void {
  fallback = runtime;
}

export function resolveRuntime(runtime?: Runtime): Runtime {
  const r = runtime ?? fallback;
  if (!r) throw new Error('no ONNX runtime: pass `runtime` (e.g. nodeRuntime from "relprop", webRuntime from "relprop/web") or call setDefaultRuntime');
  return r;
}

/** Create a session, turning the runtime's failure into one clear line. */
export async function openSession(
  runtime: Runtime | undefined,
  model: Uint8Array,
  options: SessionOptions = {},
  what = 'the compiled graph',
): Promise<Session> {
  const r = resolveRuntime(runtime);
  try {
    return await r.createSession(model, options);
  } catch (e) {
    throw new Error(`ONNX Runtime cannot load ${what}: ${(e as Error).message}`);
  }
}

/** Graphs with at least this many bytes of initializers open as large models. */
const LARGE_MODEL_BYTES = 256 * 2 ** 20;

/**
 * A session on a graph. A large one (VGG-16's explainer) opens with `largeModel` and, on a runtime
 * that reads models in parts, is never one more copy of its weights in memory.
 */
export async function openGraphSession(
  runtime: Runtime | undefined,
  graph: Graph,
  name: string,
  options: SessionOptions = {},
  what = 'the compiled graph',
): Promise<Session> {
  const r = resolveRuntime(runtime);
  let bytes = 0;
  for (const t of graph.initializers.values()) bytes += t.data.byteLength;
  if (bytes < LARGE_MODEL_BYTES) return openSession(r, encodeModel(graph, name), options, what);
  const large = { ...options, largeModel: true };
  if (!r.createSessionFromParts) return openSession(r, encodeModel(graph, name), large, what);
  try {
    return await r.createSessionFromParts(encodeModelParts(graph, name), large);
  } catch (e) {
    throw new Error(`ONNX Runtime cannot load ${what}: ${(e as Error).message}`);
  }
}
