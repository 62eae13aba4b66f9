/**
 * Local response normalisation (ONNX LRN): y_c = x_c / d_c^β, d_c = k + (α/n)·Σ_{i ∈ win(c)} x_i²,
 * the window running over channels. The channel-window sum is a convolution over the channel axis
 * with a kernel of ones; its transpose sums over the windows that contain a channel.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { GraphNode } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';

export interface LrnAttrs {
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}

export function lrnAttrs(n: GraphNode): LrnAttrs {
  return {
    size: n.attrs.size as number,
    alpha: (n.attrs.alpha as number | undefined) ?? 1e-4,
    beta: (n.attrs.beta as number | undefined) ?? 0.75,
    bias: (n.attrs.bias as number | undefined) ?? 1,
  };
}

/** Σ over the channel window of t (transposed: over the windows containing each channel). */
export function channelWindowSum(g: GraphBuilder, t: string, C: number, a: LrnAttrs, transposed: boolean): string {
  const lo = Math.floor((a.size - 1) / 2);
  const hi = Math.ceil((a.size - 1) / 2);
  const flat = g.op('Reshape', [t, g.ints([0, 1, C, -1])]);
  const ones = g.initializer('lrn_window', float32([1, 1, a.size, 1], new Float32Array(a.size).fill(1)));
  const [b, e] = transposed ? [hi, lo] : [lo, hi];
  const summed = g.op('Conv', [flat, ones], { kernel_shape: [a.size, 1], pads: [b, 0, e, 0] }, 'lrn_window_sum');
  return g.op('Reshape', [summed, g.op('Shape', [t])]);
}

/** d = k + (α/n)·Σ_win x² (`S`: the window sum Σ_win x², when already built). */
export function lrnDenominator(g: GraphBuilder, x: string, C: number, a: LrnAttrs, S = channelWindowSum(g, g.mul(x, x), C, a, false)): string {
  return g.add(g.mul(S, g.scalar(a.alpha / a.size)), g.scalar(a.bias));
}

/** dL/dx = dY·d^{−β} − (2αβ/n)·x·Σ_{windows ∋ c} dY·x·d^{−β−1}. */
export function lrnGradient(g: GraphBuilder, x: string, dY: string, C: number, a: LrnAttrs): string {
  const d = lrnDenominator(g, x, C, a);
  const dPow = g.op('Pow', [d, g.scalar(-a.beta)]);
  const inner = g.div(g.mul(g.mul(dY, x), dPow), d);
  const back = channelWindowSum(g, inner, C, a, true);
  return g.sub(g.mul(dY, dPow), g.mul(g.mul(x, back), g.scalar((2 * a.alpha * a.beta) / a.size)));
}
