/**
 * DBM training (arXiv 1203.3783, reference algorithm in the digest §5.3): a TypeScript loop feeding
 * mini-batches, the parameters, the persistent chains and uniform random numbers to the update
 * graph (dbm-graphs.ts). As for the RBM, every random draw is keyed by (seed, purpose, epoch or
 * step), so the same seed repeats a run exactly and a resumed run continues as if it had not
 * stopped.
 */
import { float32, float32View, type TensorData } from '../onnx/tensor.js';
import { encodeModel } from '../onnx/model.js';
import { gaussian, permutation, rngFor } from '../math/rng.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { checkBinary } from './rbm.js';
import { checkDbmSizes, cloneDbm, type DbmParams, initDbm } from './dbm.js';
import { buildDbmStepGraph, type PositivePhase, unitCounts } from './dbm-graphs.js';
import { type BinaryData, dataMean } from './train.js';

export interface DbmTrainOptions {
  /** Hidden layer sizes, bottom to top. */
  hidden: number[];
  /** Learning rate (reference: 0.005). */
  lr: number;
  /** Rate of the hidden offsets' moving average (reference: 0.005; centered only). */
  nu?: number;
  /** L2 weight decay (default 0). */
  decay?: number;
  /** Mini-batch size (reference: 25). */
  batchSize: number;
  /** Persistent chains (default: the batch size, as in the reference). */
  chains?: number;
  /** Positive phase: 'meanfield' (default) or 'sample' (the reference code). */
  positive?: PositivePhase;
  /** Positive-phase rounds (default 5). */
  positiveRounds?: number;
  /** Gibbs sweeps on the chains per update (default 1). */
  negativeSweeps?: number;
  centered: boolean;
  /** Initial weight standard deviation (default: 0 for a sampled positive phase, 0.01 for mean field). */
  weightStd?: number;
  seed: number;
  threads?: number;
  /**
   * Updates per graph run (default 1). More cross the host boundary (parameters in and out, the
   * run's dispatch) once per run instead of once per update; the uniforms of every update are
   * still keyed by its index, so the result is the same computation.
   */
  updatesPerRun?: number;
  runtime?: Runtime;
}

/** What a checkpoint needs to resume: parameters, persistent chains (one array per layer) and the position. */
export interface DbmState {
  params: DbmParams;
  chains: Float32Array[];
  epoch: number;
  step: number;
}

function checkOptions(o: DbmTrainOptions): void {
  const positiveInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be an integer ≥ 1, got ${v}`);
  };
  if (o.hidden.length === 0) throw new Error('a DBM needs at least one hidden layer');
  for (const h of o.hidden) positiveInt(h, 'hidden layer sizes');
  positiveInt(o.batchSize, 'batch size');
  if (o.chains !== undefined) positiveInt(o.chains, 'chains');
  positiveInt(o.positiveRounds ?? 5, 'positive-phase rounds');
  positiveInt(o.negativeSweeps ?? 1, 'negative-phase sweeps');
  positiveInt(o.updatesPerRun ?? 1, 'updates per graph run');
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`learning rate must be a finite number > 0, got ${o.lr}`);
  const nu = o.nu ?? 0.005;
  if (!(nu >= 0 && nu <= 1)) throw new Error(`offset rate nu must be in [0, 1], got ${nu}`);
  if (!((o.decay ?? 0) >= 0) || !Number.isFinite(o.decay ?? 0)) throw new Error(`weight decay must be a finite number ≥ 0, got ${o.decay}`);
}

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

/** True when no value is NaN or ±∞ (a plain loop: `every(Number.isFinite)` costs milliseconds per update on 784-400 weights). */
function allFinite(a: Float32Array): boolean {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * 0;
  return s === 0;
}

export class DbmTrainer {
  /** Sessions of the update graph by updates per run (the configured count, and shorter tails). */
  private readonly sessions = new Map<number, Session>();
  private constructor(
    private readonly data: BinaryData,
    private readonly opts: DbmTrainOptions,
    private state: DbmState,
  ) {}

  private async session(updates: number): Promise<Session> {
    let s = this.sessions.get(updates);
    if (!s) {
      const { opts } = this;
      const graph = buildDbmStepGraph(this.state.params.sizes, {
        positive: opts.positive ?? 'meanfield',
        positiveRounds: opts.positiveRounds ?? 5,
        negativeSweeps: opts.negativeSweeps ?? 1,
        weightDecay: (opts.decay ?? 0) > 0,
        updates,
      });
      s = await openSession(opts.runtime, encodeModel(graph, 'relprop-dbm-step'), { threads: opts.threads ?? 1 }, 'the DBM training graph');
      this.sessions.set(updates, s);
    }
    return s;
  }

  /** A trainer at the start of a run, or at `resume` (a state from {@link DbmTrainer.snapshot}). */
  static async create(data: BinaryData, opts: DbmTrainOptions, resume?: DbmState): Promise<DbmTrainer> {
    checkOptions(opts);
    checkBinary(data.x, 'training data');
    if (data.x.length !== data.n * data.nv) throw new Error(`training data has ${data.x.length} values, expected ${data.n} × ${data.nv}`);
    if (opts.batchSize > data.n) throw new Error(`batch size ${opts.batchSize} exceeds the ${data.n} training samples`);
    const sizes = [data.nv, ...opts.hidden];
    checkDbmSizes(sizes);
    let state = resume;
    if (!state) {
      const positive = opts.positive ?? 'meanfield';
      const rng = rngFor(opts.seed, 'dbm-init');
      const params = initDbm(sizes, {
        dataMean: dataMean(data),
        centered: opts.centered,
        weightStd: opts.weightStd ?? (positive === 'meanfield' ? 0.01 : 0),
        gaussian: () => gaussian(rng),
      });
      // The reference code starts the chains at σ(b) (real-valued; the first sweep makes them binary).
      const C = opts.chains ?? opts.batchSize;
      const chains = params.b.map((b) => {
        const m = new Float32Array(C * b.length);
        for (let r = 0; r < C; r++) for (let i = 0; i < b.length; i++) m[r * b.length + i] = sigmoid(b[i]!);
        return m;
      });
      state = { params, chains, epoch: 0, step: 0 };
    } else if (JSON.stringify(state.params.sizes) !== JSON.stringify(sizes)) {
      throw new Error(`the checkpoint is a ${state.params.sizes.join('-')} DBM, not ${sizes.join('-')}`);
    }
    const trainer = new DbmTrainer(data, opts, { ...state, params: cloneDbm(state.params), chains: state.chains.map((c) => c.slice()) });
    await trainer.session(opts.updatesPerRun ?? 1);
    return trainer;
  }

  get params(): DbmParams {
    return this.state.params;
  }

  snapshot(): DbmState {
    return { ...this.state, params: cloneDbm(this.state.params), chains: this.state.chains.map((c) => c.slice()) };
  }

  /**
   * One pass over the data in mini-batches in the epoch's keyed random order (a trailing partial
   * batch is dropped), `updatesPerRun` updates per graph run; returns the mean reconstruction error.
   */
  async epoch(onStep?: (done: number, total: number, recon: number) => void): Promise<number> {
    const { data, opts } = this;
    const B = opts.batchSize;
    const order = permutation(data.n, rngFor(opts.seed, 'dbm-epoch', this.state.epoch));
    const batches = Math.floor(data.n / B);
    const S = opts.updatesPerRun ?? 1;
    let sum = 0;
    for (let first = 0; first < batches; first += S) {
      const xs: Float32Array[] = [];
      for (let bi = first; bi < Math.min(first + S, batches); bi++) {
        const x = new Float32Array(B * data.nv);
        for (let r = 0; r < B; r++) x.set(data.x.subarray(order[bi * B + r]! * data.nv, (order[bi * B + r]! + 1) * data.nv), r * data.nv);
        xs.push(x);
      }
      const recons = await this.steps(xs);
      recons.forEach((recon, k) => {
        sum += recon;
        onStep?.(first + k + 1, batches, recon);
      });
    }
    this.state.epoch++;
    return sum / batches;
  }

  /** One update on the batch `x` [B, n₀]; returns its reconstruction error. */
  async step(x: Float32Array): Promise<number> {
    return (await this.steps([x]))[0]!;
  }

  /** One update per batch of `xs` (each [B, n₀]), in one graph run; returns their reconstruction errors. */
  async steps(xs: Float32Array[]): Promise<number[]> {
    const { opts } = this;
    const p = this.state.params;
    const { sizes } = p;
    const L = sizes.length - 1;
    const S = xs.length;
    const B = xs[0]!.length / sizes[0]!;
    const C = this.state.chains[0]!.length / sizes[0]!;
    const P = opts.positiveRounds ?? 5;
    const K = opts.negativeSweeps ?? 1;
    const { total, hidden } = unitCounts(sizes);
    const sample = (opts.positive ?? 'meanfield') === 'sample';
    const x = new Float32Array(S * B * sizes[0]!);
    const uNeg = new Float32Array(S * K * C * total);
    const uPos = new Float32Array(sample ? S * P * B * hidden : 0);
    for (let s = 0; s < S; s++) {
      if (xs[s]!.length !== B * sizes[0]!) throw new Error('internal: batches of one graph run differ in size');
      x.set(xs[s]!, s * B * sizes[0]!);
      // Update number step+s draws from its own keyed stream: negative phase first, then positive.
      const rng = rngFor(opts.seed, 'dbm-step', this.state.step + s);
      rng.fill(uNeg.subarray(s * K * C * total, (s + 1) * K * C * total));
      rng.fill(uPos.subarray(s * P * B * hidden, (s + 1) * P * B * hidden));
    }
    const feeds: Record<string, TensorData> = {
      x: float32View([S, B, sizes[0]!], x),
      u_neg: float32View([S, K, C, total], uNeg),
      lr: float32([], [opts.lr]),
      nu: float32([], [opts.centered ? (opts.nu ?? 0.005) : 0]),
      decay: float32([], [opts.decay ?? 0]),
    };
    if (sample) feeds.u_pos = float32View([S, P, B, hidden], uPos);
    for (let l = 0; l <= L; l++) {
      feeds[`b${l}`] = float32View([sizes[l]!], p.b[l]!);
      feeds[`o${l}`] = float32View([sizes[l]!], p.o[l]!);
      feeds[`m${l}`] = float32View([C, sizes[l]!], this.state.chains[l]!);
      if (l < L) feeds[`W${l}`] = float32View([sizes[l]!, sizes[l + 1]!], p.W[l]!);
    }
    const out = await (await this.session(S)).run(feeds);
    const f = (name: string) => out[name]!.data as Float32Array;
    const next: DbmParams = {
      sizes,
      W: p.W.map((_, l) => f(`W${l}_new`)),
      b: p.b.map((_, l) => f(`b${l}_new`)),
      o: p.o.map((_, l) => f(`o${l}_new`)),
    };
    const recon = Array.from(f('recon'));
    if (!recon.every(Number.isFinite) || !next.W.every(allFinite) || !next.b.every(allFinite)) {
      const at = S === 1 ? `step ${this.state.step + 1}` : `steps ${this.state.step + 1}–${this.state.step + S}`;
      throw new Error(`training diverged at ${at} (non-finite parameters); lower the learning rate`);
    }
    this.state.params = next;
    this.state.chains = p.b.map((_, l) => f(`m${l}_new`));
    this.state.step += S;
    return recon;
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}
