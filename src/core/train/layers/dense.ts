/** Dense layers y = x·W + b (W [in, out]). */
import { denseAdjoint } from '../../backward/dense.js';
import { biasParam, isInput, param, setGrad, type Emitter } from '../context.js';

export const denseLayer: Emitter<'dense'> = (c, l, { x, shape, name, train, where }) => {
  const g = c.g;
  const inF = shape[shape.length - 1];
  if (inF === null || inF === undefined) throw new Error(`${where} needs a fixed last dimension, got ${JSON.stringify(shape)} (add a flatten layer)`);
  const W = param(c, name, 'weight', [inF, l.units], { decay: true, init: { fanIn: inF, fanOut: l.units } });
  const b = biasParam(c, name, l.bias, l.units);
  const outShape = [...shape.slice(0, -1), l.units];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const mm = g.layer('MatMul', [x, W], {}, name);
  const y = b ? g.add(mm, b) : mm;
  if (train) {
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY) return;
      const dY2 = g.op('Reshape', [dY, g.ints([-1, l.units])]);
      const x2 = g.op('Reshape', [x, g.ints([-1, inF])]);
      setGrad(c, W, () => g.op('MatMul', [g.op('Transpose', [x2], { perm: [1, 0] }), dY2]));
      if (b) setGrad(c, b, () => g.op('ReduceSum', [dY2, g.ints([0])], { keepdims: 0 }));
      if (!isInput(c, x)) give(x, denseAdjoint(g, dY, { graph: W }));
    });
  }
  return { out: y, shape: outShape };
};
