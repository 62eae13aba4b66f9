/**
 * The RBM's ONNX graphs: one CD-k/PCD update step, the batched enumeration behind exact log Z and
 * the free energy, and a block of AIS temperatures. Parameters, data and uniform random numbers are
 * graph inputs, so one session serves every step and the seeded generator (fed from TypeScript)
 * makes a run repeat exactly. Sampling is `u < p` with u uniform in [0, 1).
 */
import { GraphBuilder } from '../onnx/builder.js';
import { ELEM, type Graph } from '../onnx/model.js';

type Dim = number | string;

function emptyGraph(): Graph {
  return { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
}

export class RbmGraph {
  readonly g = emptyGraph();
  readonly b = new GraphBuilder(this.g, 'rbm');
  input(name: string, shape: Dim[]): string {
    this.g.inputs.push({ name, elemType: ELEM.FLOAT, shape });
    return name;
  }
  output(name: string, value: string, shape: Dim[]): void {
    this.g.nodes.push({ op: 'Identity', name: `${name}_out`, inputs: [value], outputs: [name], attrs: {} });
    this.g.outputs.push({ name, elemType: ELEM.FLOAT, shape });
  }
  /**
   * Like {@link output}, but the node computing `value` writes `name` directly (an Identity would
   * copy it, e.g. a whole weight matrix per update) and its existing readers are renamed. Only for
   * the graph's last outputs: a node added later that reads `value` would find no such tensor.
   */
  outputInPlace(name: string, value: string, shape: Dim[]): void {
    const producer = this.g.nodes.find((n) => n.outputs.includes(value));
    if (!producer) {
      this.output(name, value, shape);
      return;
    }
    producer.outputs = producer.outputs.map((o) => (o === value ? name : o));
    for (const n of this.g.nodes) n.inputs = n.inputs.map((i) => (i === value ? name : i));
    this.g.outputs.push({ name, elemType: ELEM.FLOAT, shape });
  }
  matmul(x: string, y: string): string {
    return this.b.op('MatMul', [x, y]);
  }
  sigmoid(x: string): string {
    return this.b.op('Sigmoid', [x]);
  }
  /** 1 where u < p, else 0 (a Bernoulli(p) sample from a uniform u). */
  bernoulli(p: string, u: string): string {
    return this.b.op('Cast', [this.b.op('Less', [u, p])], { to: ELEM.FLOAT });
  }
  /** Row `k` of a stacked input [K, …]. */
  row(x: string, k: number): string {
    return this.b.op('Gather', [x, this.b.ints([k])], { axis: 0 }, 'row');
  }
  squeezeRow(x: string, k: number): string {
    return this.b.op('Squeeze', [this.row(x, k), this.b.ints([0])]);
  }
  mean0(x: string): string {
    return this.b.op('ReduceMean', [x], { axes: [0], keepdims: 0 });
  }
  sum1(x: string): string {
    return this.b.op('ReduceSum', [x, this.b.ints([1])], { keepdims: 0 });
  }
}

/**
 * One training step, centered form (zero offsets and ν = 0 train the usual RBM):
 * positive statistics from p(h | data); k Gibbs sweeps from `chains` (the batch itself for CD-k,
 * the persistent particles for PCD); gradient with weight decay; then the hidden offsets move
 * towards the batch's mean p(h | data) at rate ν, the visible bias taking the shift W·δ_h so that
 * the updated model's distribution is unchanged.
 *
 * Inputs: W [nv,nh], a [nv], c [nh], ov [nv], oh [nh], x [B,nv], chains [C,nv],
 * uh [k,C,nh], uv [k,C,nv], lr, nu, decay (scalars). Outputs: W_new, a_new, c_new, oh_new,
 * chains_new [C,nv], recon (mean squared error of the mean-field reconstruction of x).
 */
export function buildRbmStepGraph(nv: number, nh: number, k: number): Graph {
  if (!Number.isInteger(k) || k < 1) throw new Error(`Gibbs sweeps k must be an integer ≥ 1, got ${k}`);
  const r = new RbmGraph();
  const { b } = r;
  const W = r.input('W', [nv, nh]);
  const a = r.input('a', [nv]);
  const c = r.input('c', [nh]);
  const ov = r.input('ov', [nv]);
  const oh = r.input('oh', [nh]);
  const x = r.input('x', ['B', nv]);
  const chains = r.input('chains', ['C', nv]);
  const uh = r.input('uh', [k, 'C', nh]);
  const uv = r.input('uv', [k, 'C', nv]);
  const lr = r.input('lr', []);
  const nu = r.input('nu', []);
  const decay = r.input('decay', []);
  const Wt = b.op('Transpose', [W], { perm: [1, 0] });
  const hidden = (v: string) => r.sigmoid(b.add(r.matmul(b.sub(v, ov), W), c));
  const visible = (h: string) => r.sigmoid(b.add(r.matmul(b.sub(h, oh), Wt), a));

  const xc = b.sub(x, ov);
  const phData = hidden(x);
  let v = chains;
  for (let s = 0; s < k; s++) {
    const h = r.bernoulli(hidden(v), r.squeezeRow(uh, s));
    v = r.bernoulli(visible(h), r.squeezeRow(uv, s));
  }
  const phModel = hidden(v);
  const rows = (t: string) => b.op('Cast', [b.op('Gather', [b.op('Shape', [t]), b.ints([0])])], { to: ELEM.FLOAT });
  const outer = (left: string, right: string) => b.div(r.matmul(b.op('Transpose', [left], { perm: [1, 0] }), right), rows(left));
  const gW = b.sub(b.sub(outer(xc, b.sub(phData, oh)), outer(b.sub(v, ov), b.sub(phModel, oh))), b.mul(decay, W));
  const ga = b.sub(r.mean0(x), r.mean0(v));
  const meanHData = r.mean0(phData);
  const gc = b.sub(meanHData, r.mean0(phModel));
  const W1 = b.add(W, b.mul(lr, gW));
  const a1 = b.add(a, b.mul(lr, ga));
  const c1 = b.add(c, b.mul(lr, gc));
  const dh = b.mul(nu, b.sub(meanHData, oh));
  // W·δ_h as the row δ_hᵀWᵀ: ONNX Runtime's MatMul of a matrix by a 1-D vector is far slower than this Gemm.
  const a2 = b.add(a1, b.op('Reshape', [b.op('Gemm', [b.op('Unsqueeze', [dh, b.ints([0])]), W1], { transB: 1 }), b.ints([-1])]));
  const oh2 = b.add(oh, dh);
  const recon = b.op('ReduceMean', [b.op('Pow', [b.sub(x, visible(phData)), b.scalar(2)])], { keepdims: 0 });
  r.output('W_new', W1, [nv, nh]);
  r.output('a_new', a2, [nv]);
  r.output('c_new', c1, [nh]);
  r.output('oh_new', oh2, [nh]);
  r.output('chains_new', v, ['C', nv]);
  r.output('recon', recon, []);
  return r.g;
}

/**
 * Unnormalised log-marginal of states of one layer with the other layer summed out analytically,
 * in the uncentered form: for rows s of `states` [N, m],
 *   g(s) = bmᵀs + Σ_j softplus(bo_j + (s Wm)_j),
 * and its log-sum-exp over the rows. With m = hidden (Wm = Wᵀ, bm = c, bo = a) the log-sum-exp over
 * all 2^nh states is log Z; with m = visible (Wm = W, bm = a, bo = c) g is −F(v).
 * Inputs: states [N,m], Wm [m,n], bm [m], bo [n]. Outputs: g [N], lse [].
 */
export function buildMarginalGraph(m: number, n: number): Graph {
  const r = new RbmGraph();
  const { b } = r;
  const s = r.input('states', ['N', m]);
  const Wm = r.input('Wm', [m, n]);
  const bm = r.input('bm', [m]);
  const bo = r.input('bo', [n]);
  const lin = r.matmul(s, b.op('Unsqueeze', [bm, b.ints([1])]));
  const g = b.add(b.op('Squeeze', [lin, b.ints([1])]), r.sum1(b.op('Softplus', [b.add(r.matmul(s, Wm), bo)])));
  r.output('g', g, ['N']);
  r.output('lse', b.op('ReduceLogSumExp', [g], { axes: [0], keepdims: 0 }), []);
  return r.g;
}

/**
 * `steps` AIS temperatures on the geometric path between a base RBM with zero weights and zero
 * hidden biases (visible biases aB) and the target (uncentered W, a, c), hidden units summed out:
 *   log p*_β(v) = (1 − β) aBᵀv + β aᵀv + Σ_j softplus(β (c_j + (vW)_j)).
 * For t = 1..steps: w += log p*_{β_t}(v) − log p*_{β_{t−1}}(v), then one Gibbs sweep at β_t
 * (h ~ σ(β (c + vW)), v ~ σ((1 − β) aB + β (a + W h))).
 * Inputs: W, a, c, aB, betas [steps + 1], v [M,nv], uh [steps,M,nh], uv [steps,M,nv].
 * Outputs: dlogw [M] (the increments' sum), v_new [M,nv].
 */
export function buildAisGraph(nv: number, nh: number, steps: number): Graph {
  const r = new RbmGraph();
  const { b } = r;
  const W = r.input('W', [nv, nh]);
  const a = r.input('a', [nv]);
  const c = r.input('c', [nh]);
  const aB = r.input('aB', [nv]);
  const betas = r.input('betas', [steps + 1]);
  const v0 = r.input('v', ['M', nv]);
  const uh = r.input('uh', [steps, 'M', nh]);
  const uv = r.input('uv', [steps, 'M', nv]);
  const Wt = b.op('Transpose', [W], { perm: [1, 0] });
  const one = b.scalar(1);
  const beta = (t: number) => b.op('Squeeze', [r.row(betas, t), b.ints([0])]);
  const dot = (v: string, bias: string) => b.op('Squeeze', [r.matmul(v, b.op('Unsqueeze', [bias, b.ints([1])])), b.ints([1])]);
  const logStar = (bt: string, xa: string, xb: string, hin: string) =>
    b.add(b.add(b.mul(b.sub(one, bt), xb), b.mul(bt, xa)), r.sum1(b.op('Softplus', [b.mul(bt, hin)])));
  let v = v0;
  const parts: string[] = [];
  let prev = beta(0);
  for (let t = 1; t <= steps; t++) {
    const cur = beta(t);
    const hin = b.add(r.matmul(v, W), c);
    const xa = dot(v, a);
    const xb = dot(v, aB);
    parts.push(b.sub(logStar(cur, xa, xb, hin), logStar(prev, xa, xb, hin)));
    const h = r.bernoulli(r.sigmoid(b.mul(cur, hin)), r.squeezeRow(uh, t - 1));
    const vin = b.add(b.mul(b.sub(one, cur), aB), b.mul(cur, b.add(a, r.matmul(h, Wt))));
    v = r.bernoulli(r.sigmoid(vin), r.squeezeRow(uv, t - 1));
    prev = cur;
  }
  r.output('dlogw', b.sum(parts), ['M']);
  r.output('v_new', v, ['M', nv]);
  return r.g;
}
