/** Local response normalisation (ONNX LRN). */
import { lrnGradient } from '../../backward/lrn.js';
import { isInput, type Emitter } from '../context.js';

export const lrnLayer: Emitter<'lrn'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  if (c.shapesOnly) return { out: x, shape };
  const a = { size: l.size, alpha: l.alpha ?? 1e-4, beta: l.beta ?? 0.75, bias: l.bias ?? 1 };
  const y = g.layer('LRN', [x], { ...a }, name);
  if (train)
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (dY && !isInput(c, x)) give(x, lrnGradient(g, x, dY, shape[0]!, a));
    });
  return { out: y, shape };
};
