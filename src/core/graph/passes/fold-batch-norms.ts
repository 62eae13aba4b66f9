/**
 * A BatchNormalization right after a Conv, a Gemm or a MatMul(+Add bias) is folded into that
 * layer's weight and bias (W' = W·s on the output axis, b' = (b − mean)·s + β, see
 * ../batch-norm.ts), as Zennit's SequentialMergeBatchNorm canonizer does: LRP rules then treat
 * the pair as one linear layer, which is what the reference relevances assume. Only a layer whose
 * output feeds nothing but the batch norm (and is not a graph output) is folded; other batch
 * norms stay and become affine layers. A bias-free MatMul gains an Add for the folded bias.
 */
import type { Graph, GraphNode } from '../../onnx/model.js';
import { float32, type TensorData } from '../../onnx/tensor.js';
import { toF32 } from '../../onnx/values.js';
import { bnScaleShift } from '../batch-norm.js';

function consumers(g: Graph): Map<string, GraphNode[]> {
  const m = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  return m;
}

/** Fold what can be folded; returns folded batch-norm name → the node it went into. */
export function foldBatchNorms(g: Graph): Map<string, string> {
  const merged = new Map<string, string>();
  for (const bn of [...g.nodes]) {
    if (bn.op !== 'BatchNormalization') continue;
    const found = foldTarget(g, bn);
    if (!found) continue;
    const { target, biasNode } = found;
    const { scale, mean, beta } = bnScaleShift(g, bn);
    const C = scale.length;
    const W = g.initializers.get(target.inputs[1]!)!;
    const Wn = scaledWeight(target, W, scale);
    if (!Wn) continue;
    const oldBiasName = biasNode ? biasNode.inputs.find((i) => g.initializers.has(i)) : target.op === 'MatMul' ? undefined : target.inputs[2];
    const oldBias = oldBiasName ? toF32(g.initializers.get(oldBiasName)!, 'bias') : new Float32Array(C);
    if (oldBias.length !== C && oldBias.length !== 1) continue;
    const bn2 = new Float32Array(C);
    for (let c = 0; c < C; c++) bn2[c] = ((oldBias.length === 1 ? oldBias[0]! : oldBias[c]!) - mean[c]!) * scale[c]! + beta[c]!;
    const wName = `${target.name}/W_bnfold`;
    const bName = `${target.name}/b_bnfold`;
    g.initializers.set(wName, { dtype: 'float32', dims: [...W.dims], data: Wn });
    g.initializers.set(bName, float32([C], bn2));
    target.inputs[1] = wName;
    replaceBatchNorm(g, bn, target, biasNode, oldBiasName, bName);
    merged.set(bn.name, target.name);
  }
  return merged;
}

/**
 * The node a batch norm folds into: the Conv, Gemm or MatMul with a constant weight right before
 * it (through the bias Add of a MatMul), when its output feeds only the batch norm.
 */
function foldTarget(g: Graph, bn: GraphNode): { target: GraphNode; biasNode?: GraphNode } | undefined {
  const cons = consumers(g);
  const prev = g.nodes.find((n) => n.outputs[0] === bn.inputs[0]);
  if (!prev || (cons.get(bn.inputs[0]!)?.length ?? 0) !== 1 || g.outputs.some((o) => o.name === bn.inputs[0])) return undefined;
  if (prev.op === 'Conv' && g.initializers.has(prev.inputs[1]!)) return { target: prev };
  if (prev.op === 'Gemm' && g.initializers.has(prev.inputs[1]!)) return { target: prev };
  if (prev.op === 'Add') {
    // MatMul + Add(bias) + BN
    const mm = g.nodes.find((n) => n.outputs[0] === prev.inputs[0] || n.outputs[0] === prev.inputs[1]);
    const biasIn = prev.inputs.find((i) => g.initializers.has(i));
    if (mm?.op === 'MatMul' && g.initializers.has(mm.inputs[1]!) && biasIn && (cons.get(mm.outputs[0]!)?.length ?? 0) === 1)
      return { target: mm, biasNode: prev };
    return undefined;
  }
  if (prev.op === 'MatMul' && g.initializers.has(prev.inputs[1]!)) return { target: prev };
  return undefined;
}

/** The target's weight W scaled by `scale` along its output axis; undefined if the channel counts differ. */
function scaledWeight(target: GraphNode, W: TensorData, scale: Float32Array): Float32Array | undefined {
  const C = scale.length;
  const Wd = toF32(W, `weight of "${target.name}"`);
  const Wn = new Float32Array(Wd.length);
  if (target.op === 'Conv' || target.op === 'Gemm') {
    // Output channel is axis 0 ([O, …] for Conv, [out, in] for canonical Gemm).
    if (W.dims[0] !== C) return undefined;
    const per = Wd.length / C;
    for (let c = 0; c < C; c++) for (let k = 0; k < per; k++) Wn[c * per + k] = Wd[c * per + k]! * scale[c]!;
  } else {
    // MatMul weight [in, out]: output is the last axis.
    if (W.dims.length !== 2 || W.dims[1] !== C) return undefined;
    const inp = W.dims[0]!;
    for (let i = 0; i < inp; i++) for (let c = 0; c < C; c++) Wn[i * C + c] = Wd[i * C + c]! * scale[c]!;
  }
  return Wn;
}

/** Remove the batch norm; the target (or its bias Add, or a new Add) takes the folded bias `bName` and the batch norm's output. */
function replaceBatchNorm(g: Graph, bn: GraphNode, target: GraphNode, biasNode: GraphNode | undefined, oldBiasName: string | undefined, bName: string) {
  const bnOut = bn.outputs[0]!;
  g.nodes.splice(g.nodes.indexOf(bn), 1);
  if (biasNode) {
    biasNode.inputs = biasNode.inputs.map((i) => (i === oldBiasName ? bName : i));
    biasNode.outputs = [bnOut];
  } else if (target.op === 'MatMul') {
    // Bias-free MatMul: the folded bias needs an Add.
    const mmOut = `${target.name}/bnfold_out`;
    const addNode: GraphNode = { op: 'Add', name: `${target.name}/bnfold_add`, inputs: [mmOut, bName], outputs: [bnOut], attrs: {} };
    target.outputs = [mmOut];
    g.nodes.splice(g.nodes.indexOf(target) + 1, 0, addNode);
  } else {
    target.inputs[2] = bName;
    target.outputs = [bnOut];
  }
}
