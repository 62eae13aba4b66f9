/**
 * Canonicalization: rewrite an imported graph into the form the compiler expects, without
 * changing its forward semantics (up to float rounding of folded batch norms).
 *  - Constant nodes become initializers; Identity and Dropout disappear.
 *  - Opset-11/12 attribute forms (Squeeze/Unsqueeze axes, Split sizes) become opset-13 inputs, so
 *    the explainer can be written at opset ≥ 17.
 *  - A Softmax/LogSoftmax producing the output is stripped: relprop explains logits.
 *  - Gemm becomes Gemm(x, W[out,in], b[out]) with transB=1, alpha=beta=1.
 *  - BatchNormalization after a Conv/Gemm/MatMul(+Add) whose output has no other consumer is folded in.
 */
import type { Graph, GraphNode } from '../onnx/model.js';
import { float32, int64, numel, type TensorData } from '../onnx/tensor.js';

export const MIN_OPSET = 11;
export const EXPLAINER_OPSET = 17;

export interface CanonInfo {
  /** Node names folded into another node: BN name → the Conv/Gemm it went into. */
  merged: Map<string, string>;
  /** Output that is explained (after softmax stripping). */
  output: string;
  strippedSoftmax: string | null;
}

function consumers(g: Graph): Map<string, GraphNode[]> {
  const m = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  return m;
}

function renameTensor(g: Graph, from: string, to: string) {
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
  for (const o of g.outputs) if (o.name === from) o.name = to;
}

function attrInts(n: GraphNode, k: string): number[] | undefined {
  const v = n.attrs[k];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

export function toF32(t: TensorData, what: string): Float32Array {
  if (t.dtype === 'float32') return t.data as Float32Array;
  if (t.dtype === 'float64') return Float32Array.from(t.data as Float64Array);
  throw new Error(`${what} must be a float tensor, got ${t.dtype}`);
}

export function intValues(t: TensorData): number[] {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, (v) => Number(v));
  return Array.from(t.data as ArrayLike<number>);
}

function constantValue(n: GraphNode): TensorData {
  const a = n.attrs;
  if (a.value && typeof a.value === 'object' && !Array.isArray(a.value)) return a.value as TensorData;
  if (typeof a.value_float === 'number') return float32([], [a.value_float]);
  if (Array.isArray(a.value_floats)) return float32([a.value_floats.length], a.value_floats as number[]);
  if (typeof a.value_int === 'number') return int64([], [a.value_int]);
  if (Array.isArray(a.value_ints)) return int64([a.value_ints.length], a.value_ints as number[]);
  throw new Error(`Constant node "${n.name}" has no supported value attribute (${Object.keys(a).join(', ')})`);
}

export function canonicalize(g: Graph): CanonInfo {
  if (g.opset < MIN_OPSET) throw new Error(`the model uses opset ${g.opset}; relprop reads opsets ${MIN_OPSET} and newer (re-export with opset_version >= ${MIN_OPSET})`);
  const merged = new Map<string, string>();
  const upgrade = g.opset < 13;

  // Constants, Identity/Dropout, old attribute forms.
  const kept: GraphNode[] = [];
  for (const n of g.nodes) {
    if (n.domain && n.domain !== 'ai.onnx') throw new Error(`unsupported operator ${n.domain}.${n.op} at node "${n.name}": relprop reads only standard ONNX operators`);
    if (n.op === 'Constant') {
      g.initializers.set(n.outputs[0]!, constantValue(n));
      continue;
    }
    if (upgrade && (n.op === 'Squeeze' || n.op === 'Unsqueeze') && attrInts(n, 'axes')) {
      const name = `${n.name}/axes`;
      g.initializers.set(name, int64([attrInts(n, 'axes')!.length], attrInts(n, 'axes')!));
      n.inputs = [n.inputs[0]!, name];
      delete n.attrs.axes;
    }
    if (upgrade && n.op === 'Split' && attrInts(n, 'split')) {
      const name = `${n.name}/split`;
      g.initializers.set(name, int64([attrInts(n, 'split')!.length], attrInts(n, 'split')!));
      n.inputs = [n.inputs[0]!, name];
      delete n.attrs.split;
    }
    kept.push(n);
  }
  g.nodes = kept;
  for (const n of [...g.nodes]) {
    if (n.op === 'Identity' || n.op === 'Dropout') {
      g.nodes.splice(g.nodes.indexOf(n), 1);
      const isOut = g.outputs.some((o) => o.name === n.outputs[0]);
      if (isOut) {
        // Keep the graph output's name: rename the producer's output instead.
        const src = n.inputs[0]!;
        for (const m of g.nodes) m.outputs = m.outputs.map((o) => (o === src ? n.outputs[0]! : o));
        for (const m of g.nodes) m.inputs = m.inputs.map((i) => (i === src ? n.outputs[0]! : i));
      } else {
        renameTensor(g, n.outputs[0]!, n.inputs[0]!);
      }
    }
  }
  g.opset = Math.max(g.opset, EXPLAINER_OPSET);

  if (g.outputs.length === 0) throw new Error('the model declares no outputs');
  g.outputs = [g.outputs[0]!];
  let output = g.outputs[0]!.name;
  let strippedSoftmax: string | null = null;
  const producer = g.nodes.find((n) => n.outputs.includes(output));
  if (producer && (producer.op === 'Softmax' || producer.op === 'LogSoftmax')) {
    strippedSoftmax = producer.name;
    g.nodes.splice(g.nodes.indexOf(producer), 1);
    const src = producer.inputs[0]!;
    for (const m of g.nodes) m.outputs = m.outputs.map((o) => (o === src ? output : o));
    for (const m of g.nodes) m.inputs = m.inputs.map((i) => (i === src ? output : i));
  }
  pruneDead(g, output);
  canonicalGemm(g);
  foldBatchNorms(g, merged);
  pruneDead(g, output);
  return { merged, output, strippedSoftmax };
}

/** Remove nodes that do not contribute to the output. */
function pruneDead(g: Graph, output: string) {
  const needed = new Set([output]);
  const keep: GraphNode[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.push(n);
      for (const i of n.inputs) if (i) needed.add(i);
    }
  }
  g.nodes = keep.reverse();
  for (const k of [...g.initializers.keys()]) if (!needed.has(k)) g.initializers.delete(k);
}

function canonicalGemm(g: Graph) {
  for (const n of g.nodes) {
    if (n.op !== 'Gemm') continue;
    const [a, bName, cName] = n.inputs;
    const B = g.initializers.get(bName!);
    if (!B) throw new Error(`unsupported Gemm at node "${n.name}": its weight "${bName}" is not a constant (relprop explains layers with fixed weights)`);
    if (n.attrs.transA) throw new Error(`unsupported Gemm at node "${n.name}": transA=1 puts the batch on the second axis`);
    const alpha = (n.attrs.alpha as number | undefined) ?? 1;
    const beta = (n.attrs.beta as number | undefined) ?? 1;
    const transB = !!n.attrs.transB;
    const Bd = toF32(B, `Gemm "${n.name}" weight`);
    const [r, c] = B.dims as [number, number];
    const out = transB ? r : c;
    const inp = transB ? c : r;
    const W = new Float32Array(out * inp); // [out, in]
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) W[o * inp + i] = alpha * (transB ? Bd[o * inp + i]! : Bd[i * out + o]!);
    const bias = new Float32Array(out);
    if (cName) {
      const C = g.initializers.get(cName);
      if (!C) throw new Error(`unsupported Gemm at node "${n.name}": its bias "${cName}" is not a constant`);
      const Cd = toF32(C, `Gemm "${n.name}" bias`);
      if (Cd.length === 1) bias.fill(beta * Cd[0]!);
      else if (Cd.length === out && (C.dims.length === 1 || C.dims[C.dims.length - 1] === out)) for (let o = 0; o < out; o++) bias[o] = beta * Cd[o]!;
      else throw new Error(`unsupported Gemm at node "${n.name}": bias of shape ${JSON.stringify(C.dims)} varies over the batch`);
    }
    const wName = `${n.name}/W`;
    const bName2 = `${n.name}/b`;
    g.initializers.set(wName, float32([out, inp], W));
    g.initializers.set(bName2, float32([out], bias));
    n.inputs = [a!, wName, bName2];
    n.attrs = { transB: 1 };
  }
}

/** s = γ/√(var+eps), W' = W·s (output axis), b' = (b − mean)·s + β. */
function bnScaleShift(g: Graph, bn: GraphNode): { scale: Float32Array; mean: Float32Array; beta: Float32Array } {
  const get = (k: number, what: string) => {
    const t = g.initializers.get(bn.inputs[k]!);
    if (!t) throw new Error(`unsupported BatchNormalization at node "${bn.name}": its ${what} is not a constant`);
    return toF32(t, `BatchNormalization "${bn.name}" ${what}`);
  };
  const gamma = get(1, 'scale');
  const beta = get(2, 'bias');
  const mean = get(3, 'running mean');
  const v = get(4, 'running variance');
  const eps = (bn.attrs.epsilon as number | undefined) ?? 1e-5;
  if (bn.attrs.training_mode) throw new Error(`unsupported BatchNormalization at node "${bn.name}": training_mode=1 (export the model in eval mode)`);
  const scale = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) scale[c] = gamma[c]! / Math.sqrt(v[c]! + eps);
  return { scale, mean, beta };
}

export function bnAffine(g: Graph, bn: GraphNode): { scale: Float32Array; shift: Float32Array } {
  const { scale, mean, beta } = bnScaleShift(g, bn);
  const shift = new Float32Array(scale.length);
  for (let c = 0; c < scale.length; c++) shift[c] = -mean[c]! * scale[c]! + beta[c]!;
  return { scale, shift };
}

function foldBatchNorms(g: Graph, merged: Map<string, string>) {
  for (const bn of [...g.nodes]) {
    if (bn.op !== 'BatchNormalization') continue;
    const cons = consumers(g);
    const prev = g.nodes.find((n) => n.outputs[0] === bn.inputs[0]);
    if (!prev || (cons.get(bn.inputs[0]!)?.length ?? 0) !== 1 || g.outputs.some((o) => o.name === bn.inputs[0])) continue;
    let target: GraphNode | undefined;
    let wIdx = 1;
    let biasNode: GraphNode | undefined;
    if (prev.op === 'Conv' && g.initializers.has(prev.inputs[1]!)) target = prev;
    else if (prev.op === 'Gemm' && g.initializers.has(prev.inputs[1]!)) target = prev;
    else if (prev.op === 'Add') {
      // MatMul + Add(bias) + BN
      const mm = g.nodes.find((n) => n.outputs[0] === prev.inputs[0] || n.outputs[0] === prev.inputs[1]);
      const biasIn = prev.inputs.find((i) => g.initializers.has(i));
      if (mm?.op === 'MatMul' && g.initializers.has(mm.inputs[1]!) && biasIn && (cons.get(mm.outputs[0]!)?.length ?? 0) === 1) {
        target = mm;
        biasNode = prev;
      }
    } else if (prev.op === 'MatMul' && g.initializers.has(prev.inputs[1]!)) target = prev;
    if (!target) continue;
    const { scale, mean, beta } = bnScaleShift(g, bn);
    const C = scale.length;
    const W = g.initializers.get(target.inputs[wIdx]!)!;
    const Wd = toF32(W, `weight of "${target.name}"`);
    const Wn = new Float32Array(Wd.length);
    if (target.op === 'Conv' || target.op === 'Gemm') {
      // Output channel is axis 0 ([O, …] for Conv, [out, in] for canonical Gemm).
      if (W.dims[0] !== C) continue;
      const per = Wd.length / C;
      for (let c = 0; c < C; c++) for (let k = 0; k < per; k++) Wn[c * per + k] = Wd[c * per + k]! * scale[c]!;
    } else {
      // MatMul weight [in, out]: output is the last axis.
      if (W.dims.length !== 2 || W.dims[1] !== C) continue;
      const inp = W.dims[0]!;
      for (let i = 0; i < inp; i++) for (let c = 0; c < C; c++) Wn[i * C + c] = Wd[i * C + c]! * scale[c]!;
    }
    const oldBiasName = biasNode ? biasNode.inputs.find((i) => g.initializers.has(i)) : target.op === 'MatMul' ? undefined : target.inputs[2];
    const oldBias = oldBiasName ? toF32(g.initializers.get(oldBiasName)!, 'bias') : new Float32Array(C);
    if (oldBias.length !== C && oldBias.length !== 1) continue;
    const bn2 = new Float32Array(C);
    for (let c = 0; c < C; c++) bn2[c] = ((oldBias.length === 1 ? oldBias[0]! : oldBias[c]!) - mean[c]!) * scale[c]! + beta[c]!;
    const wName = `${target.name}/W_bnfold`;
    const bName = `${target.name}/b_bnfold`;
    g.initializers.set(wName, { dtype: 'float32', dims: [...W.dims], data: Wn });
    g.initializers.set(bName, float32([C], bn2));
    target.inputs[wIdx] = wName;
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
    merged.set(bn.name, target.name);
  }
}

export { numel };
