/**
 * The training loop: shuffled mini-batches through the compiled training-step graph, metrics,
 * validation, learning-rate schedules, early stopping, checkpoints and resume. Batching is
 * batches.ts, the checkpoint format checkpoint.ts.
 */
import { decodeModel, encodeModel } from '../onnx/model.js';
import { numel, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { Batching, gatherRows, type Dataset } from './batches.js';
import { chainSteps } from './chain.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { CheckpointStore } from './checkpoint-store.js';
import { rngFor } from '../math/rng.js';
import { buildGraph, initParams, type BuiltGraph, type LossSpec, type OptimizerSpec } from './graph.js';
import { nchwcBlockSize } from './nchwc.js';
import type { ModelSpec } from './spec.js';

export type { Dataset };

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
  /**
   * Fresh inputs for the rows `idx` at each training step, instead of those rows of the data set's x
   * (data augmentation: e.g. a new random Coulomb matrix every time a molecule is presented).
   * Must return the model's input shape for idx.length rows; x still gives the shapes checked.
   * The trainer is done with the returned data before it calls the hook again, so the hook may
   * reuse one buffer.
   */
  augment?: (idx: Int32Array, epoch: number, step: number) => TensorData;
  /**
   * Training steps per session run (default 1): runs of this many full batches go through one
   * graph that chains the steps (chain.ts), the rest of an epoch through single steps. The same
   * updates as single steps, with less host work per step; larger models gain less.
   */
  stepsPerRun?: number;
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

/** What one training run needs at every step: the compiled step graph, its session, and the data's layout. */
interface StepGraph {
  built: BuiltGraph;
  session: Session;
  opt: OptimizerSpec;
  /** Values per label row. */
  yPer: number;
  isCE: boolean;
  K: number;
  /** The chained graph's session (stepsPerRun > 1), opened on first use. */
  chained?: {
    session: Session;
    steps: number;
    batch: number;
    data: Map<string, string[]>;
    updated: Map<string, string>;
    losses: string;
    outputs: string;
    /** A copy of step j's input in a buffer the run keeps (reused by later runs). */
    own: (j: number, t: TensorData) => TensorData;
  };
}

export class Trainer {
  params: Map<string, TensorData>;
  readonly history: EpochRecord[] = [];
  private state = new Map<string, TensorData>();
  private step = 0;
  private startEpoch = 0;
  private best: { metric: number; epoch: number; params: Map<string, TensorData> } | null = null;
  private readonly batching: Batching;

  constructor(
    readonly spec: ModelSpec,
    readonly opts: TrainOptions,
    initial?: Map<string, TensorData>,
  ) {
    this.params = initial ?? initParams(spec, opts.seed ?? 0);
    this.batching = new Batching(spec);
    if (!(opts.epochs >= 1 && Number.isInteger(opts.epochs))) throw new Error(`epochs must be a positive integer, got ${opts.epochs}`);
    if (!(opts.batchSize >= 1 && Number.isInteger(opts.batchSize))) throw new Error(`batch size must be a positive integer, got ${opts.batchSize}`);
    if (!(opts.lr > 0 && Number.isFinite(opts.lr))) throw new Error(`learning rate must be a positive number, got ${opts.lr}`);
    const k = opts.stepsPerRun ?? 1;
    if (!(k >= 1 && Number.isInteger(k))) throw new Error(`steps per run must be a positive integer, got ${k}`);
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
    const run = await this.openStepGraph(train);
    // The session is released however the loop ends (a non-finite loss, a bad mask, a failed checkpoint).
    try {
      if (this.opts.resume && this.opts.checkpoints) await this.loadCheckpoint(this.opts.checkpoints, run.built.states!);
      // Epochs without improvement count from the best epoch, so a resumed run stops where an uninterrupted one would.
      let patienceLeft = (this.opts.patience ?? Infinity) - (this.best ? this.startEpoch - this.best.epoch : 0);
      for (let epoch = this.startEpoch; epoch < this.opts.epochs && patienceLeft > 0; epoch++) {
        const t0 = performance.now();
        const rec = await this.trainEpoch(run, train, epoch, t0);
        if (val) {
          const v = await this.evaluate(val);
          rec.valLoss = v.loss;
          rec.valAccuracy = v.accuracy;
          rec.valMae = v.mae;
        }
        rec.seconds = (performance.now() - t0) / 1000;
        this.history.push(rec);
        patienceLeft = this.keepBest(rec) ? (this.opts.patience ?? Infinity) : patienceLeft - 1;
        this.startEpoch = epoch + 1;
        if (this.opts.checkpoints) await this.saveCheckpoint(this.opts.checkpoints);
        this.opts.onEpoch?.(rec);
      }
    } finally {
      await run.session.release();
      await run.chained?.session.release();
    }
    if (this.opts.patience !== undefined && this.best) this.params = new Map(this.best.params);
    return this.history;
  }

  /** Check the frozen layers, build the training-step graph and open its session; zero optimizer state where there is none. */
  private async openStepGraph(train: Dataset): Promise<StepGraph> {
    const opt = this.opts.optimizer ?? { kind: 'adam' };
    const layers = new Set(buildGraph(this.spec, 'infer', { shapesOnly: true }).params.map((p) => p.layer));
    for (const f of this.opts.freeze ?? [])
      if (!layers.has(f)) throw new Error(`cannot freeze "${f}": the model has no layer with parameters of that name (layers: ${[...layers].join(', ')})`);
    const built = buildGraph(this.spec, 'train', {
      loss: this.loss,
      optimizer: opt,
      dropoutSeed: (this.opts.seed ?? 0) + 1,
      frozen: this.opts.freeze,
      values: this.params,
      nchwcBlock: await this.blockSize(),
      threads: this.opts.threads,
    });
    const session = await this.session(built);
    for (const s of built.states!)
      if (!this.state.has(s.name)) this.state.set(s.name, { dtype: 'float32', dims: s.dims, data: new Float32Array(numel(s.dims)) });
    return { built, session, opt, yPer: numel(train.y.dims.slice(1)), isCE: this.loss.kind === 'cross-entropy', K: this.numOutputs() };
  }

  /** One pass over the shuffled training batches; the record has the epoch's mean loss (and accuracy). */
  private async trainEpoch(run: StepGraph, train: Dataset, epoch: number, t0: number): Promise<EpochRecord> {
    const lr = this.lrAt(epoch);
    const B = Math.min(this.opts.batchSize, train.x.dims[0]!);
    const batches = this.batching.batchesOf(train, B, rngFor(this.opts.seed ?? 0, 'shuffle', epoch));
    const steps = batches.length;
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const k = this.opts.stepsPerRun ?? 1;
    // Token batches cut to their longest row differ in shape: those take single steps.
    const chain = k > 1 && !this.batching.cuts(train);
    for (let s = 0; s < steps; ) {
      const n = chain && s + k <= steps && batches.slice(s, s + k).every((b) => b.length === B) ? k : 1;
      const idx = batches.slice(s, s + n);
      const { losses, logits } = n > 1 ? await this.trainSteps(run, train, idx, lr, epoch, s) : await this.trainStep(run, train, idx[0]!, lr, epoch, s);
      for (let j = 0; j < n; j++) {
        const rows = idx[j]!;
        lossSum += losses[j]! * rows.length;
        seen += rows.length;
        if (run.isCE) correct += countCorrect(logits.subarray(j * B * run.K), train.y.data as BigInt64Array, rows, run.K);
        this.opts.onStep?.({
          epoch,
          step: s + j + 1,
          steps,
          loss: lossSum / seen,
          accuracy: run.isCE ? correct / seen : undefined,
          seconds: (performance.now() - t0) / 1000,
        });
      }
      s += n;
    }
    return { epoch: epoch + 1, lr, trainLoss: lossSum / seen, trainAccuracy: run.isCE ? correct / seen : undefined, seconds: 0 };
  }

  /** One optimizer step on the rows `idx`: feeds, run, and the updated parameters and state taken back. */
  private async trainStep(
    run: StepGraph,
    train: Dataset,
    idx: Int32Array,
    lr: number,
    epoch: number,
    step: number,
  ): Promise<{ losses: Float32Array; logits: Float32Array }> {
    const { built } = run;
    const feeds: Record<string, TensorData> = {};
    feeds[built.input] = this.opts.augment ? this.augmented(train, idx, epoch, step) : this.batching.inputs(train, idx);
    feeds[built.labels!] = gatherRows(train.y, idx, run.yPer);
    if (built.mask) feeds[built.mask] = gatherRows(this.maskOf(train), idx, run.yPer);
    const [stepLr, plainLr] = this.rates(run, lr, 1);
    feeds[built.lr!] = { dtype: 'float32', dims: [], data: stepLr };
    if (built.graph.inputs.some((i) => i.name === 'lr_wd')) feeds.lr_wd = { dtype: 'float32', dims: [], data: plainLr };
    for (const p of built.params) if (!p.frozen) feeds[p.name] = this.params.get(p.name)!;
    for (const st of built.states!) feeds[st.name] = this.state.get(st.name)!;
    const out = await run.session.run(feeds);
    const losses = out[built.loss!]!.data as Float32Array;
    this.checkLosses(losses, epoch, step);
    for (const p of built.params) if (!p.frozen) this.params.set(p.name, out[built.updated!.get(p.name)!]!);
    for (const st of built.states!) this.state.set(st.name, out[built.updated!.get(st.name)!]!);
    return { losses, logits: out[built.output]!.data as Float32Array };
  }

  /** Several optimizer steps, one per batch of `batches` (all full), in one run of the chained graph. */
  private async trainSteps(
    run: StepGraph,
    train: Dataset,
    batches: Int32Array[],
    lr: number,
    epoch: number,
    step: number,
  ): Promise<{ losses: Float32Array; logits: Float32Array }> {
    const { built } = run;
    const k = batches.length;
    const B = batches[0]!.length;
    if (!run.chained || run.chained.steps !== k || run.chained.batch !== B) {
      await run.chained?.session.release();
      const c = chainSteps(built, k, B);
      const session = await openSession(this.opts.runtime, encodeModel(c.graph, 'relprop-train'), { threads: this.opts.threads }, 'the chained training graph');
      const buffers: (Float32Array | BigInt64Array)[] = [];
      const own = (j: number, t: TensorData): TensorData => {
        let b = buffers[j];
        if (!b || b.length !== t.data.length || b.constructor !== t.data.constructor)
          b = buffers[j] = t.dtype === 'int64' ? new BigInt64Array(t.data.length) : new Float32Array(t.data.length);
        (b as Float32Array).set(t.data as Float32Array);
        return { dtype: t.dtype, dims: t.dims, data: b };
      };
      run.chained = { session, steps: k, batch: B, data: c.data, updated: c.updated, losses: c.losses, outputs: c.outputs, own };
    }
    const c = run.chained;
    const feeds: Record<string, TensorData> = {};
    const inputs = c.data.get(built.input)!;
    batches.forEach((b, j) => {
      // The augment hook may reuse its buffer: each batch is copied to one of the run's own before the next is asked for.
      feeds[inputs[j]!] = this.opts.augment ? c.own(j, this.augmented(train, b, epoch, step + j)) : this.batching.inputs(train, b);
      feeds[c.data.get(built.labels!)![j]!] = gatherRows(train.y, b, run.yPer);
      if (built.mask) feeds[c.data.get(built.mask)![j]!] = gatherRows(this.maskOf(train), b, run.yPer);
    });
    const [stepLr, plainLr] = this.rates(run, lr, k);
    feeds[built.lr!] = { dtype: 'float32', dims: [k], data: stepLr };
    if (built.graph.inputs.some((i) => i.name === 'lr_wd')) feeds.lr_wd = { dtype: 'float32', dims: [k], data: plainLr };
    for (const p of built.params) if (!p.frozen) feeds[p.name] = this.params.get(p.name)!;
    for (const st of built.states!) feeds[st.name] = this.state.get(st.name)!;
    const fetches = [c.losses, ...c.updated.values(), ...(run.isCE ? [c.outputs] : [])];
    const out = await c.session.run(feeds, fetches);
    const losses = out[c.losses]!.data as Float32Array;
    this.checkLosses(losses, epoch, step);
    for (const p of built.params) if (!p.frozen) this.params.set(p.name, out[c.updated.get(p.name)!]!);
    for (const st of built.states!) this.state.set(st.name, out[c.updated.get(st.name)!]!);
    return { losses, logits: run.isCE ? (out[c.outputs]!.data as Float32Array) : new Float32Array(0) };
  }

  /**
   * The learning rates of the next `k` steps, counting them: Adam's bias correction goes into the
   * step's rate, lr·√(1−β2ᵗ)/(1−β1ᵗ) at step t; decoupled weight decay reads the plain one.
   */
  private rates(run: StepGraph, lr: number, k: number): [Float32Array, Float32Array] {
    const { opt } = run;
    const b1 = opt.beta1 ?? 0.9;
    const b2 = opt.beta2 ?? 0.999;
    const stepLr = new Float32Array(k);
    for (let j = 0; j < k; j++) {
      this.step++;
      stepLr[j] = opt.kind === 'adam' ? (lr * Math.sqrt(1 - b2 ** this.step)) / (1 - b1 ** this.step) : lr;
    }
    return [stepLr, new Float32Array(k).fill(lr)];
  }

  private maskOf(train: Dataset): TensorData {
    if (!train.mask) throw new Error(`${this.loss.kind} needs a mask of present targets`);
    return train.mask;
  }

  /** Stop at the first non-finite loss of the steps from `step` on; the parameters stay those before the run. */
  private checkLosses(losses: Float32Array, epoch: number, step: number) {
    const j = losses.findIndex((l) => !Number.isFinite(l));
    if (j < 0) return;
    throw new Error(
      `the loss became ${losses[j]} at epoch ${epoch + 1}, step ${step + j + 1}; stopping (lower the learning rate). The last checkpoint${this.opts.checkpoints ? ` in ${this.opts.checkpoints.where}` : ''} is kept`,
    );
  }

  /** The augmenter's batch, checked: a wrong shape would otherwise surface as a runtime error deep in the step graph. */
  private augmented(train: Dataset, idx: Int32Array, epoch: number, step: number): TensorData {
    const x = this.opts.augment!(idx, epoch, step);
    const want = [idx.length, ...train.x.dims.slice(1)];
    if (x.dims.join() !== want.join() || x.data.length !== numel(want))
      throw new Error(`the augmented batch has shape ${JSON.stringify(x.dims)}, the training step expects ${JSON.stringify(want)}`);
    return x;
  }

  /** Early stopping on the validation loss (else the training loss): keep the best weights; true if this epoch improved. */
  private keepBest(rec: EpochRecord): boolean {
    const metric = rec.valLoss ?? rec.trainLoss;
    if (this.best && !(metric < this.best.metric)) return false;
    this.best = { metric, epoch: rec.epoch, params: new Map(this.params) };
    return true;
  }

  /** Loss, accuracy (classes) or mean absolute error (regression) of the current weights. */
  async evaluate(d: Dataset, batchSize = 256): Promise<EvalResult> {
    this.checkData(d, 'evaluation data');
    const built = buildGraph(this.spec, 'eval', { nchwcBlock: await this.blockSize() });
    const session = await this.session(built);
    const N = d.x.dims[0]!;
    const K = this.numOutputs();
    const logits = new Float32Array(N * K);
    for (const idx of this.batching.batchesOf(d, batchSize)) {
      const feeds: Record<string, TensorData> = { [built.input]: this.batching.inputs(d, idx) };
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

  /** Write the weights, optimizer state, epoch, step and history (see checkpoint.ts). */
  async saveCheckpoint(store: CheckpointStore) {
    // The best epoch's weights go along when early stopping will restore them and they are not the current ones.
    const keep = this.best && this.opts.patience !== undefined && this.best.epoch !== this.startEpoch;
    const best = this.best && { metric: this.best.metric, epoch: this.best.epoch, params: keep ? this.best.params : undefined };
    await writeCheckpoint(store, { epoch: this.startEpoch, step: this.step, history: this.history, params: this.params, state: this.state, best });
  }

  /** Continue from the checkpoint in `store`, if there is one; `states` are the optimizer states the step graph reads. */
  async loadCheckpoint(store: CheckpointStore, states: NonNullable<BuiltGraph['states']>) {
    const c = await readCheckpoint(store, this.params, states);
    if (!c) return;
    for (const [name, t] of c.params) this.params.set(name, t);
    for (const [name, t] of c.state) this.state.set(name, t);
    this.startEpoch = c.epoch;
    this.step = c.step;
    this.history.splice(0, this.history.length, ...c.history);
    // Without stored best weights the best epoch is the checkpoint's own (or, in checkpoints
    // written before they were kept, unknown: the current weights stand in for them).
    this.best = c.best && { metric: c.best.metric, epoch: c.best.epoch, params: new Map(c.best.params ?? this.params) };
  }
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
      for (let k = 0; k < K; k++)
        if (row[k]! > m) {
          m = row[k]!;
          best = k;
        }
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
