/** Local response normalisation (ONNX LRN). */
import { lrnForward, lrnGradient } from '../../backward/lrn.js';
import { isInput, type Emitter } from '../context.js';

export const lrnLayer: Emitter<'lrn'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  if (c.shapesOnly) return { out: x, shape };
  const a = { size: l.size, alpha: l.alpha ?? 1e-4, beta: l.beta ?? 0.75, bias: l.bias ?? 1 };
  // The saved model holds the ONNX LRN node; the training step computes it in parts (faster in
  // ONNX Runtime) that the gradient reuses.
  if (!train) return { out: g.layer('LRN', [x], { ...a }, name), shape };
  const p = lrnForward(g, x, shape[0]!, a);
  c.tape.push((grad, give) => {
    const dY = grad(p.y);
    if (dY && !isInput(c, x)) give(x, lrnGradient(g, x, dY, shape[0]!, a, p));
  });
  return { out: p.y, shape };
};
