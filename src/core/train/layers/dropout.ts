/** Dropout (per element, or per position: a whole feature vector at once). */
import { ELEM } from '../../onnx/model.js';
import { float32 } from '../../onnx/tensor.js';
import { isInput, type Emitter } from '../context.js';

export const dropoutLayer: Emitter<'dropout'> = (c, l, { x, shape, name }) => {
  const g = c.g;
  if (c.shapesOnly || c.mode !== 'train' || l.rate === 0) return { out: x, shape };
  const ratio = g.scalar(l.rate);
  const on = g.initializer('training_mode', { dtype: 'bool', dims: [], data: new Uint8Array([1]) });
  if (l.per === 'position') {
    // One kept/dropped draw per sample and position, shared by all channels: dropout of a
    // ones tensor [N, 1, …] (already scaled by 1/(1−rate)) multiplies x by broadcasting.
    const xs = g.op('Shape', [x]);
    const oneShape = g.op('Concat', [g.op('Slice', [xs, g.ints([0]), g.ints([1])]), g.ints([1]), g.op('Slice', [xs, g.ints([2]), g.ints([2 ** 62])])], {
      axis: 0,
    });
    const ones = g.op('ConstantOfShape', [oneShape], { value: float32([1], [1]) });
    // The factor is built from the mask output: ONNX Runtime drops a Dropout whose mask is unused.
    const [, kept] = g.opN('Dropout', [ones, ratio, on], 2, { seed: c.dropoutSeed++ }, name);
    const m = g.mul(g.op('Cast', [kept!], { to: ELEM.FLOAT }), g.scalar(1 / (1 - l.rate)));
    const y = g.mul(x, m);
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (dY && !isInput(c, x)) give(x, g.mul(dY, m));
    });
    return { out: y, shape };
  }
  const [y, mask] = g.opN('Dropout', [x, ratio, on], 2, { seed: c.dropoutSeed++ }, name);
  c.tape.push((grad, give) => {
    const dY = grad(y!);
    if (dY && !isInput(c, x)) give(x, g.mul(g.mul(dY, g.op('Cast', [mask!], { to: ELEM.FLOAT })), g.scalar(1 / (1 - l.rate))));
  });
  return { out: y!, shape };
};
