/**
 * The ONNX graphs of Wasserstein RBM training (Montavon, Müller & Cuturi, arXiv 1507.01972): the
 * cost matrix between two sets of binary vectors, a block of log-domain Sinkhorn iterations,
 * (conditional) Gibbs sweeps, and the update step whose gradient is a model covariance of the
 * dual potential with the free-energy gradient. Like graphs.ts, every parameter, datum and uniform
 * is a graph input, so one session serves every step and a seeded run repeats exactly.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { ELEM, type Graph, graphAttribute } from '../onnx/model.js';
import { RbmGraph } from './graphs.js';

/**
 * Cost M [n, m] between the rows of x [n, d] and y [m, d] under the quadratic form
 *   d(x, y) = (x − y)ᵀ C (x − y) = xᵀCx + yᵀCy − 2 xᵀC y,
 * which for C = I and binary vectors is the Hamming distance. Inputs: x, y, C [d, d]. Output: M.
 */
export function buildCostGraph(d: number): Graph {
  const r = new RbmGraph();
  const { b } = r;
  const x = r.input('x', ['N', d]);
  const y = r.input('y', ['M', d]);
  const C = r.input('C', [d, d]);
  const xC = r.matmul(x, C);
  const xx = b.op('Unsqueeze', [r.sum1(b.mul(xC, x)), b.ints([1])]);
  const yy = b.op('Unsqueeze', [r.sum1(b.mul(r.matmul(y, C), y)), b.ints([0])]);
  const cross = r.matmul(xC, b.op('Transpose', [y], { perm: [1, 0] }));
  // Rounding can leave −0.0…; a cost is never negative.
  const M = b.relu(b.sub(b.add(xx, yy), b.mul(b.scalar(2), cross)));
  r.output('M', M, ['N', 'M']);
  return r.g;
}

/**
 * `iters` Sinkhorn iterations for entropy-regularised optimal transport in the log domain
 * (Cuturi 2013, arXiv 1306.0895; the log-domain form avoids the underflow of exp(−M/γ)):
 *   f_i ← γ (log p_i − LSE_j((g_j − M_ij)/γ)),   g_j ← γ (log q_j − LSE_i((f_i − M_ij)/γ)),
 * so that π_ij = exp((f_i + g_j − M_ij)/γ) has column sums q exactly after each iteration.
 * Inputs: M [n,m], logp [n], logq [m], g [m] (warm start; zeros for a cold one), gamma [].
 * Outputs: f [n], g_new [m], err = Σ_i |p_i − Σ_j π_ij| (row-marginal violation), cost = ⟨π, M⟩,
 * dual = fᵀp + gᵀq − γ Σ π_ij, which at convergence equals
 *   W_γ(p, q) = min_π ⟨π, M⟩ + γ Σ π_ij (log π_ij − 1).
 */
export function buildSinkhornGraph(iters: number): Graph {
  if (!Number.isInteger(iters) || iters < 1) throw new Error(`Sinkhorn iterations per block must be an integer ≥ 1, got ${iters}`);
  const r = new RbmGraph();
  const { b } = r;
  const M = r.input('M', ['N', 'M']);
  const logp = r.input('logp', ['N']);
  const logq = r.input('logq', ['M']);
  const g0 = r.input('g', ['M']);
  const gamma = r.input('gamma', []);
  // log Σ exp along `axis`, written out: ORT's ReduceLogSumExp is slower than these four kernels.
  const lse = (t: string, axis: number) => {
    const m = b.op('ReduceMax', [t], { axes: [axis], keepdims: 1 });
    const s = b.op('ReduceSum', [b.op('Exp', [b.sub(t, m)]), b.ints([axis])], { keepdims: 0 });
    return b.add(b.op('Log', [s]), b.op('Squeeze', [m, b.ints([axis])]));
  };
  const row = (t: string) => b.op('Unsqueeze', [t, b.ints([0])]);
  const col = (t: string) => b.op('Unsqueeze', [t, b.ints([1])]);
  // In units of γ (f̃ = f/γ, M̃ = M/γ) each half-iteration is one Sub and one log-sum-exp.
  const Mg = b.div(M, gamma);
  let gs = b.div(g0, gamma);
  let fs = '';
  for (let t = 0; t < iters; t++) {
    fs = b.sub(logp, lse(b.sub(row(gs), Mg), 1));
    gs = b.sub(logq, lse(b.sub(col(fs), Mg), 0));
  }
  const f = b.mul(gamma, fs);
  const g = b.mul(gamma, gs);
  const pi = b.op('Exp', [b.sub(b.add(col(fs), row(gs)), Mg)]);
  const p = b.op('Exp', [logp]);
  const q = b.op('Exp', [logq]);
  const all = (t: string) => b.op('ReduceSum', [t], { keepdims: 0 });
  const err = all(b.op('Abs', [b.sub(p, r.sum1(pi))]));
  const cost = all(b.mul(pi, M));
  const dual = b.sub(b.add(all(b.mul(f, p)), all(b.mul(g, q))), b.mul(gamma, all(pi)));
  r.output('f', f, ['N']);
  r.output('g_new', g, ['M']);
  r.output('err', err, []);
  r.output('cost', cost, []);
  r.output('dual', dual, []);
  return r.g;
}

/**
 * k Gibbs sweeps v → h → v of a centered RBM with an extra per-unit visible bias and clamped
 * units: p(v_i = 1 | h) = σ(a_i + (W(h − o_h))_i + bias_i), and where mask_i = 1, v_i stays at its
 * input value. Chain advancement uses zero bias and mask; completion clamps the observed pixels;
 * denoising adds the flip-noise log-likelihood ratio as the bias (see restore.ts).
 * Inputs: W, a, c, ov, oh, v [C,nv], bias [C,nv], mask [C,nv], uh [k,C,nh], uv [k,C,nv].
 * Outputs: v_new [C,nv], pv_mean [C,nv] (p(v = 1 | h) averaged over the k sweeps; clamped units
 * keep their value).
 */
export function buildGibbsGraph(nv: number, nh: number, k: number): Graph {
  if (!Number.isInteger(k) || k < 1) throw new Error(`Gibbs sweeps k must be an integer ≥ 1, got ${k}`);
  const r = new RbmGraph();
  const { b } = r;
  const W = r.input('W', [nv, nh]);
  const a = r.input('a', [nv]);
  const c = r.input('c', [nh]);
  const ov = r.input('ov', [nv]);
  const oh = r.input('oh', [nh]);
  const v0 = r.input('v', ['C', nv]);
  const bias = r.input('bias', ['C', nv]);
  const mask = r.input('mask', ['C', nv]);
  const uh = r.input('uh', [k, 'C', nh]);
  const uv = r.input('uv', [k, 'C', nv]);
  const Wt = b.op('Transpose', [W], { perm: [1, 0] });
  const keep = b.op('Cast', [mask], { to: 9 });
  const clamp = (t: string) => b.op('Where', [keep, v0, t]);
  let v = v0;
  const means: string[] = [];
  for (let s = 0; s < k; s++) {
    const h = r.bernoulli(r.sigmoid(b.add(r.matmul(b.sub(v, ov), W), c)), r.squeezeRow(uh, s));
    const pv = clamp(r.sigmoid(b.add(b.add(r.matmul(b.sub(h, oh), Wt), a), bias)));
    means.push(pv);
    v = clamp(r.bernoulli(pv, r.squeezeRow(uv, s)));
  }
  r.output('v_new', v, ['C', nv]);
  r.output('pv_mean', b.div(b.sum(means), b.scalar(k)), ['C', nv]);
  return r.g;
}

/**
 * One update of J(θ) = wW·(W_γ(p̂, p_θ) − λ H(p_θ)) + wKL·KL(p̂ ‖ p_θ) + ½ decay ‖W‖², in the
 * centered parameterisation, from model states y_j with weights q_j (1/m for chain samples, p_θ(y)
 * for the enumerated exact distribution) and the model-side dual potentials β_j:
 *   ∇J = wW Cov_q(β + λφ, G) − wKL (E_p̂[G] − E_q[G]) + decay W,
 * where φ = −F is the negative free energy and G = ∇φ = ((y − o_v)(σ(s) − o_h)ᵀ, y − o_v,
 * σ(s) − o_h), s = c + Wᵀ(y − o_v) (arXiv 1507.01972 §3; digest §3.4–3.5: ∇W_γ = −Cov(β, ∇F),
 * ∇H = −Cov(F, ∇F)). The covariance is taken with β + λφ centred under q, so a constant shift of
 * the potentials cancels. Then θ ← θ − lr ∇J, and the hidden offsets move towards the data's mean
 * p(h | x) at rate ν with the visible bias shifted by W δ_h (as the CD step does).
 * Inputs: W, a, c, ov, oh, x [B,nv], y [m,nv], q [m], beta [m], lambda, wW, wKL, lr, nu, decay.
 * Outputs: W_new, a_new, c_new, oh_new, gW, ga, gc (the gradient ∇J), phi [m].
 */
export function buildWassersteinStepGraph(nv: number, nh: number): Graph {
  const r = new RbmGraph();
  const { b } = r;
  const W = r.input('W', [nv, nh]);
  const a = r.input('a', [nv]);
  const c = r.input('c', [nh]);
  const ov = r.input('ov', [nv]);
  const oh = r.input('oh', [nh]);
  const x = r.input('x', ['B', nv]);
  const y = r.input('y', ['M', nv]);
  const q = r.input('q', ['M']);
  const beta = r.input('beta', ['M']);
  const lambda = r.input('lambda', []);
  const wW = r.input('wW', []);
  const wKL = r.input('wKL', []);
  const lr = r.input('lr', []);
  const nu = r.input('nu', []);
  const decay = r.input('decay', []);
  const T = (t: string) => b.op('Transpose', [t], { perm: [1, 0] });
  const col = (t: string) => b.op('Unsqueeze', [t, b.ints([1])]);
  const all = (t: string) => b.op('ReduceSum', [t], { keepdims: 0 });

  const yc = b.sub(y, ov);
  const sy = b.add(r.matmul(yc, W), c);
  const hy = b.sub(r.sigmoid(sy), oh);
  const phi = b.add(b.op('Squeeze', [r.matmul(yc, col(a)), b.ints([1])]), r.sum1(b.sub(b.op('Softplus', [sy]), b.mul(oh, sy))));
  const A = b.add(beta, b.mul(lambda, phi));
  const Ac = b.sub(A, all(b.mul(q, A)));
  const wq = col(b.mul(q, Ac));
  // Cov_q(A, G) = E_q[(A − E_q A) G]; the expectation under q of an outer product is (q∘y)ᵀ h.
  const covW = r.matmul(T(b.mul(wq, yc)), hy);
  const cova = r.sum1(T(b.mul(wq, yc)));
  const covc = r.sum1(T(b.mul(wq, hy)));
  const qc = col(q);
  const modelW = r.matmul(T(b.mul(qc, yc)), hy);
  const modela = r.sum1(T(b.mul(qc, yc)));
  const modelc = r.sum1(T(b.mul(qc, hy)));
  const xc = b.sub(x, ov);
  const phx = r.sigmoid(b.add(r.matmul(xc, W), c));
  const hx = b.sub(phx, oh);
  const rows = b.op('Cast', [b.op('Gather', [b.op('Shape', [x]), b.ints([0])])], { to: 1 });
  const dataW = b.div(r.matmul(T(xc), hx), rows);
  const dataa = r.mean0(xc);
  const datac = r.mean0(hx);
  const grad = (cov: string, data: string, model: string) => b.sub(b.mul(wW, cov), b.mul(wKL, b.sub(data, model)));
  const gW = b.add(grad(covW, dataW, modelW), b.mul(decay, W));
  const ga = grad(cova, dataa, modela);
  const gc = grad(covc, datac, modelc);
  const W1 = b.sub(W, b.mul(lr, gW));
  const a1 = b.sub(a, b.mul(lr, ga));
  const c1 = b.sub(c, b.mul(lr, gc));
  const dh = b.mul(nu, b.sub(r.mean0(phx), oh));
  r.output('W_new', W1, [nv, nh]);
  r.output('a_new', b.add(a1, r.matmul(W1, dh)), [nv]);
  r.output('c_new', c1, [nh]);
  r.output('oh_new', b.add(oh, dh), [nh]);
  r.output('gW', gW, [nv, nh]);
  r.output('ga', ga, [nv]);
  r.output('gc', gc, [nh]);
  r.output('phi', phi, ['M']);
  return r.g;
}

/**
 * The checks that choose the Sinkhorn domain, from M [n,m] and gamma [] without building the
 * kernel: spread = max_i (max_j M_ij − α_i)/γ with α_i = min_j M_ij (the linear kernel's smallest
 * entry is exp(−spread), see buildSinkhornLinearSolveGraph), low = min_ij M_ij and
 * nonfinite = Σ_ij 0·M_ij (NaN exactly when some entry is ±∞ or NaN). All outputs are scalars.
 */
export function buildSinkhornChecksGraph(): Graph {
  const r = new RbmGraph();
  const { b } = r;
  const M = r.input('M', ['N', 'M']);
  const gamma = r.input('gamma', []);
  const alpha = b.op('ReduceMin', [M], { axes: [1], keepdims: 1 });
  const top = b.op('ReduceMax', [M], { axes: [1], keepdims: 1 });
  r.output('spread', b.div(b.op('ReduceMax', [b.sub(top, alpha)], { keepdims: 0 }), gamma), []);
  r.output('low', b.op('ReduceMin', [alpha], { keepdims: 0 }), []);
  r.output('nonfinite', b.op('ReduceSum', [b.mul(M, b.scalar(0))], { keepdims: 0 }), []);
  return r.g;
}

/**
 * Linear-domain (scaling) Sinkhorn solved inside one graph (Sinkhorn & Knopp 1967; Cuturi 2013,
 * arXiv 1306.0895, Algorithm 1). The Gibbs kernel, stabilised by the row minima of the cost (the
 * entropic plan is unchanged by shifting M_ij by α_i, which the potential f absorbs; Peyré &
 * Cuturi, "Computational Optimal Transport" §4.4):
 *   α_i = min_j M_ij,  K_ij = exp(−(M_ij − α_i)/γ),
 * then from v = 1 an ONNX Loop of blocks of `block` iterations
 *   u ← p ⊘ (K v),   v ← q ⊘ (Kᵀ u)
 * (π = diag(u) K diag(v) has column sums q after each iteration; products as K [n,m] × v [m,1] and
 * u [1,n] × K [n,m], since ONNX Runtime's 1-D MatMul is far slower), each block ending with the
 * row sums rows = u ⊙ K v and err = Σ_i |p_i − rows_i|. The loop stops after `blocks` blocks, or
 * when err < tol, or when err is not finite or a scaling leaves [lo, hi]. K never leaves the
 * runtime: handing a large K out and back per block cost more than the iterations.
 * Inputs: M [n,m], gamma [], p [n], q [m], tol [], lo [], hi [], blocks (int64 []).
 * Outputs: u [n], v [m], rows [n], err [], done (int64 [], blocks run), alpha [n] and the
 * transport cost per row, rowcost_i = u_i Σ_j K_ij M_ij v_j (float32; the caller sums in float64).
 */
export function buildSinkhornLinearSolveGraph(block: number): Graph {
  if (!Number.isInteger(block) || block < 1) throw new Error(`Sinkhorn iterations per block must be an integer ≥ 1, got ${block}`);
  const r = new RbmGraph();
  const { b } = r;
  const M = r.input('M', ['N', 'M']);
  const gamma = r.input('gamma', []);
  const p = r.input('p', ['N']);
  const q = r.input('q', ['M']);
  const tol = r.input('tol', []);
  const lo = r.input('lo', []);
  const hi = r.input('hi', []);
  r.g.inputs.push({ name: 'blocks', elemType: ELEM.INT64, shape: [] });
  const alpha = b.op('ReduceMin', [M], { axes: [1], keepdims: 1 });
  const K = b.op('Exp', [b.mul(b.sub(M, alpha), b.op('Neg', [b.op('Reciprocal', [gamma])]))]);
  const pc = b.op('Unsqueeze', [p, b.ints([1])]);
  const qr = b.op('Unsqueeze', [q, b.ints([0])]);

  // The loop body reads K, pc, qr, tol, lo, hi from the enclosing graph by name.
  const body: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: r.g.opset, irVersion: r.g.irVersion, producer: 'relprop' };
  const bb = new GraphBuilder(body, 'sinkhorn_block');
  body.inputs.push(
    { name: 'sinkhorn_block/i', elemType: ELEM.INT64, shape: [] },
    { name: 'sinkhorn_block/cond_in', elemType: ELEM.BOOL, shape: [] },
    { name: 'sinkhorn_block/Kv_in', elemType: ELEM.FLOAT, shape: ['N', 1] },
    { name: 'sinkhorn_block/u_in', elemType: ELEM.FLOAT, shape: ['N', 1] },
    { name: 'sinkhorn_block/v_in', elemType: ELEM.FLOAT, shape: [1, 'M'] },
    { name: 'sinkhorn_block/err_in', elemType: ELEM.FLOAT, shape: [] },
    { name: 'sinkhorn_block/done_in', elemType: ELEM.INT64, shape: [] },
  );
  const asRow = bb.ints([1, -1]);
  const asCol = bb.ints([-1, 1]);
  let Kv = 'sinkhorn_block/Kv_in';
  let uc = '';
  let vr = '';
  for (let t = 0; t < block; t++) {
    uc = bb.div(pc, Kv);
    vr = bb.div(qr, bb.op('MatMul', [bb.op('Reshape', [uc, asRow]), K]));
    Kv = bb.op('MatMul', [K, bb.op('Reshape', [vr, asCol])]);
  }
  const err = bb.op('ReduceSum', [bb.op('Abs', [bb.sub(pc, bb.mul(uc, Kv))])], { keepdims: 0 });
  const inside = (x: string) =>
    bb.op('And', [
      bb.op('GreaterOrEqual', [bb.op('ReduceMin', [x], { keepdims: 0 }), lo]),
      bb.op('LessOrEqual', [bb.op('ReduceMax', [x], { keepdims: 0 }), hi]),
    ]);
  // err ≥ tol is false for NaN: a non-finite error stops the loop too.
  const go = bb.op('And', [bb.op('GreaterOrEqual', [err, tol]), bb.op('And', [inside(uc), inside(vr)])]);
  const done = bb.op('Add', ['sinkhorn_block/done_in', bb.initializer('one', { dtype: 'int64', dims: [], data: new BigInt64Array([1n]) })]);
  const outs: [string, string, number, (number | string)[]][] = [
    [go, 'sinkhorn_block/cond_out', ELEM.BOOL, []],
    [Kv, 'sinkhorn_block/Kv_out', ELEM.FLOAT, ['N', 1]],
    [uc, 'sinkhorn_block/u_out', ELEM.FLOAT, ['N', 1]],
    [vr, 'sinkhorn_block/v_out', ELEM.FLOAT, [1, 'M']],
    [err, 'sinkhorn_block/err_out', ELEM.FLOAT, []],
    [done, 'sinkhorn_block/done_out', ELEM.INT64, []],
  ];
  for (const [from, to, elemType, shape] of outs) {
    body.nodes.push({ op: 'Identity', name: `${to}_node`, inputs: [from], outputs: [to], attrs: {} });
    body.outputs.push({ name: to, elemType, shape });
  }

  const Kv0 = b.op('ReduceSum', [K, b.ints([1])], { keepdims: 1 });
  const v0 = b.op('Reshape', [b.op('Mul', [qr, b.scalar(0)]), b.ints([1, -1])]);
  const start = b.initializer('true', { dtype: 'bool', dims: [], data: new Uint8Array([1]) });
  const [KvF, uF, vF, errF, doneF] = b.opN(
    'Loop',
    [
      'blocks',
      start,
      Kv0,
      b.op('Mul', [pc, b.scalar(0)]),
      v0,
      b.scalar(Number.POSITIVE_INFINITY),
      b.initializer('zero', { dtype: 'int64', dims: [], data: new BigInt64Array([0n]) }),
    ],
    5,
    {},
    'sinkhorn_loop',
  ) as [string, string, string, string, string];
  const loopNode = r.g.nodes[r.g.nodes.length - 1]!;
  loopNode.subgraphs = [graphAttribute('body', body)];
  const rows = b.mul(uF, KvF);
  const KMv = r.matmul(b.mul(K, M), b.op('Reshape', [vF, b.ints([-1, 1])]));
  r.output('u', b.op('Squeeze', [uF, b.ints([1])]), ['N']);
  r.output('v', b.op('Squeeze', [vF, b.ints([0])]), ['M']);
  r.output('rows', b.op('Squeeze', [rows, b.ints([1])]), ['N']);
  r.output('err', errF, []);
  r.g.nodes.push({ op: 'Identity', name: 'done_out', inputs: [doneF], outputs: ['done'], attrs: {} });
  r.g.outputs.push({ name: 'done', elemType: ELEM.INT64, shape: [] });
  r.output('alpha', b.op('Squeeze', [alpha, b.ints([1])]), ['N']);
  r.output('rowcost', b.op('Squeeze', [b.mul(uF, KMv), b.ints([1])]), ['N']);
  return r.g;
}
