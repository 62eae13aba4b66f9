/**
 * The training loop: shuffled mini-batches through the compiled training-step graph, metrics,
 * validation, learning-rate schedules, early stopping, checkpoints and resume.
 */
import { decodeModel, encodeModel } from '../onnx/model.js';
import { numel, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { rngFor } from '../math/rng.js';
import { buildGraph, initParams, type BuiltGraph, type LossSpec, type OptimizerSpec } from './graph.js';
import { nchwcBlockSize } from './nchwc.js';
import { sequenceMargin, type ModelSpec } from './spec.js';

export interface Dataset {
  /** Inputs, first axis = samples: float32, or int64 token ids. */
  x: TensorData;
  /** Class labels (int64 [N]) or regression targets (float32 [N, K]). */
  y: TensorData;
  /** Multi-task: 1 where the target is present, 0 where it is missing (float32 [N, K]). */
  mask?: TensorData;
  /** Token ids: tokens per row before the padding; batches are then cut to their longest row. */
  lengths?: Int32Array;
}

export interface Schedule {
  kind: 'constant' | 'step' | 'cosine';
  /** step: multiply by `gamma` every `every` epochs. */
  every?: number;
  gamma?: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer?: OptimizerSpec;
  loss?: LossSpec;
  schedule?: Schedule;
  seed?: number;
  threads?: number;
  /** Stop when the validation metric has not improved for this many epochs (keeps the best weights). */
  patience?: number;
  /** Where checkpoints go (one per epoch, atomically replaced; Node: folderCheckpoints(dir)). */
  checkpoints?: CheckpointStore;
  /** Where the training graphs run (default: the registered default runtime). */
  runtime?: Runtime;
  /** Use ONNX Runtime's blocked (NCHWc) convolutions where the runtime has them (default true). */
  blockedLayout?: boolean;
  resume?: boolean;
  /** Layer names whose parameters stay fixed (transfer learning: train a new head). */
  freeze?: string[];
  onStep?: (s: { epoch: number; step: number; steps: number; loss: number; accuracy?: number; seconds: number }) => void;
  onEpoch?: (e: EpochRecord) => void;
}

export interface EpochRecord {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  valMae?: number;
  seconds: number;
}

export interface EvalResult {
  loss: number;
  accuracy?: number;
  mae?: number;
  logits: Float32Array;
}

const CKPT = 'checkpoint.json';

export class Trainer {
  params: Map<string, TensorData>;
  readonly history: EpochRecord[] = [];
  private state = new Map<string, TensorData>();
  private step = 0;
  private startEpoch = 0;
  private best: { metric: number; epoch: number; params: Map<string, TensorData> } | null = null;
  /** Trailing paddings token batches keep (sequenceMargin of the spec), computed once. */
  private margin?: number;

  constructor(
    readonly spec: ModelSpec,
    readonly opts: TrainOptions,
    initial?: Map<string, TensorData>,
  ) {
    this.params = initial ?? initParams(spec, opts.seed ?? 0);
    if (!(opts.epochs >= 1 && Number.isInteger(opts.epochs))) throw new Error(`epochs must be a positive integer, got ${opts.epochs}`);
    if (!(opts.batchSize >= 1 && Number.isInteger(opts.batchSize))) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (!(opts.lr > 0 && Number.isFinite(opts.lr))) throw new Error(`learning rate must be a positive number, got ${opts.lr}`);
  }

  private get loss(): LossSpec {
    return this.opts.loss ?? { kind: 'cross-entropy' };
  }

  private lrAt(epoch: number): number {
    const s = this.opts.schedule ?? { kind: 'constant' };
    if (s.kind === 'step') return this.opts.lr * (s.gamma ?? 0.1) ** Math.floor(epoch / (s.every ?? 10));
    if (s.kind === 'cosine') return this.opts.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / this.opts.epochs));
    return this.opts.lr;
  }

  /** Parameters of an ONNX model (e.g. one relprop trained), by initializer name. */
  static paramsFromOnnx(bytes: Uint8Array): Map<string, TensorData> {
    return new Map([...decodeModel(bytes).initializers].filter(([, t]) => t.dtype === 'float32'));
  }

  /** Start from another model's weights where names and shapes agree; returns what was loaded and what was not. */
  loadMatching(source: Map<string, TensorData>): { loaded: string[]; fresh: string[] } {
    const loaded: string[] = [];
    const fresh: string[] = [];
    for (const [name, t] of this.params) {
      const s = source.get(name);
      if (s && s.dims.join() === t.dims.join()) {
        this.params.set(name, s);
        loaded.push(name);
      } else fresh.push(name);
    }
    return { loaded, fresh };
  }

  /** Check a data set against the spec before any work. */
  checkData(d: Dataset, what: string) {
    const want = this.spec.input.shape;
    const N = d.x.dims[0]!;
    if (N === 0) throw new Error(`${what} is empty`);
    if (d.x.dims.length !== want.length + 1 || want.some((w, i) => w !== null && w !== d.x.dims[i + 1])) {
      throw new Error(`${what} inputs have shape ${JSON.stringify(d.x.dims)}, the model expects [N, ${want.map((w) => w ?? '?').join(', ')}]`);
    }
    if (d.y.dims[0] !== N) throw new Error(`${what} has ${N} inputs but ${d.y.dims[0]} labels`);
    const isInt = this.spec.input.dtype === 'int64';
    if (isInt !== (d.x.dtype === 'int64')) throw new Error(`${what} inputs are ${d.x.dtype}, the model reads ${isInt ? 'int64 token ids' : 'float32'}`);
    if (this.loss.kind === 'cross-entropy') {
      if (d.y.dtype !== 'int64' || d.y.dims.length !== 1) throw new Error(`${what}: cross-entropy needs int64 class labels [N]`);
      const K = this.numOutputs();
      for (const v of d.y.data as BigInt64Array) if (v < 0n || v >= BigInt(K)) throw new Error(`${what}: label ${v} is outside the model's ${K} classes`);
    } else if (d.y.dtype !== 'float32' || d.y.dims.length !== 2) throw new Error(`${what}: ${this.loss.kind} needs float32 targets [N, outputs]`);
    if (!isInt) for (const v of d.x.data as Float32Array) if (!Number.isFinite(v)) throw new Error(`${what} inputs hold NaN or infinite values`);
  }

  numOutputs(): number {
    return buildGraph(this.spec, 'infer', { shapesOnly: true }).outputShape[0] as number;
  }

  private session(b: BuiltGraph): Promise<Session> {
    return openSession(this.opts.runtime, encodeModel(b.graph, 'relprop-train'), { threads: this.opts.threads }, 'the training graph');
  }

  private async blockSize(): Promise<number> {
    return this.opts.blockedLayout === false ? 0 : nchwcBlockSize(this.opts.runtime);
  }

  /** Train; returns the per-epoch history. Resumes from the checkpoint folder when asked. */
  async fit(train: Dataset, val?: Dataset): Promise<EpochRecord[]> {
    this.checkData(train, 'training data');
    if (val) this.checkData(val, 'validation data');
    const opt = this.opts.optimizer ?? { kind: 'adam' };
    const layers = new Set(buildGraph(this.spec, 'infer', { shapesOnly: true }).params.map((p) => p.layer));
    for (const f of this.opts.freeze ?? []) if (!layers.has(f)) throw new Error(`cannot freeze "${f}": the model has no layer with parameters of that name (layers: ${[...layers].join(', ')})`);
    const built = buildGraph(this.spec, 'train', { loss: this.loss, optimizer: opt, dropoutSeed: (this.opts.seed ?? 0) + 1, frozen: this.opts.freeze, values: this.params, nchwcBlock: await this.blockSize(), threads: this.opts.threads });
    const session = await this.session(built);
    for (const s of built.states!) if (!this.state.has(s.name)) this.state.set(s.name, { dtype: 'float32', dims: s.dims, data: new Float32Array(numel(s.dims)) });
    if (this.opts.resume && this.opts.checkpoints) await this.loadCheckpoint(this.opts.checkpoints, built.states!);
    const N = train.x.dims[0]!;
    const B = Math.min(this.opts.batchSize, N);
    const per = numel(train.x.dims.slice(1));
    const yPer = numel(train.y.dims.slice(1));
    const isCE = this.loss.kind === 'cross-entropy';
    const K = this.numOutputs();
    let patienceLeft = this.opts.patience ?? Infinity;
    for (let epoch = this.startEpoch; epoch < this.opts.epochs; epoch++) {
      const t0 = performance.now();
      const lr = this.lrAt(epoch);
      const batches = this.batchesOf(train, B, rngFor(this.opts.seed ?? 0, 'shuffle', epoch));
      const steps = batches.length;
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let s = 0; s < steps; s++) {
        const idx = batches[s]!;
        const n = idx.length;
        const feeds: Record<string, TensorData> = {};
        feeds[built.input] = gatherRows(train.x, idx, per, this.cutLength(train, idx));
        feeds[built.labels!] = gatherRows(train.y, idx, yPer);
        if (built.mask) {
          if (!train.mask) throw new Error(`${this.loss.kind} needs a mask of present targets`);
          feeds[built.mask] = gatherRows(train.mask, idx, yPer);
        }
        this.step++;
        const b1 = opt.beta1 ?? 0.9;
        const b2 = opt.beta2 ?? 0.999;
        const stepLr = opt.kind === 'adam' ? (lr * Math.sqrt(1 - b2 ** this.step)) / (1 - b1 ** this.step) : lr;
        feeds[built.lr!] = { dtype: 'float32', dims: [], data: new Float32Array([stepLr]) };
        if (built.graph.inputs.some((i) => i.name === 'lr_wd')) feeds.lr_wd = { dtype: 'float32', dims: [], data: new Float32Array([lr]) };
        for (const p of built.params) if (!p.frozen) feeds[p.name] = this.params.get(p.name)!;
        for (const st of built.states!) feeds[st.name] = this.state.get(st.name)!;
        const out = await session.run(feeds);
        const loss = (out[built.loss!]!.data as Float32Array)[0]!;
        if (!Number.isFinite(loss)) {
          throw new Error(`the loss became ${loss} at epoch ${epoch + 1}, step ${s + 1}; stopping (lower the learning rate). The last checkpoint${this.opts.checkpoints ? ` in ${this.opts.checkpoints.where}` : ''} is kept`);
        }
        for (const p of built.params) if (!p.frozen) this.params.set(p.name, out[built.updated!.get(p.name)!]!);
        for (const st of built.states!) this.state.set(st.name, out[built.updated!.get(st.name)!]!);
        lossSum += loss * n;
        seen += n;
        if (isCE) correct += countCorrect(out[built.output]!.data as Float32Array, train.y.data as BigInt64Array, idx, K);
        this.opts.onStep?.({ epoch, step: s + 1, steps, loss: lossSum / seen, accuracy: isCE ? correct / seen : undefined, seconds: (performance.now() - t0) / 1000 });
      }
      const rec: EpochRecord = { epoch: epoch + 1, lr, trainLoss: lossSum / seen, trainAccuracy: isCE ? correct / seen : undefined, seconds: 0 };
      if (val) {
        const v = await this.evaluate(val);
        rec.valLoss = v.loss;
        rec.valAccuracy = v.accuracy;
        rec.valMae = v.mae;
      }
      rec.seconds = (performance.now() - t0) / 1000;
      this.history.push(rec);
      // Early stopping on the validation loss: keep the best weights.
      const metric = rec.valLoss ?? rec.trainLoss;
      if (!this.best || metric < this.best.metric) {
        this.best = { metric, epoch: epoch + 1, params: new Map(this.params) };
        patienceLeft = this.opts.patience ?? Infinity;
      } else patienceLeft--;
      this.startEpoch = epoch + 1;
      if (this.opts.checkpoints) await this.saveCheckpoint(this.opts.checkpoints);
      this.opts.onEpoch?.(rec);
      if (patienceLeft <= 0) break;
    }
    await session.release();
    if (this.opts.patience !== undefined && this.best) this.params = new Map(this.best.params);
    return this.history;
  }

  /** Does this data set hold token rows that may be cut to each batch's longest row? */
  private cuts(d: Dataset): d is Dataset & { lengths: Int32Array } {
    return !!d.lengths && d.x.dtype === 'int64' && d.x.dims.length === 2 && this.spec.input.shape.length === 1 && this.spec.input.shape[0] === null;
  }

  /** Row length for a batch of token rows: its longest row plus the model's margin of paddings. */
  private cutLength(d: Dataset, idx: Int32Array): number | undefined {
    if (!this.cuts(d)) return undefined;
    let longest = 1;
    for (const r of idx) longest = Math.max(longest, d.lengths[r]!);
    this.margin ??= sequenceMargin(this.spec.layers);
    return Math.min(d.x.dims[1]!, longest + this.margin);
  }

  /**
   * Mini-batches as row indices. Shuffled when `rng` is given. Token rows go in length buckets
   * (sorted within windows of 32 batches, then the batches shuffled), so little time is spent on
   * padding; the result is exact for max-over-time models (see sequenceMargin).
   */
  private batchesOf(d: Dataset, B: number, rng?: () => number): Int32Array[] {
    const N = d.x.dims[0]!;
    const order = rng ? shuffled(N, rng) : Int32Array.from({ length: N }, (_, i) => i);
    if (this.cuts(d)) {
      const len = d.lengths;
      const W = rng ? B * 32 : N;
      for (let s = 0; s < N; s += W) order.subarray(s, Math.min(s + W, N)).sort((a, b) => len[a]! - len[b]! || a - b);
    }
    const batches: Int32Array[] = [];
    for (let s = 0; s < N; s += B) batches.push(order.slice(s, Math.min(s + B, N)));
    if (rng && this.cuts(d)) {
      for (let i = batches.length - 1; i > 0; i--) {
        const j = Math.floor(rng() * (i + 1));
        [batches[i], batches[j]] = [batches[j]!, batches[i]!];
      }
    }
    return batches;
  }

  /** Loss, accuracy (classes) or mean absolute error (regression) of the current weights. */
  async evaluate(d: Dataset, batchSize = 256): Promise<EvalResult> {
    this.checkData(d, 'evaluation data');
    const built = buildGraph(this.spec, 'eval', { nchwcBlock: await this.blockSize() });
    const session = await this.session(built);
    const N = d.x.dims[0]!;
    const per = numel(d.x.dims.slice(1));
    const K = this.numOutputs();
    const logits = new Float32Array(N * K);
    for (const idx of this.batchesOf(d, batchSize)) {
      const feeds: Record<string, TensorData> = { [built.input]: gatherRows(d.x, idx, per, this.cutLength(d, idx)) };
      for (const p of built.params) feeds[p.name] = this.params.get(p.name)!;
      const out = await session.run(feeds);
      const z = out[built.output]!.data as Float32Array;
      idx.forEach((r, i) => logits.set(z.subarray(i * K, (i + 1) * K), r * K));
    }
    await session.release();
    return scoreLogits(logits, d, K, this.loss);
  }

  /** The trained model as a plain inference ONNX file (dropout gone, batch norm in inference form). */
  inferenceModel(): Uint8Array {
    return encodeModel(buildGraph(this.spec, 'infer', { values: this.params }).graph, 'relprop-model');
  }

  async saveCheckpoint(store: CheckpointStore) {
    const tensors = [...this.params, ...this.state];
    const index: { name: string; dims: number[]; offset: number }[] = [];
    let total = 0;
    for (const [name, t] of tensors) {
      index.push({ name, dims: t.dims, offset: total });
      total += t.data.length;
    }
    const blob = new Float32Array(total);
    for (const [k, [, t]] of tensors.entries()) blob.set(t.data as Float32Array, index[k]!.offset);
    // The data file first, then the JSON that points at it: a crash leaves the previous pair intact.
    const dataFile = `checkpoint-${this.startEpoch}.bin`;
    await store.write(dataFile, new Uint8Array(blob.buffer));
    await store.write(CKPT, new TextEncoder().encode(JSON.stringify({ epoch: this.startEpoch, step: this.step, dataFile, index, history: this.history, best: this.best ? { metric: this.best.metric, epoch: this.best.epoch } : null }, null, 1)));
  }

  async loadCheckpoint(store: CheckpointStore, states: NonNullable<BuiltGraph['states']>) {
    const dir = store.where;
    const json = await store.read(CKPT);
    if (!json) return;
    const meta = JSON.parse(new TextDecoder().decode(json)) as { epoch: number; step: number; dataFile: string; index: { name: string; dims: number[]; offset: number }[]; history: EpochRecord[] };
    const bytes = await store.read(meta.dataFile);
    if (!bytes) throw new Error(`the checkpoint in ${dir} names ${meta.dataFile}, which is missing`);
    const blob = new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer);
    const saved = new Map<string, TensorData>();
    for (const e of meta.index) {
      const t: TensorData = { dtype: 'float32', dims: e.dims, data: blob.slice(e.offset, e.offset + numel(e.dims)) };
      if (this.params.has(e.name)) this.params.set(e.name, t);
      else saved.set(e.name, t);
    }
    for (const st of states) {
      let t = saved.get(st.name);
      // Checkpoints written before the optimizer state became one flat vector per slot keep it
      // per parameter ("<param>.<slot>"), in the same order.
      const parts = st.params.map((p) => saved.get(`${p}.${st.slot}`));
      if (!t && parts.every((x) => x !== undefined) && parts.reduce((a, x) => a + x!.data.length, 0) === numel(st.dims)) {
        const data = new Float32Array(numel(st.dims));
        let at = 0;
        for (const x of parts) {
          data.set(x!.data as Float32Array, at);
          at += x!.data.length;
        }
        t = { dtype: 'float32', dims: st.dims, data };
      }
      if (!t || numel(t.dims) !== numel(st.dims)) throw new Error(`the checkpoint in ${dir} has no optimizer state "${st.name}" for this model and optimizer; it cannot be resumed (start without --resume, or use the same model and optimizer)`);
      this.state.set(st.name, t);
    }
    this.startEpoch = meta.epoch;
    this.step = meta.step;
    this.history.splice(0, this.history.length, ...meta.history);
  }
}

function shuffled(n: number, rng: () => number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Rows `idx` of t as one tensor; `cut`: keep only the first `cut` entries of each (token) row. */
function gatherRows(t: TensorData, idx: Int32Array, per: number, cut?: number): TensorData {
  const dims = [idx.length, ...t.dims.slice(1)];
  if (t.dtype === 'int64') {
    const src = t.data as BigInt64Array;
    const w = cut ?? per;
    const out = new BigInt64Array(idx.length * w);
    idx.forEach((r, i) => out.set(src.subarray(r * per, r * per + w), i * w));
    return { dtype: 'int64', dims: cut === undefined ? dims : [idx.length, w], data: out };
  }
  const src = t.data as Float32Array;
  const out = new Float32Array(idx.length * per);
  idx.forEach((r, i) => out.set(src.subarray(r * per, (r + 1) * per), i * per));
  return { dtype: 'float32', dims, data: out };
}


function countCorrect(logits: Float32Array, labels: BigInt64Array, idx: Int32Array, K: number): number {
  let c = 0;
  idx.forEach((r, i) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
    if (BigInt(best) === labels[r]) c++;
  });
  return c;
}

export function scoreLogits(logits: Float32Array, d: Dataset, K: number, loss: LossSpec): EvalResult {
  const N = d.x.dims[0]!;
  if (loss.kind === 'cross-entropy') {
    const labels = d.y.data as BigInt64Array;
    let l = 0;
    let correct = 0;
    for (let i = 0; i < N; i++) {
      const row = logits.subarray(i * K, (i + 1) * K);
      let m = -Infinity;
      let best = 0;
      for (let k = 0; k < K; k++) if (row[k]! > m) { m = row[k]!; best = k; }
      let se = 0;
      for (let k = 0; k < K; k++) se += Math.exp(row[k]! - m);
      l += m + Math.log(se) - row[Number(labels[i])]!;
      if (BigInt(best) === labels[i]) correct++;
    }
    return { loss: l / N, accuracy: correct / N, logits };
  }
  const y = d.y.data as Float32Array;
  const mask = d.mask?.data as Float32Array | undefined;
  let se = 0;
  let ae = 0;
  let n = 0;
  for (let i = 0; i < N * K; i++) {
    if (mask && !mask[i]) continue;
    const e = logits[i]! - y[i]!;
    se += e * e;
    ae += Math.abs(e);
    n++;
  }
  return { loss: loss.kind.endsWith('mae') ? ae / Math.max(n, 1) : se / Math.max(n, 1), mae: ae / Math.max(n, 1), logits };
}
