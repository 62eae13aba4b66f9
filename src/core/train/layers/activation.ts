/** Element-wise activations; their adjoints come from backward/activation.ts. */
import { activationAdjoint } from '../../backward/activation.js';
import { isInput, type Emitter } from '../context.js';

export const activationLayer: Emitter<'relu' | 'tanh' | 'sigmoid' | 'leakyrelu'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  if (c.shapesOnly) return { out: x, shape };
  const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu' }[l.type];
  const alpha = l.type === 'leakyrelu' ? (l.alpha ?? 0.01) : undefined;
  const attrs: Record<string, number> = alpha !== undefined ? { alpha } : {};
  const y = g.layer(op, [x], attrs, name);
  if (l.type === 'relu') c.reluOf.set(y, x);
  if (train) {
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY || isInput(c, x)) return;
      give(x, activationAdjoint(g, { op, attrs, inputs: [x], name }, x, y, dY));
    });
  }
  return { out: y, shape };
};
