/**
 * Samples from an RBM or a DBM by block Gibbs sampling on ONNX Runtime (buildDbmGibbsGraph), for
 * `relprop sample`. An RBM is a DBM with one hidden layer ({@link rbmAsDbm}), so one sampler serves
 * both. Chains start from Bernoulli(σ(b⁽ˡ⁾)) in every layer; the uniforms of block k come from
 * rngFor(seed, 'gibbs-block', k), so the same seed and settings give the same samples.
 */
import { encodeModel } from '../onnx/model.js';
import { float32, float32View, type TensorData } from '../onnx/tensor.js';
import { rngFor, type Uniforms } from '../math/rng.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import type { DbmParams } from './dbm.js';
import { buildDbmGibbsGraph, parityLayout } from './dbm-graphs.js';
import type { RbmParams } from './rbm.js';

/** The RBM as a DBM with layers [visible, hidden]: the energies are identical term by term. */
export function rbmAsDbm(p: RbmParams): DbmParams {
  return { sizes: [p.nv, p.nh], W: [p.W.slice()], b: [p.a.slice(), p.c.slice()], o: [p.ov.slice(), p.oh.slice()] };
}

export interface GibbsOptions {
  /** Independent chains (one sample each). */
  chains: number;
  /** Gibbs sweeps before the first snapshot and between snapshots. */
  sweeps: number;
  /** Snapshots per chain (default 1: the state after `sweeps` sweeps). */
  snapshots?: number;
  seed: number;
  /** Sweeps per graph run (default 50). */
  block?: number;
  threads?: number;
  runtime?: Runtime;
}

export interface GibbsSamples {
  /** Visible conditional means at each snapshot: [snapshots, chains, n₀], snapshot-major. */
  visibleMean: Float32Array;
  /** Binary visible states at each snapshot, same layout. */
  visible: Float32Array;
}

const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

/**
 * Block Gibbs sweeps of one DBM on ONNX Runtime, in runs of up to `block` sweeps (one session per
 * run length). The uniforms of run k come from `rng(k)` in the order of the chains' units (sweep,
 * chain, layer 0, 1, …, unit) and are written straight into the graph's per-sweep, per-parity
 * inputs, buffers reused from run to run.
 */
export class GibbsSampler {
  private readonly sessions = new Map<number, Session>();
  private readonly fixed: Record<string, TensorData> = {};
  private readonly layout;
  private uOdd: Float32Array[] = [];
  private uEven: Float32Array[] = [];

  constructor(
    private readonly p: DbmParams,
    private readonly chains: number,
    private readonly opts: { threads?: number; runtime?: Runtime } = {},
  ) {
    const { sizes } = p;
    const L = sizes.length - 1;
    for (let l = 0; l <= L; l++) {
      this.fixed[`b${l}`] = float32([sizes[l]!], p.b[l]!);
      this.fixed[`o${l}`] = float32([sizes[l]!], p.o[l]!);
      if (l < L) this.fixed[`W${l}`] = float32([sizes[l]!, sizes[l + 1]!], p.W[l]!);
    }
    this.layout = parityLayout(sizes);
  }

  private async session(t: number): Promise<Session> {
    let s = this.sessions.get(t);
    if (!s) {
      const model = encodeModel(buildDbmGibbsGraph(this.p.sizes, t), 'relprop-dbm-gibbs');
      s = await openSession(this.opts.runtime, model, { threads: this.opts.threads ?? 1 }, 'the Gibbs graph');
      this.sessions.set(t, s);
    }
    return s;
  }

  /** `t` sweeps from `states` (one [chains, n_l] array per layer) with uniforms from `rng`; the new states and the last visible means. */
  async run(states: Float32Array[], t: number, rng: Uniforms): Promise<{ states: Float32Array[]; visibleMean: Float32Array }> {
    const { sizes } = this.p;
    const C = this.chains;
    const { start, nOdd, nEven } = this.layout;
    const grow = (bufs: Float32Array[], n: number) => {
      while (bufs.length < t) bufs.push(new Float32Array(C * n));
    };
    grow(this.uOdd, nOdd);
    grow(this.uEven, nEven);
    const feeds: Record<string, TensorData> = { ...this.fixed };
    for (let s = 0; s < t; s++) {
      const uo = this.uOdd[s]!;
      const ue = this.uEven[s]!;
      for (let c = 0; c < C; c++) {
        for (let l = 0; l < sizes.length; l++) {
          const [buf, width] = l % 2 === 1 ? [uo, nOdd] : [ue, nEven];
          const at = c * width + start.get(l)!;
          rng.fill(buf, at, at + sizes[l]!);
        }
      }
      feeds[`u_odd${s}`] = float32View([C, nOdd], uo);
      feeds[`u_even${s}`] = float32View([C, nEven], ue);
    }
    for (let l = 0; l < sizes.length; l++) feeds[`m${l}`] = float32View([C, sizes[l]!], states[l]!);
    const out = await (await this.session(t)).run(feeds);
    return { states: sizes.map((_, l) => out[`m${l}_new`]!.data as Float32Array), visibleMean: out.visible_mean!.data as Float32Array };
  }

  async release(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}

export async function gibbsSamples(p: DbmParams, o: GibbsOptions): Promise<GibbsSamples> {
  const S = o.snapshots ?? 1;
  for (const [v, what] of [
    [o.chains, 'chains'],
    [o.sweeps, 'sweeps'],
    [S, 'snapshots'],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`Gibbs sampling: ${what} must be an integer ≥ 1, got ${v}`);
  }
  const { sizes } = p;
  const C = o.chains;
  const T = Math.min(o.block ?? 50, o.sweeps);
  const init = rngFor(o.seed, 'gibbs-init');
  let states: Float32Array[] = p.b.map((bl) => Float32Array.from({ length: C * bl.length }, (_, k) => (init() < sigmoid(bl[k % bl.length]!) ? 1 : 0)));
  const n0 = sizes[0]!;
  const visibleMean = new Float32Array(S * C * n0);
  const visible = new Float32Array(S * C * n0);
  // Blocks of T sweeps; the last block before a snapshot may be shorter (its own session).
  const sampler = new GibbsSampler(p, C, { threads: o.threads, runtime: o.runtime });
  try {
    let block = 0;
    for (let snap = 0; snap < S; snap++) {
      let mean: Float32Array | undefined;
      for (let done = 0; done < o.sweeps; block++) {
        const t = Math.min(T, o.sweeps - done);
        const out = await sampler.run(states, t, rngFor(o.seed, 'gibbs-block', block));
        states = out.states;
        mean = out.visibleMean;
        done += t;
      }
      visibleMean.set(mean!, snap * C * n0);
      visible.set(states[0]!, snap * C * n0);
    }
  } finally {
    await sampler.release();
  }
  return { visibleMean, visible };
}
