/**
 * Element-wise layers: activations (LRP passes relevance through them; gradient methods use the
 * derivative, or DeconvNet's / guided backprop's modified ReLU), residual Add (proportional split),
 * batch norm that could not be folded (epsilon rule on a diagonal affine map), arithmetic with a
 * constant (input normalisation inside the model: relevance passes, gradients scale).
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { Layer } from '../graph/layers.js';
import { float32 } from '../onnx/tensor.js';

export type ActivationMode = 'pass' | 'gradient' | 'relu_deconvnet' | 'relu_guided_backprop';

export function activationBackward(g: GraphBuilder, l: Layer, x: string, y: string, R: string, mode: ActivationMode): string {
  if (mode === 'pass') return R;
  const zero = g.scalar(0);
  const n = l.node;
  if (n.op === 'Relu') {
    // ReLU'(0) = 0.
    if (mode === 'relu_deconvnet') return g.relu(R);
    const active = g.op('Greater', [y, zero]);
    return g.op('Where', [active, mode === 'relu_guided_backprop' ? g.relu(R) : R, zero]);
  }
  switch (n.op) {
    case 'LeakyRelu': {
      const alpha = (n.attrs.alpha as number | undefined) ?? 0.01;
      return g.op('Where', [g.op('Greater', [x, zero]), R, g.mul(R, g.scalar(alpha))]);
    }
    case 'Tanh':
      return g.mul(R, g.sub(g.scalar(1), g.mul(y, y)));
    case 'Sigmoid':
      return g.mul(R, g.mul(y, g.sub(g.scalar(1), y)));
    case 'Clip': {
      let inside = '';
      const [, lo, hi] = n.inputs;
      if (lo) inside = g.op('Greater', [x, lo]);
      if (hi) {
        const below = g.op('Less', [x, hi]);
        inside = inside ? g.op('And', [inside, below]) : below;
      }
      return inside ? g.op('Where', [inside, R, zero]) : R;
    }
    default:
      throw new Error(`no gradient for activation ${n.op} at node "${n.name}"`);
  }
}

/** Residual Add y = a + b: R_a = a·R/stab(y), R_b = b·R/stab(y) (LRP) or R to both (gradient). */
export function addBackward(g: GraphBuilder, a: string, b: string, y: string, R: string, lrpEps: number | null): [string, string] {
  if (lrpEps === null) return [R, R];
  const s = g.div(R, g.stabilize(y, lrpEps));
  return [g.mul(a, s), g.mul(b, s)];
}

/** Unfolded BatchNormalization y = x·scale + shift (per channel, axis 1). */
export function affineBackward(g: GraphBuilder, l: Layer, x: string, y: string, R: string, rank: number, lrpEps: number | null): string {
  const C = l.scale!.length;
  const dims = [C, ...new Array(Math.max(rank - 2, 0)).fill(1)];
  const scale = g.initializer(`${l.name}/scale`, float32(dims, l.scale!));
  if (lrpEps === null) return g.mul(R, scale);
  return g.mul(g.mul(x, scale), g.div(R, g.stabilize(y, lrpEps)));
}

/** x ± c, x·c, x/c, c − x. LRP: relevance passes unchanged. Gradient: chain rule. */
export function constArithBackward(g: GraphBuilder, l: Layer, R: string, lrp: boolean): string {
  if (lrp) return R;
  const c = l.constOperand!;
  switch (l.op) {
    case 'Add':
      return R;
    case 'Sub':
      return c.index === 0 ? g.op('Neg', [R]) : R;
    case 'Mul':
      return g.mul(R, c.name);
    case 'Div':
      return g.div(R, c.name);
    default:
      throw new Error(`no gradient for ${l.op} at node "${l.name}"`);
  }
}
