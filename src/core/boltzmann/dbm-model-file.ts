/**
 * A DBM as an ONNX file: a graph computing the mean-field posterior of every hidden layer given
 * the visible units (arXiv 1203.3783: the representation whose layers the paper's kernel analysis
 * compares), so that it can be used and explained anywhere ONNX runs. Starting from the offsets,
 * `iterations` rounds update all odd layers, then all even hidden layers:
 *   μ⁽ˡ⁾ = σ(b⁽ˡ⁾ + (μ⁽ˡ⁻¹⁾ − o⁽ˡ⁻¹⁾) W⁽ˡ⁻¹⁾ + (μ⁽ˡ⁺¹⁾ − o⁽ˡ⁺¹⁾) W⁽ˡ⁾ᵀ), μ⁽⁰⁾ = v.
 * Every parameter is a named initializer (dbm.W{l}, dbm.bias{l}, dbm.offset{l}), so relprop reads
 * the model back exactly.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { decodeModel, ELEM, encodeModel, type Graph } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import { checkDbmSizes, type DbmParams, layersOfParity } from './dbm.js';

const name = { W: (l: number) => `dbm.W${l}`, b: (l: number) => `dbm.bias${l}`, o: (l: number) => `dbm.offset${l}` };

/** Mean-field rounds in the saved graph. */
export const MODEL_MEANFIELD_ITERATIONS = 10;

/** The mean-field rounds as a graph with the parameters as initializers (see the file head). */
function meanFieldGraph(p: DbmParams, iterations: number) {
  const { sizes } = p;
  const L = sizes.length - 1;
  const g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
  for (let l = 0; l <= L; l++) {
    if (l < L) g.initializers.set(name.W(l), float32([sizes[l]!, sizes[l + 1]!], p.W[l]!));
    g.initializers.set(name.b(l), float32([sizes[l]!], p.b[l]!));
    g.initializers.set(name.o(l), float32([sizes[l]!], p.o[l]!));
  }
  g.inputs.push({ name: 'visible', elemType: ELEM.FLOAT, shape: ['N', sizes[0]!] });
  const b = new GraphBuilder(g, 'dbm');
  const centered: (string | null)[] = sizes.map(() => null);
  centered[0] = b.sub('visible', name.o(0));
  const mu: string[] = ['visible'];
  const update = (l: number) => {
    let t = name.b(l);
    if (centered[l - 1]) t = b.add(b.op('MatMul', [centered[l - 1]!, name.W(l - 1)]), t);
    if (l < L && centered[l + 1]) t = b.add(t, b.op('MatMul', [centered[l + 1]!, b.op('Transpose', [name.W(l)], { perm: [1, 0] })]));
    mu[l] = b.op('Sigmoid', [t]);
    centered[l] = b.sub(mu[l]!, name.o(l));
  };
  for (let k = 0; k < iterations; k++) {
    for (const l of layersOfParity(L, 'odd')) update(l);
    for (const l of layersOfParity(L, 'even')) if (l > 0) update(l);
  }
  return { g, b, mu, centered: centered as string[], L };
}

export function dbmToOnnx(p: DbmParams, iterations = MODEL_MEANFIELD_ITERATIONS): Uint8Array {
  const { g, mu, L } = meanFieldGraph(p, iterations);
  for (let l = 1; l <= L; l++) {
    g.nodes.push({ op: 'Identity', name: `hidden${l}_out`, inputs: [mu[l]!], outputs: [`hidden${l}`], attrs: {} });
    g.outputs.push({ name: `hidden${l}`, elemType: ELEM.FLOAT, shape: ['N', p.sizes[l]!] });
  }
  return encodeModel(g, 'relprop-dbm');
}

/**
 * The mean-field variational bound's data-dependent part (Salakhutdinov & Hinton 2009): with the
 * factorised q(h) of mean μ from `iterations` rounds, output `bound` [N] =
 *   −E_centered(v, μ) + H(q),  H(q) = −Σ [μ log μ + (1 − μ) log(1 − μ)],
 * using that the energy is linear in each layer and the layers are independent under q, so
 * E_q[E(v, h)] = E(v, μ). Then log p(v) ≥ bound + shift − log Z (shift and log Z of uncenteredDbm).
 */
export function buildMeanFieldBoundGraph(p: DbmParams, iterations: number): Uint8Array {
  const { g, b, mu, centered, L } = meanFieldGraph(p, iterations);
  const rowSum = (t: string) => b.op('ReduceSum', [t, b.ints([1])], { keepdims: 0 });
  const parts: string[] = [];
  for (let l = 0; l <= L; l++) {
    parts.push(rowSum(b.mul(centered[l]!, name.b(l))));
    if (l < L) parts.push(rowSum(b.mul(b.op('MatMul', [centered[l]!, name.W(l)]), centered[l + 1]!)));
    if (l > 0) {
      const q = b.op('Clip', [mu[l]!, b.scalar(1e-7), b.scalar(1 - 1e-7)]);
      const one = b.scalar(1);
      const plogp = b.add(b.mul(q, b.op('Log', [q])), b.mul(b.sub(one, q), b.op('Log', [b.sub(one, q)])));
      parts.push(b.op('Neg', [rowSum(plogp)]));
    }
  }
  g.nodes.push({ op: 'Identity', name: 'bound_out', inputs: [b.sum(parts)], outputs: ['bound'], attrs: {} });
  g.outputs.push({ name: 'bound', elemType: ELEM.FLOAT, shape: ['N'] });
  return encodeModel(g, 'relprop-dbm-bound');
}

export function dbmFromOnnx(bytes: Uint8Array, source = 'model'): DbmParams {
  const g = decodeModel(bytes, source);
  const get = (n: string) => {
    const t = g.initializers.get(n);
    if (t?.dtype !== 'float32') throw new Error(`${source} is not a DBM saved by relprop (no float32 initializer "${n}")`);
    return t;
  };
  const sizes: number[] = [];
  const W: Float32Array[] = [];
  for (let l = 0; g.initializers.has(name.W(l)); l++) {
    const t = get(name.W(l));
    if (t.dims.length !== 2 || (l > 0 && t.dims[0] !== sizes[l])) throw new Error(`${source}: "${name.W(l)}" has shape ${JSON.stringify(t.dims)}`);
    if (l === 0) sizes.push(t.dims[0]!);
    sizes.push(t.dims[1]!);
    W.push((t.data as Float32Array).slice());
  }
  if (W.length === 0) throw new Error(`${source} is not a DBM saved by relprop (no initializer "${name.W(0)}")`);
  checkDbmSizes(sizes);
  const vec = (n: string, size: number) => {
    const t = get(n);
    if (t.dims.length !== 1 || t.dims[0] !== size) throw new Error(`${source}: "${n}" has shape ${JSON.stringify(t.dims)}, expected [${size}]`);
    return (t.data as Float32Array).slice();
  };
  return { sizes, W, b: sizes.map((n, l) => vec(name.b(l), n)), o: sizes.map((n, l) => vec(name.o(l), n)) };
}
