// The deeper network of Montavon et al. 2017 §2.6 (two detection + sum-pooling layers) and its two
// relevance models for the pooled layer-1 units x_k: training-free (R_k = c_k·x_k, i.e. the
// deep-taylor composite: z+ above, zB at the pixels) and min-max (R̂_k = Σ_{j∈k} y_j,
// y_j = max(0, Σ_i x_i v_ij + a_j), a_j = min(0, Σ_l R_l u_lj + d_j), fitted by least squares to the
// true R_k, then decomposed with zB on the pixels). Every pass over the data is an ONNX graph.
import { GraphBuilder } from '../../dist/src/core/onnx/builder.js';
import { encodeModel, float32, nodeRuntime } from '../../dist/src/node/index.js';

const F = 1; // ONNX FLOAT

/** Build a graph with `build(g, input)` (input(name, shape) declares a float input) and open it. */
async function session(build) {
  const graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop-example' };
  const g = new GraphBuilder(graph, 'dtd');
  const input = (name, shape) => {
    graph.inputs.push({ name, elemType: F, shape });
    return name;
  };
  const outs = build(g, input);
  for (const [name, value] of Object.entries(outs)) {
    g.op('Identity', [value], {}, name);
    graph.nodes.at(-1).outputs = [name];
    graph.outputs.push({ name, elemType: 0, shape: [] });
  }
  return nodeRuntime.createSession(encodeModel(graph), { threads: 1 });
}

const T = (g, a) => g.op('Transpose', [a], { perm: [1, 0] });
const mm = (g, a, b) => g.op('MatMul', [a, b]);
/** Sum over consecutive groups of `k` features: [N, n] → [N, n/k]. */
const pool = (g, a, n, k) => g.op('ReduceSum', [g.op('Reshape', [a, g.ints([-1, n / k, k])]), g.ints([2])], { keepdims: 0 });
/** Each feature repeated `k` times: [N, m] → [N, m·k] (the adjoint of pool). */
const unpool = (g, a, m, k) => g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [a, g.ints([2])]), g.ints([1, 1, k])]), g.ints([-1, m * k])]);
const safeDiv = (g, num, den) => g.op('Where', [g.op('Greater', [den, g.scalar(0)]), g.div(num, den), g.scalar(0)]);

/**
 * Layer-1 pooled activations x_k, upper relevances R_l = x_l of the explained class (the top sum
 * pool's decomposition), the true R_k (z+ on the upper detection layer, exact there: x_k ≥ 0 and
 * b ≤ 0) and the score f.
 */
export async function trueRelevances(params, x, labels, sizes) {
  const { J, K, L, C } = sizes;
  const s = await session((g, input) => {
    const X = input('x', ['n', 64]);
    const onehot = input('onehot', ['n', C]);
    const W1 = g.initializer('W1', params.get('dense_0.weight'));
    const b1 = g.initializer('b1', params.get('dense_0.bias'));
    const W2 = g.initializer('W2', params.get('dense_1.weight'));
    const b2 = g.initializer('b2', params.get('dense_1.bias'));
    const xk = pool(g, g.relu(g.add(mm(g, X, W1), b1)), J, J / K);
    const xl = g.relu(g.add(mm(g, xk, W2), b2));
    const Rl = g.mul(xl, unpool(g, onehot, C, L / C));
    const W2p = g.relu(W2);
    const Rk = g.mul(xk, mm(g, safeDiv(g, Rl, mm(g, xk, W2p)), T(g, W2p)));
    return { xk, Rl, Rk, f: g.op('ReduceSum', [Rl, g.ints([1])], { keepdims: 0 }) };
  });
  const r = await s.run({ x, onehot: oneHot(labels, C) });
  await s.release();
  return r;
}

export function oneHot(labels, C) {
  const d = new Float32Array(labels.length * C);
  labels.forEach((c, i) => {
    d[i * C + c] = 1;
  });
  return float32([labels.length, C], d);
}

/**
 * The training-free model read as a fit: R_k ≈ c_{k,class}·x_k with one constant per unit and
 * class, fitted by least squares on the training set (c = Σ x_k R_k / Σ x_k²).
 */
export async function fitConstants(train, C, K) {
  const s = await session((g, input) => {
    const oh = T(g, input('onehot', ['n', C]));
    const xk = input('xk', ['n', K]);
    const Rk = input('Rk', ['n', K]);
    return { c: safeDiv(g, mm(g, oh, g.mul(xk, Rk)), mm(g, oh, g.mul(xk, xk))) };
  });
  const r = await s.run({ onehot: oneHot(train.labels, C), xk: train.xk, Rk: train.Rk });
  await s.release();
  return r.c;
}

export async function predictConstants(c, data, C, K) {
  const s = await session((g, input) => ({ R: g.mul(input('xk', ['n', K]), mm(g, input('onehot', ['n', C]), input('c', [C, K]))) }));
  const r = await s.run({ onehot: oneHot(data.labels, C), xk: data.xk, c });
  await s.release();
  return r.R;
}

/** The min-max model's forward pass: a (≤ 0), y and R̂_k. */
function minMax(g, X, Z, V, U, d, J, K) {
  const q = g.add(mm(g, Z, U), d);
  const a = g.op('Min', [q, g.scalar(0)]);
  const pre = g.add(mm(g, X, V), a);
  const y = g.relu(pre);
  return { q, a, pre, y, Rhat: pool(g, y, J, J / K) };
}

/**
 * Least-squares fit of the min-max model by full-batch Adam, one ONNX graph per step (forward,
 * hand-derived gradient, update). Starts from v = w (layer 1's weights), u = 0, d = b, where
 * R̂_k = x_k.
 */
export async function fitMinMax(params, train, sizes, { steps, lr }) {
  const { J, K, L } = sizes;
  const names = ['V', 'U', 'd'];
  const s = await session((g, input) => {
    const X = input('x', ['n', 64]);
    const Z = input('Rl', ['n', L]);
    const target = input('Rk', ['n', K]);
    const t = input('t', []);
    const shapes = { V: [64, J], U: [L, J], d: [J] };
    const p = Object.fromEntries(names.map((k) => [k, input(k, shapes[k])]));
    const m = Object.fromEntries(names.map((k) => [k, input(`m${k}`, shapes[k])]));
    const v = Object.fromEntries(names.map((k) => [k, input(`v${k}`, shapes[k])]));
    const f = minMax(g, X, Z, p.V, p.U, p.d, J, K);
    const diff = g.sub(f.Rhat, target);
    const count = g.op('Cast', [g.op('Size', [diff])], { to: F });
    const loss = g.op('ReduceSum', [g.div(g.mul(diff, diff), count)], { keepdims: 0 });
    const dpre = g.mul(unpool(g, g.div(g.mul(diff, g.scalar(2)), count), K, J / K), g.op('Cast', [g.op('Greater', [f.pre, g.scalar(0)])], { to: F }));
    const dq = g.mul(dpre, g.op('Cast', [g.op('Less', [f.q, g.scalar(0)])], { to: F }));
    const grads = { V: mm(g, T(g, X), dpre), U: mm(g, T(g, Z), dq), d: g.op('ReduceSum', [dq, g.ints([0])], { keepdims: 0 }) };
    const out = { loss };
    const [b1, b2, eps] = [0.9, 0.999, 1e-8];
    const c1 = g.sub(g.scalar(1), g.op('Pow', [g.scalar(b1), t]));
    const c2 = g.sub(g.scalar(1), g.op('Pow', [g.scalar(b2), t]));
    for (const k of names) {
      const m1 = g.add(g.mul(m[k], g.scalar(b1)), g.mul(grads[k], g.scalar(1 - b1)));
      const v1 = g.add(g.mul(v[k], g.scalar(b2)), g.mul(g.mul(grads[k], grads[k]), g.scalar(1 - b2)));
      const step = g.div(g.div(m1, c1), g.add(g.op('Sqrt', [g.div(v1, c2)]), g.scalar(eps)));
      out[`${k}_next`] = g.sub(p[k], g.mul(step, g.scalar(lr)));
      out[`m${k}_next`] = m1;
      out[`v${k}_next`] = v1;
    }
    return out;
  });
  const state = {
    V: params.get('dense_0.weight'),
    U: float32([L, J], new Float32Array(L * J)),
    d: params.get('dense_0.bias'),
  };
  for (const k of names) {
    state[`m${k}`] = float32(state[k].dims, new Float32Array(state[k].data.length));
    state[`v${k}`] = float32(state[k].dims, new Float32Array(state[k].data.length));
  }
  const losses = [];
  for (let i = 1; i <= steps; i++) {
    const r = await s.run({ x: train.x, Rl: train.Rl, Rk: train.Rk, t: float32([], [i]), ...state });
    if (i === 1 || i % 100 === 0) losses.push({ step: i, loss: r.loss.data[0] });
    for (const k of names) for (const p of [k, `m${k}`, `v${k}`]) state[p] = r[`${p}_next`];
  }
  await s.release();
  return { V: state.V, U: state.U, d: state.d, losses };
}

/**
 * The fitted model's R̂_k and its zB decomposition on the pixels (box [low, high]), treating a_j as
 * a constant bias: R_i = Σ_j (x_i v_ij − l v_ij⁺ − h v_ij⁻) / Σ_i' (…) · y_j, so Σ_i R_i = Σ_k R̂_k.
 */
export async function explainMinMax(model, data, sizes, low, high) {
  const { J, K, L } = sizes;
  const s = await session((g, input) => {
    const X = input('x', ['n', 64]);
    const Z = input('Rl', ['n', L]);
    const [V, U, d] = [input('V', [64, J]), input('U', [L, J]), input('d', [J])];
    const f = minMax(g, X, Z, V, U, d, J, K);
    const Vp = g.relu(V);
    const Vn = g.negPart(V);
    const ones = g.op('Expand', [g.scalar(1), g.op('Shape', [X])]);
    const corner = g.add(mm(g, g.mul(ones, g.scalar(low)), Vp), mm(g, g.mul(ones, g.scalar(high)), Vn));
    const sj = safeDiv(g, f.y, g.sub(mm(g, X, V), corner));
    const R = g.sub(g.mul(X, mm(g, sj, T(g, V))), g.add(g.mul(g.scalar(low), mm(g, sj, T(g, Vp))), g.mul(g.scalar(high), mm(g, sj, T(g, Vn)))));
    return { Rhat: f.Rhat, R };
  });
  const r = await s.run({ x: data.x, Rl: data.Rl, V: model.V, U: model.U, d: model.d });
  await s.release();
  return r;
}
