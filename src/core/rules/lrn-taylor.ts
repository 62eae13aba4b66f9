/**
 * LRP through local response normalisation by first-order Taylor expansion (Binder et al. 2016,
 * "Layer-wise Relevance Propagation for Neural Networks with Local Renormalization Layers",
 * arXiv 1604.00825, §3.4 of the papers digest).
 *
 * ONNX LRN: y_k = x_k · D_k^{−c}, D_k = κ + b·S_k, S_k = Σ_{j∈N(k)} x_j², b = α/n, c = β_lrn.
 * Expanding y_k around x and evaluating at the point where k's neighbours are zero splits y_k into
 *   own term        q_kk = x_k · (κ + b·x_k²)^{−c}
 *   neighbour terms q_jk = x_j · ∂y_k/∂x_j = −2bc · x_j² · x_k · D_k^{−c−1}   (j ∈ N(k), j ≠ k)
 * and each output's relevance is shared in proportion to its terms, like z_jk of a linear layer:
 *   ε-variant: R_j = Σ_k q_jk / (Σ_i q_ik + ε·sign(Σ_i q_ik)) · R_k
 *   β-variant: R_j = Σ_k ((1+β)·q_jk⁺ / Σ_i q_ik⁺ − β·q_jk⁻ / Σ_i q_ik⁻) · R_k   (0/0 → 0)
 *
 * Every neighbour term of output k is x_j² times one factor g_k = −2bc·x_k·D_k^{−c−1}, so the sum
 * over the outputs a channel neighbours is one transposed channel-window sum of g_k·s_k (s_k the
 * per-output normaliser) minus the j = k term: with the window sum that forms D, two window sums
 * in all, the cost of the LRN gradient. The explainer's forward computes the LRN in parts
 * (backward/lrn.ts) that this reuses, so the own term's power is the only one added.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { channelWindowSum, lrnForward, powPositive, type LrnAttrs, type LrnParts } from '../backward/lrn.js';

export type LrnTaylorVariant = { epsilon: number } | { beta: number };

/**
 * Relevance at the LRN input x given the relevance R at its output (C channels on axis 1); `p`: the
 * forward's parts (window sum, D, D^{−c}), else recomputed.
 */
export function lrnTaylor(g: GraphBuilder, x: string, R: string, C: number, a: LrnAttrs, v: LrnTaylorVariant, p: LrnParts = lrnForward(g, x, C, a)): string {
  const b = a.alpha / a.size;
  const c = a.beta;
  const { x2, S, D, y } = p;
  const own = g.mul(x, powPositive(g, g.add(g.mul(x2, g.scalar(b)), g.scalar(a.bias)), -c));
  // g_k = −2bc·x_k·D_k^{−c−1}; the neighbour terms of output k sum to g_k·(S_k − x_k²).
  const gk = g.mul(g.div(y, D), g.scalar(-2 * b * c));
  const cross = g.mul(gk, g.sub(S, x2));
  let ownPart: string;
  let w: string; // per output k: g_k times the factor each of its terms q_jk / g_k is multiplied by
  if ('epsilon' in v) {
    const s = g.div(R, g.stabilize(g.add(own, cross), v.epsilon));
    ownPart = g.mul(own, s);
    w = g.mul(gk, s);
  } else {
    // Within one output the neighbour terms share the sign of g_k, so their positive (negative) part is
    // x_j²·g_k⁺ (x_j²·g_k⁻), summing to cross⁺ (cross⁻).
    const P = g.add(g.relu(own), g.relu(cross));
    const N = g.add(g.negPart(own), g.negPart(cross));
    const ap = g.div(g.mul(R, g.scalar(1 + v.beta)), safe(g, P));
    const an = g.div(g.mul(R, g.scalar(v.beta)), safe(g, N));
    ownPart = g.sub(g.mul(g.relu(own), ap), g.mul(g.negPart(own), an));
    w = g.sub(g.mul(g.relu(gk), ap), g.mul(g.negPart(gk), an));
  }
  // Σ over the outputs k ≠ j whose window holds channel j.
  const neighbours = g.sub(channelWindowSum(g, w, C, a, true), w);
  return g.add(ownPart, g.mul(x2, neighbours));
}

/** d where d ≠ 0, else 1: a side without terms (its numerators are all 0) contributes 0, not 0/0. */
function safe(g: GraphBuilder, d: string): string {
  const zero = g.op('Equal', [d, g.scalar(0)]);
  return g.op('Where', [zero, g.scalar(1), d]);
}
