/**
 * RBM training by CD-k or PCD: a TypeScript loop that feeds mini-batches, the parameters and
 * uniform random numbers to the step graph (graphs.ts) and keeps what it returns. Every random
 * draw is keyed by (seed, purpose, epoch or step), never by processing order, so the same seed
 * repeats a run exactly and a resumed run continues as if it had not stopped.
 */
import { encodeModel } from '../onnx/model.js';
import { float32, float32View } from '../onnx/tensor.js';
import { permutation, rngFor } from '../math/rng.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { buildRbmStepGraph } from './graphs.js';
import { checkBinary, cloneRbm, initRbm, type RbmParams } from './rbm.js';

export interface BinaryData {
  /** Rows of 0/1 values, [n, nv] row-major. */
  x: Float32Array;
  n: number;
  nv: number;
}

export interface RbmTrainOptions {
  hidden: number;
  /** 'cd': chains start at the batch each step; 'pcd': persistent chains. */
  method: 'cd' | 'pcd';
  /** Gibbs sweeps per step (default 1). */
  k?: number;
  lr: number;
  /** Rate of the hidden offsets' moving average (centered only; default 0.01). */
  nu?: number;
  /** L2 weight decay (default 0). */
  decay?: number;
  batchSize: number;
  /** Persistent chains for PCD (default: the batch size). */
  chains?: number;
  centered: boolean;
  seed: number;
  threads?: number;
  runtime?: Runtime;
}

/** What a checkpoint needs to resume: parameters, persistent chains and the position in the run. */
export interface RbmState {
  params: RbmParams;
  chains: Float32Array | null;
  epoch: number;
  step: number;
}

export function dataMean(d: BinaryData): Float64Array {
  const m = new Float64Array(d.nv);
  for (let r = 0; r < d.n; r++) for (let i = 0; i < d.nv; i++) m[i]! += d.x[r * d.nv + i]!;
  for (let i = 0; i < d.nv; i++) m[i]! /= d.n;
  return m;
}

/**
 * One pass over `data` in mini-batches of `batchSize` rows taken in `order` (a trailing partial
 * batch is dropped): `step` updates on each batch and returns its reconstruction error; returns
 * their mean.
 */
export async function epochOfBatches(
  data: BinaryData,
  batchSize: number,
  order: Int32Array,
  step: (x: Float32Array) => Promise<number>,
  onStep?: (done: number, total: number, recon: number) => void,
): Promise<number> {
  const B = batchSize;
  const batches = Math.floor(data.n / B);
  let total = 0;
  for (let bi = 0; bi < batches; bi++) {
    const x = new Float32Array(B * data.nv);
    for (let r = 0; r < B; r++) x.set(data.x.subarray(order[bi * B + r]! * data.nv, (order[bi * B + r]! + 1) * data.nv), r * data.nv);
    const recon = await step(x);
    total += recon;
    onStep?.(bi + 1, batches, recon);
  }
  return total / batches;
}

function checkOptions(o: RbmTrainOptions): void {
  const positiveInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be an integer ≥ 1, got ${v}`);
  };
  positiveInt(o.hidden, 'hidden units');
  positiveInt(o.batchSize, 'batch size');
  positiveInt(o.k ?? 1, 'Gibbs sweeps k');
  if (o.chains !== undefined) positiveInt(o.chains, 'chains');
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`learning rate must be a finite number > 0, got ${o.lr}`);
  const nu = o.nu ?? 0.01;
  if (!(nu >= 0 && nu <= 1)) throw new Error(`offset rate nu must be in [0, 1], got ${nu}`);
  if (!((o.decay ?? 0) >= 0) || !Number.isFinite(o.decay ?? 0)) throw new Error(`weight decay must be a finite number ≥ 0, got ${o.decay}`);
}

export class RbmTrainer {
  private constructor(
    private readonly data: BinaryData,
    private readonly opts: RbmTrainOptions,
    private readonly session: Session,
    private state: RbmState,
  ) {}

  /** A trainer at the start of a run, or at `resume` (a state from {@link RbmTrainer.state}). */
  static async create(data: BinaryData, opts: RbmTrainOptions, resume?: RbmState): Promise<RbmTrainer> {
    checkOptions(opts);
    checkBinary(data.x, 'training data');
    if (data.x.length !== data.n * data.nv) throw new Error(`training data has ${data.x.length} values, expected ${data.n} × ${data.nv}`);
    if (opts.batchSize > data.n) throw new Error(`batch size ${opts.batchSize} exceeds the ${data.n} training samples`);
    let state = resume;
    if (!state) {
      const params = initRbm(data.nv, opts.hidden, { dataMean: dataMean(data), centered: opts.centered, seed: opts.seed });
      state = { params, chains: opts.method === 'pcd' ? initialChains(data, opts) : null, epoch: 0, step: 0 };
    } else if (state.params.nv !== data.nv || state.params.nh !== opts.hidden) {
      throw new Error(`the checkpoint is a ${state.params.nv}-${state.params.nh} RBM, not ${data.nv}-${opts.hidden}`);
    } else if ((opts.method === 'pcd') !== (state.chains !== null)) {
      throw new Error(`the checkpoint was made by ${state.chains ? 'PCD' : 'CD'} training; resume it with the same method`);
    }
    const graph = buildRbmStepGraph(data.nv, opts.hidden, opts.k ?? 1);
    const session = await openSession(opts.runtime, encodeModel(graph, 'relprop-rbm-step'), { threads: opts.threads ?? 1 }, 'the RBM training graph');
    return new RbmTrainer(data, opts, session, { ...state, params: cloneRbm(state.params), chains: state.chains?.slice() ?? null });
  }

  get params(): RbmParams {
    return this.state.params;
  }

  /** A copy of the state to checkpoint. */
  snapshot(): RbmState {
    return { ...this.state, params: cloneRbm(this.state.params), chains: this.state.chains?.slice() ?? null };
  }

  /** One pass over the data in the epoch's keyed random order; returns the mean reconstruction error. */
  async epoch(onStep?: (done: number, total: number, recon: number) => void): Promise<number> {
    const { data, opts } = this;
    const order = permutation(data.n, rngFor(opts.seed, 'rbm-epoch', this.state.epoch));
    const recon = await epochOfBatches(data, opts.batchSize, order, (x) => this.step(x), onStep);
    this.state.epoch++;
    return recon;
  }

  /** One update on the batch `x` [B, nv]; returns its reconstruction error. */
  async step(x: Float32Array): Promise<number> {
    const { opts } = this;
    const p = this.state.params;
    const { nv, nh } = p;
    const B = x.length / nv;
    const chains = this.state.chains ?? x;
    const C = chains.length / nv;
    const k = opts.k ?? 1;
    const rng = rngFor(opts.seed, 'rbm-step', this.state.step);
    const uh = new Float32Array(k * C * nh);
    rng.fill(uh);
    const uv = new Float32Array(k * C * nv);
    rng.fill(uv);
    const out = await this.session.run({
      W: float32View([nv, nh], p.W),
      a: float32View([nv], p.a),
      c: float32View([nh], p.c),
      ov: float32View([nv], p.ov),
      oh: float32View([nh], p.oh),
      x: float32View([B, nv], x),
      chains: float32View([C, nv], chains),
      uh: float32View([k, C, nh], uh),
      uv: float32View([k, C, nv], uv),
      lr: float32([], [opts.lr]),
      nu: float32([], [opts.centered ? (opts.nu ?? 0.01) : 0]),
      decay: float32([], [opts.decay ?? 0]),
    });
    const f = (name: string) => out[name]!.data as Float32Array;
    const next: RbmParams = { nv, nh, W: f('W_new'), a: f('a_new'), c: f('c_new'), ov: p.ov, oh: f('oh_new') };
    const recon = f('recon')[0]!;
    if (!Number.isFinite(recon) || !next.W.every(Number.isFinite)) {
      throw new Error(`training diverged at step ${this.state.step + 1} (non-finite parameters); lower the learning rate`);
    }
    this.state.params = next;
    if (this.state.chains) this.state.chains = f('chains_new');
    this.state.step++;
    return recon;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function initialChains(data: BinaryData, opts: RbmTrainOptions): Float32Array {
  const C = opts.chains ?? opts.batchSize;
  const mean = dataMean(data);
  const rng = rngFor(opts.seed, 'rbm-chains');
  const v = new Float32Array(C * data.nv);
  for (let r = 0; r < C; r++) for (let i = 0; i < data.nv; i++) v[r * data.nv + i] = rng() < mean[i]! ? 1 : 0;
  return v;
}
