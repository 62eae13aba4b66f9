/**
 * The Explainer API: import a model once, compile an explainer graph per input shape, and explain
 * batches. Integrated gradients and SmoothGrad are driven from here (many gradient rows per
 * sample, one runtime call per chunk).
 */
import { importModel, type ImportedModel } from '../graph/import.js';
import { numel, type TensorData } from '../onnx/tensor.js';
import { BoxBoundsError, checkRuleParams, LINEAR_RULES, LRP_RULES, parseRuleObject, ruleName, type RuleParams } from '../rules/spec.js';
import { getComposite } from '../composites/index.js';
import { unknownNameError } from '../names.js';
import { compileExplainer, type CompiledExplainer, type LayerRecord } from './compile.js';
import { checkMethod, parseLrnRule, type Method } from './resolve.js';
import { openGraphSession, type Runtime, type Session } from '../runtime.js';
import { gaussian, rngFor } from '../math/rng.js';

export interface ExplainerOptions {
  method?: Method;
  composite?: string;
  /** One rule for every dense/conv layer (the standard treatment for the rest). */
  rule?: string;
  params?: RuleParams;
  /** Node name (or @first/@conv/@dense) → rule object, overriding the composite. */
  rules?: Record<string, unknown>;
  /**
   * LRP on LRN layers the mapping does not name: "identity", or {rule: "lrn-taylor", epsilon} /
   * {rule: "lrn-taylor", beta} (default: lrn-taylor with epsilon 1e-6).
   */
  lrn?: string | { rule: string; epsilon?: number; beta?: number };
  /** Integrated gradients: number of steps of the right Riemann sum (zero baseline). */
  steps?: number;
  /** SmoothGrad: samples, noise σ as a fraction of each input's value range, RNG seed. */
  samples?: number;
  noiseLevel?: number;
  seed?: number;
  /** Range of the raw input values (e.g. [0, 1] for pixels): sets the zB/box bounds of the first layer. */
  inputRange?: [number, number];
  /** Samples per runtime call. */
  batchSize?: number;
  threads?: number;
  /** Also return per-layer relevance sums (the conservation audit). */
  audit?: boolean;
  /** Also return the relevance at every layer's output (single-pass methods only). */
  layerRelevance?: boolean;
  /** Where the compiled graphs run (default: the registered default runtime; Node: onnxruntime-node). */
  runtime?: Runtime;
}

export type Target = number | number[] | 'predicted';

export interface AuditRow {
  name: string;
  op: string;
  rule: string;
  /** Per sample: relevance arriving at the layer's output, and what it passes to its inputs. */
  relevanceOut: number[];
  relevanceIn: number[];
}

export interface Explanation {
  logits: TensorData;
  /** Same shape as the input (per token for token ids). */
  relevance: TensorData;
  /** Token models: relevance per embedding dimension [N, L, D]. */
  relevanceEmbedding?: TensorData;
  targets: number[];
  predicted: number[];
  audit?: AuditRow[];
  /** Relevance at each layer's output, by layer name (with `layerRelevance`). */
  layers?: Record<string, TensorData>;
}

/** What explaining needs of a compiled graph: its runtime session and input/output names (not the graph itself). */
export type ExplainerMeta = Omit<CompiledExplainer, 'graph' | 'model'>;

interface Compiled {
  c: ExplainerMeta;
  session: Session;
}

export class Explainer {
  private readonly compiled = new Map<string, Promise<Compiled>>();
  readonly method: Method;

  protected constructor(
    readonly model: ImportedModel,
    readonly options: ExplainerOptions,
  ) {
    this.method = checkMethod(options.method ?? 'lrp');
    checkExplainerOptions(options);
  }

  /** Import a model (ONNX bytes). Nothing is compiled until the first input shape is known. */
  static async create(model: Uint8Array | ImportedModel, options: ExplainerOptions = {}): Promise<Explainer> {
    const ex = new this(model instanceof Uint8Array ? importModel(model) : model, options);
    // Compile eagerly when the input shape is fully static: configuration errors surface now.
    const shape = ex.model.inputShape;
    if (shape.length > 0 && shape.slice(1).every((d) => d !== null)) await ex.compiledFor([1, ...(shape.slice(1) as number[])]);
    return ex;
  }

  get isTokenModel(): boolean {
    return this.model.inputElemType === 7 || this.model.inputElemType === 6;
  }

  /**
   * Compile the explainer graph for an input shape (to save it, inspect it or run it elsewhere).
   * Not cached: `explain` keeps only the runtime session of its own compilation, since the graph
   * holds a second copy of every modified weight.
   */
  compile(inputShape: number[]): Promise<CompiledExplainer> {
    const o = this.options;
    return compileExplainer(this.model.graph, this.model.info, inputShape, {
      method: this.method,
      composite: o.composite,
      rule: o.rule,
      params: o.params,
      rules: o.rules,
      lrn: o.lrn,
      seed: 'target',
      scaleAttribution: this.method === 'integrated-gradients',
      audit: o.audit,
      layerRelevance: o.layerRelevance,
      inputRange: o.inputRange,
      runtime: o.runtime,
    });
  }

  /** The cached compilation behind `explain` for an input shape: names, layers, rules, warnings. */
  async info(inputShape: number[]): Promise<ExplainerMeta> {
    return (await this.compiledFor(inputShape)).c;
  }

  /**
   * The cached compilation and runtime session for an input shape, for callers that run the
   * explainer graph themselves (e.g. fetching only some outputs).
   */
  async compiledSession(inputShape: number[]): Promise<{ c: ExplainerMeta; session: Session }> {
    return this.compiledFor(inputShape);
  }

  private compiledFor(inputShape: number[]): Promise<Compiled> {
    const key = inputShape.slice(1).join('x');
    let p = this.compiled.get(key);
    if (!p) {
      p = (async () => {
        const c = await this.compile(inputShape);
        const session = await openGraphSession(this.options.runtime, c.graph, 'relprop-explainer', { threads: this.options.threads });
        const { graph: _graph, ...meta } = c; // the graph (and with it the encoded model) is let go
        void _graph;
        return { c: meta, session };
      })();
      this.compiled.set(key, p);
      p.catch(() => this.compiled.delete(key));
    }
    return p;
  }

  /** Check an input against the model's declared input; returns it as the dtype the model reads. */
  validateInput(input: TensorData): TensorData {
    const m = this.model;
    const want = m.inputShape;
    if (input.dims.length !== want.length) {
      throw new Error(`input has shape ${JSON.stringify(input.dims)} but the model expects rank ${want.length} (${fmtShape(want)})`);
    }
    want.forEach((d, i) => {
      if (i > 0 && d !== null && d !== input.dims[i]) throw new Error(`input has shape ${JSON.stringify(input.dims)} but the model expects ${fmtShape(want)}`);
    });
    if (input.dims[0] === 0) throw new Error('input holds no samples (batch size 0)');
    if (this.isTokenModel) {
      let ids: BigInt64Array;
      if (input.dtype === 'int64') ids = input.data as BigInt64Array;
      else if (input.dtype === 'int32') ids = BigInt64Array.from(input.data as Int32Array, (v) => BigInt(v));
      else throw new Error(`the model reads int64 token ids, but the input is ${input.dtype}`);
      return { dtype: 'int64', dims: input.dims, data: ids };
    }
    if (input.dtype !== 'float32' && input.dtype !== 'float64') throw new Error(`the model reads float32 values, but the input is ${input.dtype}`);
    const data = input.dtype === 'float32' ? (input.data as Float32Array) : Float32Array.from(input.data as Float64Array);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i]!)) throw new Error(`input holds ${Number.isNaN(data[i]!) ? 'NaN' : 'an infinite value'} at flat index ${i}`);
    }
    return { dtype: 'float32', dims: input.dims, data };
  }

  /** Explain a batch. `target`: one class for all, one per sample, or 'predicted'. */
  async explain(input: TensorData, opts: { target?: Target; onProgress?: (done: number, total: number) => void } = {}): Promise<Explanation> {
    const x = this.validateInput(input);
    if (this.method === 'smoothgrad' && x.dtype === 'int64')
      throw new Error('smoothgrad adds noise to float inputs; token ids have none (use gradient or integrated-gradients)');
    const N = x.dims[0]!;
    const { c, session } = await this.compiledFor(x.dims);
    if (c.vocabSize !== undefined) checkTokenIds(x.data as BigInt64Array, c.vocabSize);
    const targets = resolveTargets(opts.target ?? 'predicted', N, c.numClasses);
    const per = numel(x.dims.slice(1));
    const batch = this.options.batchSize ?? 32;
    // Relevance has the input's shape: per pixel, or per token for token ids.
    const relDims = x.dims;
    const out: Explanation = {
      logits: { dtype: 'float32', dims: [N, c.numClasses], data: new Float32Array(N * c.numClasses) },
      relevance: { dtype: 'float32', dims: [...relDims], data: new Float32Array(numel(relDims)) },
      targets: [],
      predicted: [],
    };
    const rows = this.method === 'integrated-gradients' ? (this.options.steps ?? 32) : this.method === 'smoothgrad' ? (this.options.samples ?? 16) : 1;
    if (this.options.layerRelevance && rows > 1) throw new Error(`layer relevances are available for single-pass methods, not ${this.method}`);
    const perLayer = new LayerResults(c.layers, rows);
    const chunk = Math.max(1, Math.floor(batch / rows));
    for (let s0 = 0; s0 < N; s0 += chunk) {
      const n = Math.min(chunk, N - s0);
      const res = await session.run(this.feedsFor(c, x, s0, n, rows, per, targets));
      this.readChunk(out, c, res, x, s0, n, rows);
      perLayer.add(res, n);
      opts.onProgress?.(s0 + n, N);
    }
    setPredictions(out, targets, c.numClasses);
    if (this.options.layerRelevance) out.layers = perLayer.relevances(N);
    if (this.options.audit) out.audit = perLayer.audit(N);
    return out;
  }

  /**
   * One chunk's logits and relevances into `out`, per sample. Integrated gradients and SmoothGrad
   * give `rows` rows per sample: their mean is the relevance (IG: times the input or embedding).
   */
  private readChunk(out: Explanation, c: ExplainerMeta, res: Record<string, TensorData>, x: TensorData, s0: number, n: number, rows: number) {
    const N = x.dims[0]!;
    const per = numel(x.dims.slice(1));
    const logits = res[c.logits]!.data as Float32Array;
    const rel = res[c.relevance]!;
    const K = c.numClasses;
    const relPer = numel(rel.dims.slice(1));
    const emb = c.relevanceEmbedding ? (res[c.relevanceEmbedding]!.data as Float32Array) : undefined;
    const embVal = c.attributionValue ? (res[c.attributionValue]!.data as Float32Array) : undefined;
    const embDims = c.relevanceEmbedding ? [N, ...res[c.relevanceEmbedding]!.dims.slice(1)] : undefined;
    const embPer = embDims ? numel(embDims.slice(1)) : 0;
    if (emb && !out.relevanceEmbedding) out.relevanceEmbedding = { dtype: 'float32', dims: embDims!, data: new Float32Array(numel(embDims!)) };
    for (let i = 0; i < n; i++) {
      const gi = s0 + i;
      // The logits of a sample: its unmodified row (the last IG step has alpha = 1; SmoothGrad: first row is noise-free).
      const logitRow = this.method === 'integrated-gradients' ? i * rows + rows - 1 : i * rows;
      (out.logits.data as Float32Array).set(logits.subarray(logitRow * K, logitRow * K + K), gi * K);
      if (rows === 1) {
        (out.relevance.data as Float32Array).set((rel.data as Float32Array).subarray(i * relPer, (i + 1) * relPer), gi * relPer);
        if (emb) (out.relevanceEmbedding!.data as Float32Array).set(emb.subarray(i * embPer, (i + 1) * embPer), gi * embPer);
        continue;
      }
      // Average the gradient rows of this sample; IG multiplies by the input (or embedding) after.
      const width = emb ? embPer : relPer;
      const mean = meanOfRows(emb ?? (rel.data as Float32Array), i, rows, width);
      if (this.method === 'integrated-gradients') {
        const value = emb
          ? embVal!.subarray((i * rows + rows - 1) * width, (i * rows + rows) * width)
          : (x.data as Float32Array).subarray(gi * per, (gi + 1) * per);
        for (let k = 0; k < width; k++) mean[k]! *= value[k]!;
      }
      if (emb) {
        (out.relevanceEmbedding!.data as Float32Array).set(mean, gi * width);
        const D = embDims![embDims!.length - 1]!;
        sumOverEmbedding(mean, D, out.relevance.data as Float32Array, gi * (width / D));
      } else (out.relevance.data as Float32Array).set(mean, gi * width);
    }
  }

  /** Feeds for samples s0 … s0+n−1, each repeated `rows` times (IG steps, SmoothGrad samples). */
  private feedsFor(c: ExplainerMeta, x: TensorData, s0: number, n: number, rows: number, per: number, targets: number[]) {
    const feeds: Record<string, TensorData> = {};
    const dims = [n * rows, ...x.dims.slice(1)];
    const data = x.dtype === 'int64' ? repeatRows(x.data as BigInt64Array, s0, n, rows, per) : this.noisyRows(x.data as Float32Array, s0, n, rows, per);
    feeds[c.input] = { dtype: x.dtype, dims, data };
    const t = new BigInt64Array(n * rows);
    for (let i = 0; i < n; i++) for (let r = 0; r < rows; r++) t[i * rows + r] = BigInt(targets[s0 + i]!);
    feeds[c.seedInput] = { dtype: 'int64', dims: [n * rows], data: t };
    if (c.alphaInput) {
      const a = new Float32Array(n * rows);
      for (let i = 0; i < n; i++) for (let r = 0; r < rows; r++) a[i * rows + r] = (r + 1) / rows;
      feeds[c.alphaInput] = { dtype: 'float32', dims: [n * rows], data: a };
    }
    return feeds;
  }

  /** Float samples repeated `rows` times; SmoothGrad adds noise to every row but the first. */
  private noisyRows(src: Float32Array, s0: number, n: number, rows: number, per: number): Float32Array {
    const d = new Float32Array(n * rows * per);
    for (let i = 0; i < n; i++) {
      const sample = src.subarray((s0 + i) * per, (s0 + i + 1) * per);
      let sigma = 0;
      // One noise stream per sample, keyed by its index: its explanation does not depend on the
      // rest of the batch nor on how the batch is chunked.
      const rng = rngFor(this.options.seed ?? 0, 'smoothgrad', s0 + i);
      if (this.method === 'smoothgrad') {
        let lo = Infinity;
        let hi = -Infinity;
        for (const v of sample) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        sigma = (this.options.noiseLevel ?? 0.1) * (hi - lo);
      }
      for (let r = 0; r < rows; r++) {
        const off = (i * rows + r) * per;
        d.set(sample, off);
        // SmoothGrad: row 0 stays noise-free so the logits are the sample's own.
        if (sigma > 0 && r > 0) for (let k = 0; k < per; k++) d[off + k]! += sigma * gaussian(rng);
      }
    }
    return d;
  }

  async release(): Promise<void> {
    for (const p of this.compiled.values()) await (await p.catch(() => null))?.session.release();
    this.compiled.clear();
  }
}

/** Token-id samples s0 … s0+n−1, each repeated `rows` times. */
function repeatRows(src: BigInt64Array, s0: number, n: number, rows: number, per: number): BigInt64Array {
  const d = new BigInt64Array(n * rows * per);
  for (let i = 0; i < n; i++) for (let r = 0; r < rows; r++) d.set(src.subarray((s0 + i) * per, (s0 + i + 1) * per), (i * rows + r) * per);
  return d;
}

/** Token ids must index the embedding table. */
function checkTokenIds(ids: BigInt64Array, vocabSize: number) {
  for (let i = 0; i < ids.length; i++)
    if (ids[i]! < 0n || ids[i]! >= BigInt(vocabSize)) throw new Error(`token id ${ids[i]} at flat index ${i} is outside the vocabulary [0, ${vocabSize})`);
}

/** Mean of sample i's `rows` consecutive rows of `width` values, in float64. */
function meanOfRows(src: Float32Array, i: number, rows: number, width: number): Float64Array {
  const mean = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    const off = (i * rows + r) * width;
    for (let k = 0; k < width; k++) mean[k]! += src[off + k]!;
  }
  for (let k = 0; k < width; k++) mean[k]! /= rows;
  return mean;
}

/** Per-token relevance: the sum of each token's D embedding dimensions, written to `dst` from `at`. */
function sumOverEmbedding(mean: Float64Array, D: number, dst: Float32Array, at: number) {
  for (let t = 0; t < mean.length / D; t++) {
    let sum = 0;
    for (let d = 0; d < D; d++) sum += mean[t * D + d]!;
    dst[at + t] = sum;
  }
}

/** Predicted classes from the logits, and the targets with "predicted" (−1) resolved. */
function setPredictions(out: Explanation, targets: number[], K: number) {
  const N = targets.length;
  for (let i = 0; i < N; i++) {
    const row = out.logits.data.subarray(i * K, i * K + K) as Float32Array;
    let best = 0;
    for (let k = 1; k < K; k++) if (row[k]! > row[best]!) best = k;
    out.predicted.push(best);
    out.targets.push(targets[i]! < 0 ? best : targets[i]!);
  }
}

/**
 * Per-layer outputs gathered chunk by chunk: audit sums (one per sample, read at its first row)
 * and relevance at each layer's output, assembled over the batch at the end.
 */
class LayerResults {
  private readonly parts = new Map<string, TensorData[]>();
  private readonly sumOut = new Map<string, number[]>();
  private readonly sumIn = new Map<string, number[]>();

  constructor(
    private readonly layers: LayerRecord[],
    private readonly rows: number,
  ) {}

  /** Take a chunk of `n` samples' results. */
  add(res: Record<string, TensorData>, n: number) {
    for (const l of this.layers) {
      if (l.relevanceOut) (this.parts.get(l.name) ?? this.parts.set(l.name, []).get(l.name)!).push(res[l.relevanceOut]!);
      if (l.auditOut) this.firstRows(this.sumOut, l.name, res[l.auditOut]!, n);
      if (l.auditIn) this.firstRows(this.sumIn, l.name, res[l.auditIn]!, n);
    }
  }

  private firstRows(into: Map<string, number[]>, name: string, t: TensorData, n: number) {
    const o = t.data as Float32Array;
    const a = into.get(name) ?? [];
    for (let i = 0; i < n; i++) a.push(o[i * this.rows]!);
    into.set(name, a);
  }

  /** Relevance at each layer's output over all N samples, by layer name. */
  relevances(N: number): Record<string, TensorData> {
    const layers: Record<string, TensorData> = {};
    for (const [name, parts] of this.parts) {
      const total = parts.reduce((a, p) => a + p.data.length, 0);
      const data = new Float32Array(total);
      let off = 0;
      for (const p of parts) {
        data.set(p.data as Float32Array, off);
        off += p.data.length;
      }
      layers[name] = { dtype: 'float32', dims: [N, ...parts[0]!.dims.slice(1)], data };
    }
    return layers;
  }

  /** The conservation audit: per audited layer, the relevance at its output and at its inputs. */
  audit(N: number): AuditRow[] {
    return this.layers
      .filter((l) => l.auditOut)
      .map((l) => ({
        name: l.name,
        op: l.op,
        rule: l.rule,
        relevanceOut: this.sumOut.get(l.name) ?? [],
        relevanceIn: this.sumIn.get(l.name) ?? new Array(N).fill(0),
      }));
  }
}

function fmtShape(s: (number | null)[]): string {
  return `[${s.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

/**
 * Check every option that can be checked without the model, so that a library user gets the
 * error at construction, not a silently wrong explanation: names, the domain of every rule
 * parameter, each rules-mapping entry, the input range and the counts.
 */
export function checkExplainerOptions(o: ExplainerOptions): void {
  checkMethod(o.method ?? 'lrp');
  if (o.composite !== undefined) getComposite(o.composite);
  if (o.rule !== undefined) {
    const r = ruleName(o.rule);
    if (!r) throw unknownNameError('rule', o.rule, LRP_RULES);
    if (!LINEAR_RULES.has(r)) throw new Error(`"${o.rule}" is not a rule for dense/conv layers (known: ${LRP_RULES.join(', ')})`);
  }
  checkRuleParams(o.params ?? {});
  if (o.lrn !== undefined) parseLrnRule(o.lrn);
  if (o.rules !== undefined) {
    if (!o.rules || typeof o.rules !== 'object' || Array.isArray(o.rules))
      throw new Error('rules must be an object from node name (or @first, @conv, @dense) to rule');
    for (const [k, v] of Object.entries(o.rules)) {
      try {
        parseRuleObject(v, `rules["${k}"]`, { low: o.params?.low, high: o.params?.high });
      } catch (e) {
        // Bounds may still come from the input range, carried through the model at compile time.
        if (!(e instanceof BoxBoundsError && o.inputRange)) throw e;
      }
    }
  }
  const r = o.inputRange;
  if (r !== undefined && !(Array.isArray(r) && r.length === 2 && r.every(Number.isFinite) && r[0] < r[1]))
    throw new Error(`the input range must be [low, high], finite, with low < high; got ${JSON.stringify(r)}`);
  const positiveInt = (v: number | undefined, what: string) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new Error(`${what} must be a positive integer, got ${v}`);
  };
  positiveInt(o.steps, 'steps');
  positiveInt(o.samples, 'samples');
  positiveInt(o.batchSize, 'batch size');
  positiveInt(o.threads, 'threads');
  if (o.noiseLevel !== undefined && !(Number.isFinite(o.noiseLevel) && o.noiseLevel >= 0))
    throw new Error(`noise level must be a finite number ≥ 0, got ${o.noiseLevel}`);
  if (o.seed !== undefined && !(Number.isSafeInteger(o.seed) && o.seed >= 0)) throw new Error(`seed must be an integer ≥ 0, got ${o.seed}`);
}

/** -1 means "predicted" inside the graph. */
export function resolveTargets(t: Target, N: number, K: number): number[] {
  if (t === 'predicted') return new Array(N).fill(-1);
  const list = typeof t === 'number' ? new Array(N).fill(t) : t;
  if (list.length === 1 && N > 1) return new Array(N).fill(list[0]);
  if (list.length !== N) throw new Error(`${list.length} targets given for ${N} samples`);
  for (const v of list) if (!Number.isInteger(v) || v < 0 || v >= K) throw new Error(`target ${v} is out of range: the model has ${K} classes (0..${K - 1})`);
  return list;
}
