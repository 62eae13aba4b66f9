/**
 * A BatchNormalization node in inference form as a per-channel affine map, y = x·s + shift with
 * s = γ/√(var+eps) and shift = β − mean·s. The batch-norm folding pass (passes/fold-batch-norms.ts)
 * scales a weight by s; a batch norm that cannot be folded becomes an affine layer
 * (layers/normalization.ts). Both read the node's constants here.
 */
import type { Graph, GraphNode } from '../onnx/model.js';
import { toF32 } from '../onnx/values.js';

/** s = γ/√(var+eps), with the running mean and β the shift is made of (folding: W' = W·s on the output axis, b' = (b − mean)·s + β). */
export function bnScaleShift(g: Graph, bn: GraphNode): { scale: Float32Array; mean: Float32Array; beta: Float32Array } {
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

/** The batch norm as y = x·scale + shift per channel. */
export function bnAffine(g: Graph, bn: GraphNode): { scale: Float32Array; shift: Float32Array } {
  const { scale, mean, beta } = bnScaleShift(g, bn);
  const shift = new Float32Array(scale.length);
  for (let c = 0; c < scale.length; c++) shift[c] = -mean[c]! * scale[c]! + beta[c]!;
  return { scale, shift };
}
