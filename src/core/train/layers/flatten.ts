/** Flatten to [batch, features]. */
import { reshapeAdjoint } from '../../backward/structural.js';
import { isInput, prod, type Emitter } from '../context.js';

export const flattenLayer: Emitter<'flatten'> = (c, _l, { x, shape, name, train }) => {
  const g = c.g;
  const outShape = [prod(shape)];
  if (c.shapesOnly) return { out: x, shape: [Number.isNaN(outShape[0]) ? null : outShape[0]!] };
  const y = g.layer('Flatten', [x], { axis: 1 }, name);
  if (train)
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (dY && !isInput(c, x)) give(x, reshapeAdjoint(g, x, dY));
    });
  return { out: y, shape: [Number.isNaN(outShape[0]) ? null : outShape[0]!] };
};
