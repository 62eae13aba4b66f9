/**
 * The DBM's ONNX graphs: one training update (positive phase, persistent Gibbs chains, gradient,
 * offsets), the two enumerations behind exact log Z and log p(v), and a block of AIS temperatures.
 * As for the RBM (graphs.ts), parameters, data and uniform random numbers are graph inputs, so one
 * session serves a whole run and the seeded generator makes it repeat exactly. Layers of one
 * parity are conditionally independent given the other parity (the visible layer is even), which
 * every graph here exploits: Gibbs sweeps update all odd layers, then all even layers; the
 * enumerations and AIS sum one parity out analytically.
 */
import { ELEM, type Graph } from '../onnx/model.js';
import { layersOfParity } from './dbm.js';
import { RbmGraph } from './graphs.js';

/** Inputs W0 … W{L−1} and one bias (and offset) per layer, named as the trainer and likelihood feed them. */
class DbmGraph extends RbmGraph {
  readonly W: string[] = [];
  readonly Wt: string[] = [];
  constructor(readonly sizes: number[]) {
    super();
    const L = sizes.length - 1;
    for (let l = 0; l < L; l++) {
      this.W.push(this.input(`W${l}`, [sizes[l]!, sizes[l + 1]!]));
      this.Wt.push(this.b.op('Transpose', [this.W[l]!], { perm: [1, 0] }));
    }
  }
  /** Make later layer inputs (pre, product) use the weights `W` (e.g. those after an update). */
  useWeights(W: string[]): void {
    W.forEach((w, l) => {
      if (this.W[l] === w) return;
      this.W[l] = w;
      this.Wt[l] = this.b.op('Transpose', [w], { perm: [1, 0] });
    });
  }
  private readonly products = new Map<string, string>();
  /** x·M, built once per (x, M): the positive phase's rounds reuse the clamped visible layer's input to layer 1. */
  product(x: string, M: string): string {
    const key = `${x}\u0000${M}`;
    let out = this.products.get(key);
    if (!out) {
      out = this.matmul(x, M);
      this.products.set(key, out);
    }
    return out;
  }
  /**
   * x·M for several x at once, as one product of their rows stacked (one GEMM of 2B rows runs
   * faster than two of B), then split; later {@link product} calls on these pairs reuse the parts.
   */
  stackedProducts(xs: string[], M: string): void {
    const { b } = this;
    const rows = xs.map((x) => b.op('Slice', [b.op('Shape', [x]), b.ints([0]), b.ints([1])]));
    const parts = b.opN('Split', [this.matmul(b.op('Concat', xs, { axis: 0 }), M), b.op('Concat', rows, { axis: 0 })], xs.length, { axis: 0 });
    xs.forEach((x, k) => this.products.set(`${x}\u0000${M}`, parts[k]!));
  }
  get L(): number {
    return this.sizes.length - 1;
  }
  vectors(prefix: string): string[] {
    return this.sizes.map((n, l) => this.input(`${prefix}${l}`, [n]));
  }
  /**
   * Input to layer l from its neighbours' states (rows): bias + x⁽ˡ⁻¹⁾ W⁽ˡ⁻¹⁾ + x⁽ˡ⁺¹⁾ W⁽ˡ⁾ᵀ, where
   * a neighbour given as null contributes nothing (a centered layer sitting at its offset).
   */
  pre(l: number, bias: string | null, below: string | null, above: string | null): string {
    const parts: string[] = [];
    if (bias) parts.push(bias);
    if (below) parts.push(this.product(below, this.W[l - 1]!));
    if (above) parts.push(this.product(above, this.Wt[l]!));
    if (parts.length === 0) throw new Error('internal: a layer input with no terms');
    return parts.reduce((s, p) => this.b.add(s, p));
  }
  /** Columns [start, end) of a 2-D tensor. */
  cols(x: string, start: number, end: number): string {
    return this.b.op('Slice', [x, this.b.ints([start]), this.b.ints([end]), this.b.ints([1])], {}, 'cols');
  }
  /** Σ_j softplus(t_j) over the last axis. */
  softplusSum(t: string): string {
    return this.b.op('ReduceSum', [this.b.op('Softplus', [t]), this.b.ints([-1])], { keepdims: 0 });
  }
  /** Row-wise dot products x · v for x [N, n], v [n] → [N]. */
  dot(x: string, v: string): string {
    return this.b.op('Squeeze', [this.matmul(x, this.b.op('Unsqueeze', [v, this.b.ints([1])])), this.b.ints([1])]);
  }
  /** Offsets (column starts) of the given layers inside a concatenation of them. */
  starts(layers: number[]): Map<number, number> {
    const m = new Map<number, number>();
    let s = 0;
    for (const l of layers) {
      m.set(l, s);
      s += this.sizes[l]!;
    }
    return m;
  }
}

export type PositivePhase = 'meanfield' | 'sample';

export interface DbmStepShape {
  /** Mean-field iterations or Gibbs rounds of the positive phase (the reference code: 5). */
  positiveRounds: number;
  positive: PositivePhase;
  /** Gibbs sweeps on the persistent chains per update (the reference code: 1). */
  negativeSweeps: number;
  /** Whether the `decay` input is used (without it the graph skips a pass over the weights). */
  weightDecay?: boolean;
  /** Updates per graph run (default 1): the parameters and chains cross to the host once per run. */
  updates?: number;
}

/** Total units of all layers, and of the hidden layers. */
export function unitCounts(sizes: number[]): { total: number; hidden: number } {
  const total = sizes.reduce((s, n) => s + n, 0);
  return { total, hidden: total - sizes[0]! };
}

/**
 * One training update of a centered DBM (zero offsets and ν = 0: the usual DBM), after the
 * reference code of arXiv 1203.3783 (digest §5.3):
 * - positive phase: visible clamped to the batch x, hidden layers start at their offsets (no
 *   influence in the centered form); `positiveRounds` rounds of [odd layers; even hidden layers],
 *   each layer set to its conditional mean (mean field) or a Bernoulli sample of it;
 * - negative phase: `negativeSweeps` Gibbs sweeps [odd; even including visible] on the chains;
 * - gradient: W⁽ˡ⁾ += lr·(⟨(x⁽ˡ⁾−o⁽ˡ⁾)ᵀ(x⁽ˡ⁺¹⁾−o⁽ˡ⁺¹⁾)⟩_data − ⟨…⟩_model − decay·W⁽ˡ⁾),
 *   b⁽ˡ⁾ += lr·(⟨x⁽ˡ⁾⟩_data − ⟨x⁽ˡ⁾⟩_model);
 * - offsets: hidden δ⁽ˡ⁾ = ν(⟨x⁽ˡ⁾⟩_data − o⁽ˡ⁾) (the visible offset stays at the data mean), with the
 *   bias shift b⁽ˡ⁾ += W⁽ˡ⁾δ⁽ˡ⁺¹⁾ + W⁽ˡ⁻¹⁾ᵀδ⁽ˡ⁻¹⁾ under the updated weights, so the offset move
 *   leaves the updated model's distribution unchanged.
 *
 * `shape.updates` (S) such updates run in sequence in one graph, update s on batch x[s].
 * Inputs: W{l}, b{l}, o{l}, x [S,B,n₀], m{l} [C,n_l] (chains), u_neg [S,K,C,Σn], u_pos
 * [S,P,B,Σhidden] (sampled positive phase only), lr, nu, decay (read only when shape.weightDecay).
 * Outputs: W{l}_new, b{l}_new, o{l}_new, m{l}_new after the S updates, recon [S] (per update: the
 * mean squared error of x against σ(input to layer 0 from the positive phase's layer 1)).
 */
export function buildDbmStepGraph(sizes: number[], shape: DbmStepShape): Graph {
  const { positiveRounds: P, negativeSweeps: K } = shape;
  const S = shape.updates ?? 1;
  if (!Number.isInteger(P) || P < 1) throw new Error(`positive-phase rounds must be an integer ≥ 1, got ${P}`);
  if (!Number.isInteger(K) || K < 1) throw new Error(`negative-phase Gibbs sweeps must be an integer ≥ 1, got ${K}`);
  if (!Number.isInteger(S) || S < 1) throw new Error(`updates per graph run must be an integer ≥ 1, got ${S}`);
  const r = new DbmGraph(sizes);
  const { b, L } = r;
  const { total, hidden } = unitCounts(sizes);
  const inputs: StepInputs = {
    lr: r.input('lr', []),
    nu: r.input('nu', []),
    decay: r.input('decay', []),
  };
  let state: StepState = { W: [...r.W], b: r.vectors('b'), o: r.vectors('o'), m: sizes.map((n, l) => r.input(`m${l}`, ['C', n])) };
  const x = r.input('x', [S, 'B', sizes[0]!]);
  const uNeg = r.input('u_neg', [S, K, 'C', total]);
  const uPos = shape.positive === 'sample' ? r.input('u_pos', [S, P, 'B', hidden]) : null;
  const recons: string[] = [];
  for (let s = 0; s < S; s++) {
    r.useWeights(state.W);
    const out = oneUpdate(r, shape, state, inputs, r.squeezeRow(x, s), r.squeezeRow(uNeg, s), uPos ? r.squeezeRow(uPos, s) : null);
    state = out.state;
    recons.push(b.op('Unsqueeze', [out.recon, b.ints([0])]));
  }
  for (let l = 0; l <= L; l++) {
    r.output(`b${l}_new`, state.b[l]!, [sizes[l]!]);
    r.output(`o${l}_new`, state.o[l]!, [sizes[l]!]);
    r.output(`m${l}_new`, state.m[l]!, ['C', sizes[l]!]);
  }
  r.output('recon', recons.length === 1 ? recons[0]! : b.op('Concat', recons, { axis: 0 }), [S]);
  for (let l = 0; l < L; l++) r.outputInPlace(`W${l}_new`, state.W[l]!, [sizes[l]!, sizes[l + 1]!]);
  return r.g;
}

/** Tensor names of the parameters and chains between updates. */
interface StepState {
  W: string[];
  b: string[];
  o: string[];
  m: string[];
}

interface StepInputs {
  lr: string;
  nu: string;
  decay: string;
}

/** One update (see buildDbmStepGraph) on the batch x [B, n₀] with uniforms uNeg [K, C, Σn] and uPos [P, B, Σhidden]. */
function oneUpdate(r: DbmGraph, shape: DbmStepShape, st: StepState, inp: StepInputs, x: string, uNeg: string, uPos: string | null) {
  const { b, L, sizes } = r;
  const { positiveRounds: P, negativeSweeps: K } = shape;
  const { lr, nu, decay } = inp;
  const bias = st.b;
  const off = st.o;
  const odd = layersOfParity(L, 'odd');
  const evenHidden = layersOfParity(L, 'even').filter((l) => l > 0);
  const evenAll = layersOfParity(L, 'even');
  const startAll = r.starts(sizes.map((_, l) => l));
  const startHidden = r.starts(sizes.map((_, l) => l).slice(1));

  // Positive phase, in centered coordinates: cd[l] = x⁽ˡ⁾ − o⁽ˡ⁾, null while the layer sits at its offset.
  const xd: (string | null)[] = sizes.map(() => null);
  const cd: (string | null)[] = sizes.map(() => null);
  xd[0] = x;
  cd[0] = b.sub(x, off[0]!);
  // The chains' visible layer meets W⁽⁰⁾ in the negative phase's first step, as the batch does in
  // the positive phase: one product for both (the phases do not depend on each other).
  const xm = [...st.m];
  const cm = st.m.map((m, l) => b.sub(m, off[l]!));
  r.stackedProducts([cd[0], cm[0]!], r.W[0]!);
  const updateData = (l: number, round: number) => {
    const mean = r.sigmoid(r.pre(l, bias[l]!, cd[l - 1]!, l < L ? cd[l + 1]! : null));
    const s = startHidden.get(l)!;
    xd[l] = uPos ? r.bernoulli(mean, r.cols(r.squeezeRow(uPos, round), s, s + sizes[l]!)) : mean;
    cd[l] = b.sub(xd[l]!, off[l]!);
  };
  for (let round = 0; round < P; round++) {
    for (const l of odd) updateData(l, round);
    for (const l of evenHidden) updateData(l, round);
  }

  // Negative phase on the persistent chains.
  const updateModel = (l: number, sweep: number) => {
    const mean = r.sigmoid(r.pre(l, bias[l]!, l > 0 ? cm[l - 1]! : null, l < L ? cm[l + 1]! : null));
    const s = startAll.get(l)!;
    xm[l] = r.bernoulli(mean, r.cols(r.squeezeRow(uNeg, sweep), s, s + sizes[l]!));
    cm[l] = b.sub(xm[l]!, off[l]!);
  };
  for (let sweep = 0; sweep < K; sweep++) {
    for (const l of odd) updateModel(l, sweep);
    // The reconstruction (below) and the chains' first visible step both multiply by W⁽⁰⁾ᵀ.
    if (sweep === 0) r.stackedProducts([cd[1]!, cm[1]!], r.Wt[0]!);
    for (const l of evenAll) updateModel(l, sweep);
  }

  // W⁽ˡ⁾ + lr·(⟨cdᵀcd⟩ − ⟨cmᵀcm⟩) as one Gemm over the stacked data and chain rows, the factors
  // ±lr/rows applied to the small left operand, so no elementwise pass touches a weight-sized
  // tensor except the decay's W·(1 − lr·decay) (built only when the trainer uses decay).
  const rows = (t: string) => b.op('Cast', [b.op('Gather', [b.op('Shape', [t]), b.ints([0])])], { to: ELEM.FLOAT });
  const scaleD = b.div(lr, rows(x));
  const scaleM = b.op('Neg', [b.div(lr, rows(st.m[0]!))]);
  const keep = shape.weightDecay ? b.sub(b.scalar(1), b.mul(lr, decay)) : null;
  const Wn: string[] = [];
  for (let l = 0; l < L; l++) {
    const left = b.op('Concat', [b.mul(cd[l]!, scaleD), b.mul(cm[l]!, scaleM)], { axis: 0 });
    const right = b.op('Concat', [cd[l + 1]!, cm[l + 1]!], { axis: 0 });
    const base = keep ? b.mul(r.W[l]!, keep) : r.W[l]!;
    Wn.push(b.op('Gemm', [left, right, base], { transA: 1, alpha: 1, beta: 1 }));
  }
  const meanData = xd.map((t) => r.mean0(t!));
  const delta = sizes.map((_, l) => (l === 0 ? null : b.mul(nu, b.sub(meanData[l]!, off[l]!))));
  // Products of a weight matrix with a vector as row Gemms: ONNX Runtime's MatMul with a 1-D
  // operand is far slower than the same product as Gemm on a [1, n] row.
  const row = (v: string) => b.op('Unsqueeze', [v, b.ints([0])]);
  const flat = (t: string) => b.op('Reshape', [t, b.ints([-1])]);
  const bn: string[] = [];
  const on: string[] = [];
  for (let l = 0; l <= L; l++) {
    let bl = b.add(bias[l]!, b.mul(lr, b.sub(meanData[l]!, r.mean0(xm[l]!))));
    if (l < L) bl = b.add(bl, flat(b.op('Gemm', [row(delta[l + 1]!), Wn[l]!], { transB: 1 })));
    if (l > 1) bl = b.add(bl, flat(b.op('Gemm', [row(delta[l - 1]!), Wn[l - 1]!])));
    bn.push(bl);
    on.push(l === 0 ? off[0]! : b.add(off[l]!, delta[l]!));
  }
  const recon = r.sigmoid(r.pre(0, bias[0]!, null, cd[1]!));
  return {
    state: { W: Wn, b: bn, o: on, m: xm },
    recon: b.op('ReduceMean', [b.op('Pow', [b.sub(x, recon), b.scalar(2)])], { keepdims: 0 }),
  };
}

/**
 * Unnormalised log-marginal of states of the odd layers, all even layers (visible included)
 * summed out analytically, uncentered energy:
 *   g(x_odd) = Σ_{l odd} a⁽ˡ⁾ᵀx⁽ˡ⁾ + Σ_{l even} Σ_j softplus(a⁽ˡ⁾ + x⁽ˡ⁻¹⁾W⁽ˡ⁻¹⁾ + x⁽ˡ⁺¹⁾W⁽ˡ⁾ᵀ)_j,
 * and its log-sum-exp over the rows: over all 2^(Σ odd sizes) states that is log Z.
 * Inputs: W{l}, a{l}, states [S, Σ odd sizes] (odd layers side by side). Outputs: g [S], lse [].
 */
export function buildDbmOddMarginalGraph(sizes: number[]): Graph {
  const r = new DbmGraph(sizes);
  const { b, L } = r;
  const a = r.vectors('a');
  const odd = layersOfParity(L, 'odd');
  const start = r.starts(odd);
  const m = odd.reduce((s, l) => s + sizes[l]!, 0);
  const states = r.input('states', ['S', m]);
  const xs = new Map<number, string>(odd.map((l) => [l, r.cols(states, start.get(l)!, start.get(l)! + sizes[l]!)]));
  const parts = odd.map((l) => r.dot(xs.get(l)!, a[l]!));
  for (const l of layersOfParity(L, 'even')) parts.push(r.softplusSum(r.pre(l, a[l]!, xs.get(l - 1) ?? null, xs.get(l + 1) ?? null)));
  const g = b.sum(parts);
  r.output('g', g, ['S']);
  r.output('lse', b.op('ReduceLogSumExp', [g], { axes: [0], keepdims: 0 }), []);
  return r.g;
}

/**
 * Unnormalised log p*(v) of visible rows, hidden layers summed out: the even hidden layers are
 * enumerated (rows of `states`, side by side; none for a one-hidden-layer model) and the odd
 * layers summed out analytically given them and v, uncentered energy:
 *   log p*(v) = a⁽⁰⁾ᵀv + log Σ_{x_even} exp( Σ_{l even ≥ 2} a⁽ˡ⁾ᵀx⁽ˡ⁾
 *               + Σ_{l odd} Σ_j softplus(a⁽ˡ⁾ + x⁽ˡ⁻¹⁾W⁽ˡ⁻¹⁾ + x⁽ˡ⁺¹⁾W⁽ˡ⁾ᵀ)_j ).
 * Summing the partial log-sum-exps of batches of states gives the total.
 * Inputs: W{l}, a{l}, v [N, n₀], states [S, Σ even hidden sizes] (L ≥ 2). Output: logp [N].
 */
export function buildDbmVisibleGraph(sizes: number[]): Graph {
  const r = new DbmGraph(sizes);
  const { b, L } = r;
  const a = r.vectors('a');
  const v = r.input('v', ['N', sizes[0]!]);
  const evenHidden = layersOfParity(L, 'even').filter((l) => l > 0);
  const lin = r.dot(v, a[0]!);
  if (evenHidden.length === 0) {
    r.output('logp', b.add(lin, r.softplusSum(r.pre(1, a[1]!, v, null))), ['N']);
    return r.g;
  }
  const start = r.starts(evenHidden);
  const m = evenHidden.reduce((s, l) => s + sizes[l]!, 0);
  const states = r.input('states', ['S', m]);
  const xs = new Map<number, string>(evenHidden.map((l) => [l, r.cols(states, start.get(l)!, start.get(l)! + sizes[l]!)]));
  // Per state: the even layers' linear terms and the odd layers ≥ 3 (which do not see v) → [S].
  const perState = evenHidden.map((l) => r.dot(xs.get(l)!, a[l]!));
  for (const l of layersOfParity(L, 'odd').filter((l) => l > 1)) perState.push(r.softplusSum(r.pre(l, a[l]!, xs.get(l - 1)!, xs.get(l + 1) ?? null)));
  // Layer 1 sees v and x⁽²⁾: [N, 1, n₁] + [1, S, n₁].
  const fromV = b.op('Unsqueeze', [b.add(r.matmul(v, r.W[0]!), a[1]!), b.ints([1])]);
  const fromS = b.op('Unsqueeze', [r.matmul(xs.get(2)!, r.Wt[1]!), b.ints([0])]);
  const layer1 = r.softplusSum(b.add(fromV, fromS));
  const total = b.add(layer1, b.op('Unsqueeze', [b.sum(perState), b.ints([0])]));
  r.output('logp', b.add(lin, b.op('ReduceLogSumExp', [total], { axes: [1], keepdims: 0 })), ['N']);
  return r.g;
}

/**
 * `steps` AIS temperatures for a DBM, the state being the odd layers (even layers summed out, as
 * Salakhutdinov & Hinton 2009 do for two hidden layers), on the path
 *   E_β(x) = (1 − β)·(−aBᵀx⁽⁰⁾) + β·E(x)  (uncentered E; β = 0: visible ~ σ(aB), hidden uniform):
 *   log p*_β(x_odd) = β Σ_{l odd} a⁽ˡ⁾ᵀx⁽ˡ⁾ + Σ_j softplus((1 − β) aB + β(a⁽⁰⁾ + x⁽¹⁾W⁽⁰⁾ᵀ))_j
 *                     + Σ_{l even ≥ 2} Σ_j softplus(β(a⁽ˡ⁾ + x⁽ˡ⁻¹⁾W⁽ˡ⁻¹⁾ + x⁽ˡ⁺¹⁾W⁽ˡ⁾ᵀ))_j.
 * For t = 1..steps: w += log p*_{β_t}(x) − log p*_{β_{t−1}}(x), then one Gibbs sweep at β_t
 * (even layers given odd, then odd given even).
 * Inputs: W{l}, a{l}, aB [n₀], betas [steps + 1], x [M, Σ odd sizes], u [steps, M, Σ all sizes].
 * Outputs: dlogw [M], x_new [M, Σ odd sizes].
 */
export function buildDbmAisGraph(sizes: number[], steps: number): Graph {
  const r = new DbmGraph(sizes);
  const { b, L } = r;
  const a = r.vectors('a');
  const aB = r.input('aB', [sizes[0]!]);
  const betas = r.input('betas', [steps + 1]);
  const odd = layersOfParity(L, 'odd');
  const even = layersOfParity(L, 'even');
  const start = r.starts(odd);
  const startAll = r.starts(sizes.map((_, l) => l));
  const m = odd.reduce((s, l) => s + sizes[l]!, 0);
  const { total } = unitCounts(sizes);
  const x0 = r.input('x', ['M', m]);
  const u = r.input('u', [steps, 'M', total]);
  const one = b.scalar(1);
  const beta = (t: number) => b.op('Squeeze', [r.row(betas, t), b.ints([0])]);
  // Input to even layer l given the odd layers, target model (β applied by the caller).
  const evenPre = (l: number, xs: Map<number, string>) => r.pre(l, a[l]!, xs.get(l - 1) ?? null, xs.get(l + 1) ?? null);
  const visibleIn = (bt: string, pre0: string) => b.add(b.mul(b.sub(one, bt), aB), b.mul(bt, pre0));
  let xs = new Map<number, string>(odd.map((l) => [l, r.cols(x0, start.get(l)!, start.get(l)! + sizes[l]!)]));
  const parts: string[] = [];
  let prev = beta(0);
  for (let t = 1; t <= steps; t++) {
    const cur = beta(t);
    const lin = b.sum(odd.map((l) => r.dot(xs.get(l)!, a[l]!)));
    const pres = new Map<number, string>(even.map((l) => [l, evenPre(l, xs)]));
    const logStar = (bt: string) => {
      const terms = [b.mul(bt, lin), r.softplusSum(visibleIn(bt, pres.get(0)!))];
      for (const l of even) if (l > 0) terms.push(r.softplusSum(b.mul(bt, pres.get(l)!)));
      return b.sum(terms);
    };
    parts.push(b.sub(logStar(cur), logStar(prev)));
    const ut = r.squeezeRow(u, t - 1);
    const sample = (l: number, input: string) => r.bernoulli(r.sigmoid(input), r.cols(ut, startAll.get(l)!, startAll.get(l)! + sizes[l]!));
    const ev = new Map<number, string>();
    for (const l of even) ev.set(l, sample(l, l === 0 ? visibleIn(cur, pres.get(0)!) : b.mul(cur, pres.get(l)!)));
    const next = new Map<number, string>();
    for (const l of odd) next.set(l, sample(l, b.mul(cur, r.pre(l, a[l]!, ev.get(l - 1)!, ev.get(l + 1) ?? null))));
    xs = next;
    prev = cur;
  }
  r.output('dlogw', b.sum(parts), ['M']);
  const xNew =
    odd.length === 1
      ? xs.get(odd[0]!)!
      : b.op(
          'Concat',
          odd.map((l) => xs.get(l)!),
          { axis: 1 },
        );
  r.output('x_new', xNew, ['M', m]);
  return r.g;
}

/** The layers of each parity, and where each layer's units start inside its parity's concatenation. */
export function parityLayout(sizes: number[]): { odd: number[]; even: number[]; start: Map<number, number>; nOdd: number; nEven: number } {
  const L = sizes.length - 1;
  const odd = layersOfParity(L, 'odd');
  const even = layersOfParity(L, 'even');
  const start = new Map<number, number>();
  let nOdd = 0;
  let nEven = 0;
  for (let l = 0; l <= L; l++) {
    if (l % 2 === 1) {
      start.set(l, nOdd);
      nOdd += sizes[l]!;
    } else {
      start.set(l, nEven);
      nEven += sizes[l]!;
    }
  }
  return { odd, even, start, nOdd, nEven };
}

/**
 * `sweeps` block-Gibbs sweeps of a DBM (centered form, as in training): each sweep samples all odd
 * layers given their neighbours, then all even layers, visible included (arXiv 1203.3783; digest
 * §5.5 item 5):
 *   p(x⁽ˡ⁾ = 1 | rest) = σ(b⁽ˡ⁾ + (x⁽ˡ⁻¹⁾ − o⁽ˡ⁻¹⁾) W⁽ˡ⁻¹⁾ + (x⁽ˡ⁺¹⁾ − o⁽ˡ⁺¹⁾) W⁽ˡ⁾ᵀ).
 * The layers of one parity sit side by side (x_E = [x⁽⁰⁾ | x⁽²⁾ | …], x_O = [x⁽¹⁾ | x⁽³⁾ | …]), so a
 * sweep is two products with one block matrix M (rows: even units, columns: odd units; block
 * (l, l + 1) = W⁽ˡ⁾, block (l + 1, l) = W⁽ˡ⁾ᵀ seen from the other side, zero elsewhere), built once
 * per run, and the offsets fold into biases once per run, so the binary states enter the products
 * as they are:
 *   x_O ~ σ(b_O − o_E M + x_E M),   x_E ~ σ(b_E − o_O Mᵀ + x_O Mᵀ).
 * (With three or more hidden layers M has zero blocks, products that cost without contributing.)
 * Inputs: W{l}, b{l}, o{l}, m{l} [C, n_l] (chain states), and per sweep s the uniforms
 * u_odd{s} [C, Σ odd sizes] and u_even{s} [C, Σ even sizes] (the parities' units side by side).
 * Outputs: m{l}_new and visible_mean [C, n₀], the visible layer's conditional mean in the last
 * sweep (what sample grids show).
 */
export function buildDbmGibbsGraph(sizes: number[], sweeps: number): Graph {
  if (!Number.isInteger(sweeps) || sweeps < 1) throw new Error(`Gibbs sweeps must be an integer ≥ 1, got ${sweeps}`);
  const r = new DbmGraph(sizes);
  const { b } = r;
  const bias = r.vectors('b');
  const off = r.vectors('o');
  const chains = sizes.map((n, l) => r.input(`m${l}`, ['C', n]));
  const { odd, even, start, nOdd, nEven } = parityLayout(sizes);
  const side = (layers: number[], parts: string[], axis = -1) =>
    layers.length === 1
      ? parts[layers[0]!]!
      : b.op(
          'Concat',
          layers.map((l) => parts[l]!),
          { axis },
        );
  const block = (e: number, o: number) => {
    if (o === e + 1) return r.W[e]!;
    if (o === e - 1) return r.Wt[o]!;
    return b.op('ConstantOfShape', [b.ints([sizes[e]!, sizes[o]!])]);
  };
  const M = side(
    even.map((_, k) => k),
    even.map((e) =>
      side(
        odd.map((_, k) => k),
        odd.map((o) => block(e, o)),
      ),
    ),
    0,
  );
  const row = (v: string) => b.op('Unsqueeze', [v, b.ints([0])]);
  const flat = (t: string) => b.op('Reshape', [t, b.ints([-1])]);
  const biasOdd = b.sub(side(odd, bias), flat(b.op('Gemm', [row(side(even, off)), M])));
  const biasEven = b.sub(side(even, bias), flat(b.op('Gemm', [row(side(odd, off)), M], { transB: 1 })));
  let xE = side(even, chains);
  let xO = side(odd, chains);
  let meanE = '';
  for (let s = 0; s < sweeps; s++) {
    xO = r.bernoulli(r.sigmoid(b.op('Gemm', [xE, M, biasOdd])), r.input(`u_odd${s}`, ['C', nOdd]));
    meanE = r.sigmoid(b.op('Gemm', [xO, M, biasEven], { transB: 1 }));
    xE = r.bernoulli(meanE, r.input(`u_even${s}`, ['C', nEven]));
  }
  const part = (x: string, layers: number[], l: number) => (layers.length === 1 ? x : r.cols(x, start.get(l)!, start.get(l)! + sizes[l]!));
  for (const l of odd) r.output(`m${l}_new`, part(xO, odd, l), ['C', sizes[l]!]);
  for (const l of even) r.output(`m${l}_new`, part(xE, even, l), ['C', sizes[l]!]);
  r.output('visible_mean', part(meanE, even, 0), ['C', sizes[0]!]);
  return r.g;
}
