/** The page's side of the explainer worker: requests as promises, progress as a callback. */
import type { ExplainerOptions } from '../../core/index.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { Backend, Explained, ModelInfo, Request, Response, TextExplained, TextOptions } from './protocol.js';

/** A request without its id (distributed over the union). */
type Call = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;

type Pending = { ok(v: unknown): void; fail(e: Error): void; progress?: (done: number, total: number) => void };

export class ExplainerWorker {
  private readonly worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  private readonly pending = new Map<number, Pending>();
  private next = 1;

  constructor() {
    this.worker.addEventListener('message', (ev: MessageEvent<Response>) => {
      const r = ev.data;
      const p = this.pending.get(r.id);
      if (!p) return;
      if (r.type === 'progress') return p.progress?.(r.done, r.total);
      this.pending.delete(r.id);
      if (r.type === 'ok') p.ok(r.value);
      else p.fail(new Error(r.message));
    });
    this.worker.addEventListener('error', (ev) => {
      for (const p of this.pending.values()) p.fail(new Error(`the explainer worker failed: ${ev.message}`));
      this.pending.clear();
    });
  }

  private call<T>(req: Call, transfer: Transferable[] = [], progress?: Pending['progress']): Promise<T> {
    const id = this.next++;
    return new Promise<T>((ok, fail) => {
      this.pending.set(id, { ok: ok as (v: unknown) => void, fail, progress });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  init(backend: Backend, threads: number): Promise<{ version: string }> {
    return this.call({ type: 'init', backend, threads });
  }

  /** Import and check the model in the worker (the bytes are copied: the page keeps its own). */
  load(name: string, bytes: Uint8Array, vocab?: string): Promise<ModelInfo> {
    return this.call({ type: 'load', name, bytes, vocab });
  }

  explainText(text: string, options: TextOptions, target: number | 'predicted'): Promise<TextExplained> {
    return this.call({ type: 'explainText', text, options, target });
  }

  explain(input: TensorData, options: ExplainerOptions, target: number | 'predicted', progress?: Pending['progress']): Promise<Explained> {
    return this.call({ type: 'explain', input, options, target }, [], progress);
  }

  compile(options: ExplainerOptions | TextOptions, dims?: number[]): Promise<Uint8Array> {
    return this.call({ type: 'compile', options, dims });
  }
}
