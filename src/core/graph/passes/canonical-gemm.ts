/**
 * Every Gemm becomes Gemm(x, W[out, in], b[out]) with transB=1 and alpha=beta=1: alpha and beta
 * are multiplied into new W and b initializers, a scalar or per-output bias is broadcast to [out].
 * The dense layer kind then reads one weight layout.
 * A Gemm whose weight or bias is not a constant, that transposes its input (transA) or whose bias
 * varies over the batch is rejected with the reason.
 */
import type { Graph } from '../../onnx/model.js';
import { float32 } from '../../onnx/tensor.js';
import { toF32 } from '../../onnx/values.js';

export function canonicalGemm(g: Graph) {
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
