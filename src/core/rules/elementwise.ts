/**
 * Rules for element-wise layers.
 * - Activations: LRP passes relevance through them unchanged (Bach et al. 2015: relevance flows
 *   through the non-linearity to the layer below); gradient methods use the derivative
 *   (backward/activation.ts); DeconvNet (Zeiler & Fergus 2014) passes ReLU(R); guided backprop
 *   (Springenberg et al. 2015) passes ReLU(R) where the forward input was active.
 * - Residual Add y = a + b, and pooling means, under LRP: the epsilon ("norm") rule
 *   R_a = a·R/(y + ε·sgn y), R_b = b·R/(y + ε·sgn y) (fixtures/lrp/README.md, Zennit's Norm rule).
 * - Batch norm that could not be folded, y = x·s + t per channel: epsilon rule
 *   R_x = x·s·R/(y + ε·sgn y).
 */
import { activationAdjoint, positiveMask } from '../backward/activation.js';
import { channelScaleAdjoint } from '../backward/normalization.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { GraphNode } from '../onnx/model.js';

export type ActivationMode = 'pass' | 'gradient' | 'relu_deconvnet' | 'relu_guided_backprop';

export function activationRule(g: GraphBuilder, n: GraphNode, x: string, y: string, R: string, mode: ActivationMode): string {
  switch (mode) {
    case 'pass':
      return R;
    case 'gradient':
      return activationAdjoint(g, n, x, y, R);
    case 'relu_deconvnet':
      return g.relu(R);
    case 'relu_guided_backprop':
      return g.mul(g.relu(R), positiveMask(g, y));
  }
}

/** Residual Add: R split in proportion to the operands (epsilon-stabilised). */
export function addNormRule(g: GraphBuilder, a: string, b: string, y: string, R: string, eps: number): [string, string] {
  const s = g.div(R, g.stabilize(y, eps));
  return [g.mul(a, s), g.mul(b, s)];
}

/** Unfolded batch norm y = x·scale + shift: the epsilon rule on the diagonal map. */
export function affineEpsilonRule(g: GraphBuilder, name: string, scale: Float32Array, x: string, y: string, R: string, rank: number, eps: number): string {
  return g.mul(x, channelScaleAdjoint(g, name, g.div(R, g.stabilize(y, eps)), scale, rank));
}
