/**
 * Samples from an RBM or a DBM by block Gibbs sampling on ONNX Runtime (buildDbmGibbsGraph), for
 * `relprop sample`. An RBM is a DBM with one hidden layer ({@link rbmAsDbm}), so one sampler serves
 * both. Chains start from Bernoulli(σ(b⁽ˡ⁾)) in every layer; the uniforms of block k come from
 * rngFor(seed, 'gibbs-block', k), so the same seed and settings give the same samples.
 */
import { encodeModel } from '../onnx/model.js';
import { float32, float32View, type TensorData } from '../onnx/tensor.js';
import { rngFor } from '../math/rng.js';
import { openSession, type Runtime } from '../runtime.js';
import type { DbmParams } from './dbm.js';
import { buildDbmGibbsGraph, unitCounts } from './dbm-graphs.js';
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
  const L = sizes.length - 1;
  const C = o.chains;
  const T = Math.min(o.block ?? 50, o.sweeps);
  const { total } = unitCounts(sizes);
  const init = rngFor(o.seed, 'gibbs-init');
  let states: Float32Array[] = p.b.map((bl) => Float32Array.from({ length: C * bl.length }, (_, k) => (init() < sigmoid(bl[k % bl.length]!) ? 1 : 0)));
  const fixed: Record<string, TensorData> = {};
  for (let l = 0; l <= L; l++) {
    fixed[`b${l}`] = float32([sizes[l]!], p.b[l]!);
    fixed[`o${l}`] = float32([sizes[l]!], p.o[l]!);
    if (l < L) fixed[`W${l}`] = float32([sizes[l]!, sizes[l + 1]!], p.W[l]!);
  }
  const n0 = sizes[0]!;
  const visibleMean = new Float32Array(S * C * n0);
  const visible = new Float32Array(S * C * n0);
  // Blocks of T sweeps; the last block before a snapshot may be shorter (its own session).
  const sessions = new Map<number, Awaited<ReturnType<typeof openSession>>>();
  const session = async (t: number) => {
    let s = sessions.get(t);
    if (!s) {
      s = await openSession(o.runtime, encodeModel(buildDbmGibbsGraph(sizes, t), 'relprop-dbm-gibbs'), { threads: o.threads ?? 1 }, 'the Gibbs graph');
      sessions.set(t, s);
    }
    return s;
  };
  try {
    let block = 0;
    for (let snap = 0; snap < S; snap++) {
      let mean: Float32Array | undefined;
      for (let done = 0; done < o.sweeps; block++) {
        const t = Math.min(T, o.sweeps - done);
        const rng = rngFor(o.seed, 'gibbs-block', block);
        const u = new Float32Array(t * C * total);
        rng.fill(u);
        const feeds: Record<string, TensorData> = { ...fixed, u: float32View([t, C, total], u) };
        for (let l = 0; l <= L; l++) feeds[`m${l}`] = float32View([C, sizes[l]!], states[l]!);
        const out = await (await session(t)).run(feeds);
        states = sizes.map((_, l) => out[`m${l}_new`]!.data as Float32Array);
        mean = out.visible_mean!.data as Float32Array;
        done += t;
      }
      visibleMean.set(mean!, snap * C * n0);
      visible.set(states[0]!, snap * C * n0);
    }
  } finally {
    for (const s of sessions.values()) await s.release();
  }
  return { visibleMean, visible };
}
