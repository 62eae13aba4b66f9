/**
 * An RBM as an ONNX file: a graph computing the hidden units' probabilities p(h = 1 | v) =
 * σ(c + Wᵀ(v − o_v)), so that the representation can be used and explained anywhere ONNX runs,
 * with every parameter (visible bias and hidden offset too) kept as a named initializer so that
 * relprop reads the model back exactly.
 */
import { GraphBuilder } from '../onnx/builder.js';
import { decodeModel, ELEM, encodeModel, type Graph } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import type { RbmParams } from './rbm.js';

const NAMES = { W: 'rbm.W', a: 'rbm.visible_bias', c: 'rbm.hidden_bias', ov: 'rbm.visible_offset', oh: 'rbm.hidden_offset' } as const;

export function rbmToOnnx(p: RbmParams): Uint8Array {
  const g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
  g.initializers.set(NAMES.W, float32([p.nv, p.nh], p.W));
  g.initializers.set(NAMES.a, float32([p.nv], p.a));
  g.initializers.set(NAMES.c, float32([p.nh], p.c));
  g.initializers.set(NAMES.ov, float32([p.nv], p.ov));
  g.initializers.set(NAMES.oh, float32([p.nh], p.oh));
  g.inputs.push({ name: 'visible', elemType: ELEM.FLOAT, shape: ['N', p.nv] });
  const b = new GraphBuilder(g, 'rbm');
  const pre = b.add(b.op('MatMul', [b.sub('visible', NAMES.ov), NAMES.W]), NAMES.c);
  g.nodes.push({ op: 'Sigmoid', name: 'hidden_probabilities', inputs: [pre], outputs: ['hidden'], attrs: {} });
  g.outputs.push({ name: 'hidden', elemType: ELEM.FLOAT, shape: ['N', p.nh] });
  return encodeModel(g, 'relprop-rbm');
}

export function rbmFromOnnx(bytes: Uint8Array, source = 'model'): RbmParams {
  const g = decodeModel(bytes, source);
  const get = (name: string) => {
    const t = g.initializers.get(name);
    if (t?.dtype !== 'float32') throw new Error(`${source} is not an RBM saved by relprop (no float32 initializer "${name}")`);
    return t;
  };
  const W = get(NAMES.W);
  const [nv, nh] = W.dims as [number, number];
  const vec = (name: string, n: number) => {
    const t = get(name);
    if (t.dims.length !== 1 || t.dims[0] !== n) throw new Error(`${source}: "${name}" has shape ${JSON.stringify(t.dims)}, expected [${n}]`);
    return (t.data as Float32Array).slice();
  };
  return { nv, nh, W: (W.data as Float32Array).slice(), a: vec(NAMES.a, nv), c: vec(NAMES.c, nh), ov: vec(NAMES.ov, nv), oh: vec(NAMES.oh, nh) };
}
