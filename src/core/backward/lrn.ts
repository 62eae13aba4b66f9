/**
 * Local response normalisation (ONNX LRN): y_c = x_c / d_c^β, d_c = k + (α/n)·Σ_{i ∈ win(c)} x_i²,
 * the window running over channels. The channel-window sum is a box filter over the channel axis;
 * its transpose sums over the windows that contain a channel.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { GraphNode } from '../onnx/model.js';

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

/**
 * Σ over the channel window of t (transposed: over the windows containing each channel), as an
 * AveragePool over the channel axis that counts padding, scaled by the window size: ONNX Runtime's
 * pooling is several times faster here than a one-channel Conv with a kernel of ones.
 */
export function channelWindowSum(g: GraphBuilder, t: string, C: number, a: LrnAttrs, transposed: boolean): string {
  const lo = Math.floor((a.size - 1) / 2);
  const hi = Math.ceil((a.size - 1) / 2);
  const flat = g.op('Reshape', [t, g.ints([0, 1, C, -1])]);
  const [b, e] = transposed ? [hi, lo] : [lo, hi];
  const mean = g.op('AveragePool', [flat], { kernel_shape: [a.size, 1], pads: [b, 0, e, 0], count_include_pad: 1 }, 'lrn_window_mean');
  return g.op('Reshape', [g.mul(mean, g.scalar(a.size)), g.op('Shape', [t])]);
}

/** t^e for t > 0 as exp(e·log t): ONNX Runtime's elementwise Exp and Log are vectorised, its Pow is not. */
export function powPositive(g: GraphBuilder, t: string, e: number): string {
  return g.op('Exp', [g.mul(g.op('Log', [t]), g.scalar(e))]);
}

/** The LRN forward in parts, for backward passes that reuse them: x², S = Σ_win x², d = k + (α/n)·S, d^{−β}, y = x·d^{−β}. */
export interface LrnParts {
  x2: string;
  S: string;
  D: string;
  Dpow: string;
  y: string;
}

/** The LRN forward as elementwise ops and one window sum (d ≥ k > 0, so d^{−β} goes through log). */
export function lrnForward(g: GraphBuilder, x: string, C: number, a: LrnAttrs): LrnParts {
  const x2 = g.mul(x, x);
  const S = channelWindowSum(g, x2, C, a, false);
  const D = g.add(g.mul(S, g.scalar(a.alpha / a.size)), g.scalar(a.bias));
  const Dpow = powPositive(g, D, -a.beta);
  return { x2, S, D, Dpow, y: g.mul(x, Dpow) };
}

/** dL/dx = dY·d^{−β} − (2αβ/n)·x·Σ_{windows ∋ c} dY·x·d^{−β−1} (`p`: the forward's parts, else recomputed). */
export function lrnGradient(g: GraphBuilder, x: string, dY: string, C: number, a: LrnAttrs, p: LrnParts = lrnForward(g, x, C, a)): string {
  const inner = g.div(g.mul(g.mul(dY, x), p.Dpow), p.D);
  const back = channelWindowSum(g, inner, C, a, true);
  return g.sub(g.mul(dY, p.Dpow), g.mul(g.mul(x, back), g.scalar((2 * a.alpha * a.beta) / a.size)));
}
