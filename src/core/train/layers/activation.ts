/** Element-wise activations; their adjoints come from backward/activation.ts. */
import { activationAdjoint } from '../../backward/activation.js';
import { isInput, type Emitter } from '../context.js';

export const activationLayer: Emitter<'relu' | 'tanh' | 'sigmoid' | 'leakyrelu'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  if (c.shapesOnly) return { out: x, shape };
  const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu' }[l.type];
  const alpha = l.type === 'leakyrelu' ? (l.alpha ?? 0.01) : undefined;
  const attrs: Record<string, number> = alpha !== undefined ? { alpha } : {};
  // Scaled tanh s·tanh(x/s): its derivative 1 − tanh²(x/s) is the plain tanh's adjoint at t = tanh(x/s).
  const scale = l.type === 'tanh' && l.scale !== undefined && l.scale !== 1 ? l.scale : undefined;
  const t = g.layer(op, [scale ? g.mul(x, g.scalar(1 / scale)) : x], attrs, name);
  const y = scale ? g.mul(t, g.scalar(scale)) : t;
  if (l.type === 'relu') c.reluOf.set(y, x);
  if (train) {
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY || isInput(c, x)) return;
      give(x, activationAdjoint(g, { op, attrs, inputs: [x], name }, x, t, dY));
    });
  }
  return { out: y, shape };
};
