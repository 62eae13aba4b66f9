/** Batch normalisation: batch statistics and running averages in training, inference form otherwise. */
import { batchNormTrainingAdjoint, channelScaleAdjoint } from '../../backward/normalization.js';
import { ELEM } from '../../onnx/model.js';
import { isInput, param, setGrad, type Emitter } from '../context.js';

export const batchNormLayer: Emitter<'batchnorm'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  const C = shape[0]!;
  const gamma = param(c, name, 'gamma', [C], { init: 'one' });
  const beta = param(c, name, 'beta', [C]);
  const rm = param(c, name, 'running_mean', [C], { buffer: true });
  const rv = param(c, name, 'running_var', [C], { buffer: true, init: 'one' });
  if (c.shapesOnly) return { out: x, shape };
  const eps = l.epsilon ?? 1e-5;
  if (!train) return { out: g.layer('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: eps }, name), shape };
  if (c.frozen.has(name)) {
    // A frozen batch norm stays in inference form: a fixed per-channel affine map.
    const y = g.layer('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: eps }, name);
    const gv = c.values!.get(gamma)!.data as Float32Array;
    const vv = c.values!.get(rv)!.data as Float32Array;
    const scale = gv.map((v, i) => v / Math.sqrt(vv[i]! + eps));
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (dY && !isInput(c, x)) give(x, channelScaleAdjoint(g, name, dY, scale, shape.length + 1));
    });
    return { out: y, shape };
  }
  const m = l.momentum ?? 0.1;
  const rank = shape.length + 1;
  const axisList = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const axes = g.ints(axisList);
  // ReduceMean takes its axes as an attribute up to opset 17.
  const reduceMean = (t: string) => g.op('ReduceMean', [t], { axes: axisList, keepdims: 1 });
  const perC = (t: string) => g.op('Reshape', [t, g.ints([C, ...new Array(rank - 2).fill(1)])]);
  const mean = reduceMean(x);
  const xc = g.sub(x, mean);
  const v = reduceMean(g.mul(xc, xc));
  const invstd = g.div(g.scalar(1), g.op('Sqrt', [g.add(v, g.scalar(eps))]));
  const xhat = g.mul(xc, invstd);
  const y = g.add(g.mul(xhat, perC(gamma)), perC(beta));
  // Running statistics (unbiased variance), as PyTorch keeps them.
  const count = g.op('Div', [g.op('Cast', [g.op('Size', [x])], { to: ELEM.FLOAT }), g.scalar(C)]);
  const unbias = g.div(count, g.op('Max', [g.sub(count, g.scalar(1)), g.scalar(1)]));
  const flat = (t: string) => g.op('Reshape', [t, g.ints([C])]);
  c.bufferUpdates.set(rm, g.add(g.mul(rm, g.scalar(1 - m)), g.mul(flat(mean), g.scalar(m))));
  c.bufferUpdates.set(rv, g.add(g.mul(rv, g.scalar(1 - m)), g.mul(g.mul(flat(v), unbias), g.scalar(m))));
  c.tape.push((grad, give) => {
    const dY = grad(y);
    if (!dY) return;
    setGrad(c, beta, () => g.op('ReduceSum', [dY, axes], { keepdims: 0 }));
    setGrad(c, gamma, () => g.op('ReduceSum', [g.mul(dY, xhat), axes], { keepdims: 0 }));
    if (isInput(c, x)) return;
    give(x, batchNormTrainingAdjoint(g, dY, perC(gamma), xhat, invstd, reduceMean));
  });
  return { out: y, shape };
};
