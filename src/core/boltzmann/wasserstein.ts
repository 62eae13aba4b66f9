/**
 * Wasserstein training of RBMs (Montavon, Müller & Cuturi, arXiv 1507.01972): minimise
 *   J(θ) = wW·(W_γ(p̂, p_θ) − λ H(p_θ)) + wKL·KL(p̂ ‖ p_θ),
 * with (wW, wKL) = (1, η) ('additive') or (1 − η, η) ('convex'), the model p_θ represented by
 * persistent Gibbs chains (uniform weights over their states) or, for small d, enumerated exactly.
 * Each update: k Gibbs sweeps of the chains, the cost matrix between data and chains, Sinkhorn for
 * the model-side potential β, then the covariance gradient of wasserstein-graphs.ts. Every random
 * draw is keyed by (seed, purpose, step), so runs repeat and resume exactly (Sinkhorn starts cold
 * at every update, so no solver state needs checkpointing).
 */
import { encodeModel } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import { permutation, rngFor } from '../math/rng.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { logSumExp, negFreeEnergy } from './likelihood.js';
import { checkBinary, cloneRbm, initRbm, type RbmParams } from './rbm.js';
import { CostMatrix, checkGamma, Sinkhorn, type SinkhornDomain } from './sinkhorn.js';
import { type BinaryData, dataMean, epochOfBatches, type RbmState } from './train.js';
import { buildGibbsGraph, buildWassersteinStepGraph } from './wasserstein-graphs.js';

export type KlMix = 'additive' | 'convex';

export interface WassersteinObjective {
  /** Sinkhorn smoothing γ > 0, in cost units. */
  gamma: number;
  /** Weight λ ≥ 0 of the entropy term −λ H(p_θ). */
  lambda: number;
  /** KL weight η ≥ 0 (≤ 1 with 'convex'). */
  eta: number;
  /** 'additive': W − λH + η KL; 'convex': (1 − η)(W − λH) + η KL. */
  mix?: KlMix;
  /** Ground matrix C [d, d] of d(x, y) = (x − y)ᵀC(x − y); absent: Hamming. */
  ground?: Float32Array;
  sinkhornTol?: number;
  sinkhornMaxIter?: number;
  /** Sinkhorn's domain (default 'auto': linear where float32 holds it, else log; see sinkhorn.ts). */
  sinkhornDomain?: SinkhornDomain;
}

export interface WrbmTrainOptions extends WassersteinObjective {
  hidden: number;
  lr: number;
  /** Persistent chains m (default: the batch size). */
  chains?: number;
  /** Gibbs sweeps per update (default 1). */
  k?: number;
  /** Data points per update (default: all of them, the paper's batch mode). */
  batchSize?: number;
  centered: boolean;
  /** Rate of the hidden offsets' moving average (centered only; default 0.01). */
  nu?: number;
  decay?: number;
  seed: number;
  threads?: number;
  runtime?: Runtime;
}

export function mixWeights(o: WassersteinObjective): { wW: number; wKL: number } {
  return (o.mix ?? 'additive') === 'convex' ? { wW: 1 - o.eta, wKL: o.eta } : { wW: 1, wKL: o.eta };
}

export function checkObjective(o: WassersteinObjective): void {
  checkGamma(o.gamma);
  if (!(o.lambda >= 0) || !Number.isFinite(o.lambda)) throw new Error(`the entropy weight λ must be a finite number ≥ 0, got ${o.lambda}`);
  if (!(o.eta >= 0) || !Number.isFinite(o.eta)) throw new Error(`the KL weight η must be a finite number ≥ 0, got ${o.eta}`);
  if ((o.mix ?? 'additive') === 'convex' && o.eta > 1) throw new Error(`with the convex KL mix, η must be in [0, 1], got ${o.eta}`);
}

const run1 = (runtime: Runtime | undefined, threads: number | undefined) => ({ runtime, threads: threads ?? 1 });

/** The W-step graph's feeds for parameters p, data x, states y with weights q and potentials β. */
function stepFeeds(
  p: RbmParams,
  x: Float32Array,
  y: Float32Array,
  q: Float32Array,
  beta: Float32Array,
  o: WassersteinObjective,
  extra: { lr: number; nu: number; decay: number },
) {
  const { nv, nh } = p;
  const { wW, wKL } = mixWeights(o);
  const m = q.length;
  return {
    W: float32([nv, nh], p.W),
    a: float32([nv], p.a),
    c: float32([nh], p.c),
    ov: float32([nv], p.ov),
    oh: float32([nh], p.oh),
    x: float32([x.length / nv, nv], x),
    y: float32([m, nv], y),
    q: float32([m], q),
    beta: float32([m], beta),
    lambda: float32([], [o.lambda]),
    wW: float32([], [wW]),
    wKL: float32([], [wKL]),
    lr: float32([], [extra.lr]),
    nu: float32([], [extra.nu]),
    decay: float32([], [extra.decay]),
  };
}

/** Every state of d binary units, [2^d, d] (state index k has bit i = (k >> i) & 1). */
export function allStates(d: number): Float32Array {
  if (d > 20) throw new Error(`enumerating 2^${d} visible states is limited to d ≤ 20`);
  const N = 2 ** d;
  const s = new Float32Array(N * d);
  for (let k = 0; k < N; k++) for (let i = 0; i < d; i++) s[k * d + i] = Math.floor(k / 2 ** i) % 2;
  return s;
}

export interface ExactObjective {
  /** J(θ) with W_γ, H and KL exact (every visible state enumerated). */
  objective: number;
  wasserstein: number;
  /** ⟨π, M⟩ of the smoothed plan. */
  transportCost: number;
  entropy: number;
  kl: number;
  gradient: { W: Float32Array; a: Float32Array; c: Float32Array };
  sinkhornIterations: number;
}

/**
 * The objective and its gradient with p_θ the exact model distribution over all 2^d visible states
 * (small d): log p_θ(y) = −F(y) − log Z by enumeration, Sinkhorn between the data and all states
 * weighted by p_θ, and the covariance gradient under p_θ itself.
 */
export async function exactWassersteinObjective(
  p: RbmParams,
  data: BinaryData,
  o: WassersteinObjective,
  run: { runtime?: Runtime; threads?: number } = {},
): Promise<ExactObjective> {
  checkObjective(o);
  const { nv, nh } = p;
  const states = allStates(nv);
  const N = 2 ** nv;
  const phi = await negFreeEnergy(p, states, run1(run.runtime, run.threads));
  const logZ = logSumExp(phi);
  const logq = Float32Array.from(phi, (v) => v - logZ);
  const q = Float32Array.from(logq, Math.exp);
  const cost = await CostMatrix.create(nv, o.ground, run1(run.runtime, run.threads));
  const sinkhorn = await Sinkhorn.create({
    gamma: o.gamma,
    tol: o.sinkhornTol ?? 1e-6,
    maxIter: o.sinkhornMaxIter,
    domain: o.sinkhornDomain,
    ...run1(run.runtime, run.threads),
  });
  const graph = buildWassersteinStepGraph(nv, nh);
  const session = await openSession(run.runtime, encodeModel(graph, 'relprop-wrbm-step'), { threads: run.threads ?? 1 }, 'the Wasserstein RBM step graph');
  try {
    const M = await cost.between(data.x, states);
    const sol = await sinkhorn.solve(M, data.n, N, { logq });
    const out = await session.run(stepFeeds(p, data.x, states, q, sol.g, o, { lr: 0, nu: 0, decay: 0 }));
    let entropy = 0;
    for (let j = 0; j < N; j++) entropy -= q[j]! * logq[j]!;
    const dataPhi = await negFreeEnergy(p, data.x, run1(run.runtime, run.threads));
    let meanLogp = 0;
    for (const v of dataPhi) meanLogp += (v - logZ) / data.n;
    // KL(p̂ ‖ p_θ) with p̂ the empirical distribution (duplicates merged).
    const counts = new Map<string, number>();
    for (let r = 0; r < data.n; r++) {
      const key = data.x.subarray(r * nv, (r + 1) * nv).join('');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    let negH = 0;
    for (const c of counts.values()) negH += (c / data.n) * Math.log(c / data.n);
    const kl = negH - meanLogp;
    const { wW, wKL } = mixWeights(o);
    const f = (k: string) => out[k]!.data as Float32Array;
    return {
      objective: wW * (sol.value - o.lambda * entropy) + wKL * kl,
      wasserstein: sol.value,
      transportCost: sol.cost,
      entropy,
      kl,
      gradient: { W: f('gW'), a: f('ga'), c: f('gc') },
      sinkhornIterations: sol.iterations,
    };
  } finally {
    await Promise.all([cost.release(), sinkhorn.release(), session.release()]);
  }
}

export interface WrbmStepInfo {
  /** W_γ between the batch and the chains' states. */
  wasserstein: number;
  transportCost: number;
  sinkhornIterations: number;
}

/** Sample-based Wasserstein training with persistent chains. */
export class WrbmTrainer {
  private lastInfo: WrbmStepInfo = { wasserstein: Number.NaN, transportCost: Number.NaN, sinkhornIterations: 0 };

  private constructor(
    private readonly data: BinaryData,
    private readonly opts: WrbmTrainOptions,
    private readonly gibbs: Session,
    private readonly stepSession: Session,
    private readonly cost: CostMatrix,
    private readonly sinkhorn: Sinkhorn,
    private state: RbmState,
  ) {}

  static async create(data: BinaryData, opts: WrbmTrainOptions, resume?: RbmState): Promise<WrbmTrainer> {
    checkObjective(opts);
    checkTrainOptions(opts, data);
    checkBinary(data.x, 'training data');
    if (data.x.length !== data.n * data.nv) throw new Error(`training data has ${data.x.length} values, expected ${data.n} × ${data.nv}`);
    let state = resume;
    if (!state) {
      const params = initRbm(data.nv, opts.hidden, { dataMean: dataMean(data), centered: opts.centered, seed: opts.seed });
      state = { params, chains: initialChains(data, opts), epoch: 0, step: 0 };
    } else if (state.params.nv !== data.nv || state.params.nh !== opts.hidden) {
      throw new Error(`the checkpoint is a ${state.params.nv}-${state.params.nh} RBM, not ${data.nv}-${opts.hidden}`);
    } else if (!state.chains) {
      throw new Error('the checkpoint has no persistent chains (it was made by CD training); Wasserstein training cannot resume it');
    }
    const run = run1(opts.runtime, opts.threads);
    const { nv, nh } = state.params;
    const gibbs = await openSession(opts.runtime, encodeModel(buildGibbsGraph(nv, nh, opts.k ?? 1), 'relprop-rbm-gibbs'), run, 'the Gibbs graph');
    const step = await openSession(opts.runtime, encodeModel(buildWassersteinStepGraph(nv, nh), 'relprop-wrbm-step'), run, 'the Wasserstein RBM step graph');
    const cost = await CostMatrix.create(nv, opts.ground, run);
    const sinkhorn = await Sinkhorn.create({ gamma: opts.gamma, tol: opts.sinkhornTol, maxIter: opts.sinkhornMaxIter, domain: opts.sinkhornDomain, ...run });
    return new WrbmTrainer(data, opts, gibbs, step, cost, sinkhorn, { ...state, params: cloneRbm(state.params), chains: state.chains!.slice() });
  }

  get params(): RbmParams {
    return this.state.params;
  }

  get chains(): Float32Array {
    return this.state.chains!;
  }

  /** What the last update measured. */
  get info(): WrbmStepInfo {
    return this.lastInfo;
  }

  snapshot(): RbmState {
    return { ...this.state, params: cloneRbm(this.state.params), chains: this.state.chains!.slice() };
  }

  /** One pass over the data in the epoch's keyed random order (one update in batch mode); returns the mean W_γ. */
  async epoch(onStep?: (done: number, total: number, w: number) => void): Promise<number> {
    const { data, opts } = this;
    const order = permutation(data.n, rngFor(opts.seed, 'wrbm-epoch', this.state.epoch));
    const w = await epochOfBatches(data, opts.batchSize ?? data.n, order, (x) => this.step(x), onStep);
    this.state.epoch++;
    return w;
  }

  /** One update on the batch x [B, nv]; returns W_γ(batch, chains) measured before the update. */
  async step(x: Float32Array): Promise<number> {
    const { opts } = this;
    const p = this.state.params;
    const { nv, nh } = p;
    const chains = await advanceChains(this.gibbs, p, this.state.chains!, opts.k ?? 1, rngFor(opts.seed, 'wrbm-gibbs', this.state.step));
    const B = x.length / nv;
    const m = chains.length / nv;
    const M = await this.cost.between(x, chains);
    let sol;
    try {
      sol = await this.sinkhorn.solve(M, B, m);
    } catch (e) {
      throw new Error(`update ${this.state.step + 1}: ${(e as Error).message}`);
    }
    const q = new Float32Array(m).fill(1 / m);
    const nu = opts.centered ? (opts.nu ?? 0.01) : 0;
    const out = await this.stepSession.run(stepFeeds(p, x, chains, q, sol.g, opts, { lr: opts.lr, nu, decay: opts.decay ?? 0 }));
    const f = (k: string) => out[k]!.data as Float32Array;
    const next: RbmParams = { nv, nh, W: f('W_new'), a: f('a_new'), c: f('c_new'), ov: p.ov, oh: f('oh_new') };
    if (!next.W.every(Number.isFinite) || !next.a.every(Number.isFinite) || !next.c.every(Number.isFinite)) {
      throw new Error(`training diverged at update ${this.state.step + 1} (non-finite parameters); lower the learning rate`);
    }
    this.state.params = next;
    this.state.chains = chains;
    this.state.step++;
    this.lastInfo = { wasserstein: sol.value, transportCost: sol.cost, sinkhornIterations: sol.iterations };
    return sol.value;
  }

  async release(): Promise<void> {
    await Promise.all([this.gibbs.release(), this.stepSession.release(), this.cost.release(), this.sinkhorn.release()]);
  }
}

function checkTrainOptions(o: WrbmTrainOptions, data: BinaryData): void {
  const positiveInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be an integer ≥ 1, got ${v}`);
  };
  positiveInt(o.hidden, 'hidden units');
  positiveInt(o.k ?? 1, 'Gibbs sweeps k');
  if (o.chains !== undefined) positiveInt(o.chains, 'chains');
  if (o.batchSize !== undefined) positiveInt(o.batchSize, 'batch size');
  if ((o.batchSize ?? 0) > data.n) throw new Error(`batch size ${o.batchSize} exceeds the ${data.n} training samples`);
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new Error(`learning rate must be a finite number > 0, got ${o.lr}`);
  const nu = o.nu ?? 0.01;
  if (!(nu >= 0 && nu <= 1)) throw new Error(`offset rate nu must be in [0, 1], got ${nu}`);
}

/** Persistent chains start at independent draws from the data's pixel means. */
function initialChains(data: BinaryData, opts: WrbmTrainOptions): Float32Array {
  const C = opts.chains ?? opts.batchSize ?? data.n;
  const mean = dataMean(data);
  const rng = rngFor(opts.seed, 'wrbm-chains');
  const v = new Float32Array(C * data.nv);
  for (let r = 0; r < C; r++) for (let i = 0; i < data.nv; i++) v[r * data.nv + i] = rng() < mean[i]! ? 1 : 0;
  return v;
}

/** Uniforms for k sweeps of C chains: [k, C, nh] then [k, C, nv]. */
export function gibbsUniforms(rng: () => number, k: number, C: number, nv: number, nh: number): { uh: Float32Array; uv: Float32Array } {
  const uh = new Float32Array(k * C * nh);
  for (let i = 0; i < uh.length; i++) uh[i] = rng();
  const uv = new Float32Array(k * C * nv);
  for (let i = 0; i < uv.length; i++) uv[i] = rng();
  return { uh, uv };
}

/** Run the Gibbs graph (k sweeps) with optional extra visible bias and clamp mask; returns its outputs. */
export async function runGibbs(
  session: Session,
  p: RbmParams,
  v: Float32Array,
  k: number,
  rng: () => number,
  bias?: Float32Array,
  mask?: Float32Array,
): Promise<{ v: Float32Array; pvMean: Float32Array }> {
  const { nv, nh } = p;
  const C = v.length / nv;
  const { uh, uv } = gibbsUniforms(rng, k, C, nv, nh);
  const out = await session.run({
    W: float32([nv, nh], p.W),
    a: float32([nv], p.a),
    c: float32([nh], p.c),
    ov: float32([nv], p.ov),
    oh: float32([nh], p.oh),
    v: float32([C, nv], v),
    bias: float32([C, nv], bias ?? new Float32Array(C * nv)),
    mask: float32([C, nv], mask ?? new Float32Array(C * nv)),
    uh: float32([k, C, nh], uh),
    uv: float32([k, C, nv], uv),
  });
  return { v: out.v_new!.data as Float32Array, pvMean: out.pv_mean!.data as Float32Array };
}

async function advanceChains(session: Session, p: RbmParams, chains: Float32Array, k: number, rng: () => number): Promise<Float32Array> {
  return (await runGibbs(session, p, chains, k, rng)).v;
}
