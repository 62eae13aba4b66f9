/**
 * Adjoint of a dense layer y = x·W + b (W [in, out]): dL/dx = dY·Wᵀ. The weight is either a
 * constant (its transpose is precomputed once, as an initializer) or a graph tensor (a trained
 * weight: transposed in the graph).
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { float32, type TensorData } from '../onnx/tensor.js';

/** Wᵀ [out, in] of a constant W [in, out]. */
export function transposedWeight(W: TensorData): TensorData {
  const [inp, out] = W.dims as [number, number];
  const d = W.data as Float32Array;
  const t = new Float32Array(inp * out);
  for (let i = 0; i < inp; i++) for (let o = 0; o < out; o++) t[o * inp + i] = d[i * out + o]!;
  return float32([out, inp], t);
}

/** dY·Wᵀ, with Wᵀ given as a tensor name (see transposedWeight) or made from the graph tensor W. */
export function denseAdjoint(g: GraphBuilder, dY: string, weight: { transposed: string } | { graph: string }): string {
  const wT = 'transposed' in weight ? weight.transposed : g.op('Transpose', [weight.graph], { perm: [1, 0] });
  return g.op('MatMul', [dY, wT]);
}
