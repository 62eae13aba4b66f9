/**
 * Adjoints of element-wise activations y = f(x): dL/dx = f'(x) ⊙ dL/dy. Written once for the
 * gradient methods, the LRP rules that use gradients and the training-step builder.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM, type GraphNode } from '../onnx/model.js';

/** 1 where t > 0, else 0 (ReLU'(t), with ReLU'(0) = 0). Multiplying by it runs faster in ONNX Runtime than Where. */
export function positiveMask(g: GraphBuilder, t: string): string {
  return g.op('Cast', [g.op('Greater', [t, g.scalar(0)])], { to: ELEM.FLOAT });
}

/** The activations with an adjoint here (and so supported as layers). */
export const ACTIVATION_OPS = ['Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Clip'] as const;

/**
 * dL/dx of an activation node, given its input x, output y and dL/dy:
 * ReLU: [y > 0]·dY; LeakyReLU: dY where x > 0, α·dY elsewhere; tanh: (1 − y²)·dY;
 * sigmoid: y(1 − y)·dY; Clip: dY strictly inside the bounds, 0 outside.
 */
export function activationAdjoint(g: GraphBuilder, n: Pick<GraphNode, 'op' | 'attrs' | 'inputs' | 'name'>, x: string, y: string, dY: string): string {
  const zero = g.scalar(0);
  switch (n.op) {
    case 'Relu':
      return g.mul(dY, positiveMask(g, y));
    case 'LeakyRelu': {
      const alpha = (n.attrs.alpha as number | undefined) ?? 0.01;
      return g.op('Where', [g.op('Greater', [x, zero]), dY, g.mul(dY, g.scalar(alpha))]);
    }
    case 'Tanh':
      return g.mul(dY, g.sub(g.scalar(1), g.mul(y, y)));
    case 'Sigmoid':
      return g.mul(dY, g.mul(y, g.sub(g.scalar(1), y)));
    case 'Clip': {
      let inside = '';
      const [, lo, hi] = n.inputs;
      if (lo) inside = g.op('Greater', [x, lo]);
      if (hi) {
        const below = g.op('Less', [x, hi]);
        inside = inside ? g.op('And', [inside, below]) : below;
      }
      return inside ? g.op('Where', [inside, dY, zero]) : dY;
    }
    default:
      throw new Error(`no gradient for activation ${n.op} at node "${n.name}"`);
  }
}
