/** Blocks of layers: residual (y = shortcut(x) + f(x)) and concatenation of branches. */
import { concatAdjoint, residualAddAdjoint } from '../../backward/index.js';
import { isInput, type Emitter } from '../context.js';

export const residualLayer: Emitter<'residual'> = (c, l, { x, shape, train, where, emit }) => {
  const g = c.g;
  // Both branches read x: the body f and the shortcut (a projection such as a strided 1×1
  // convolution, or none: the identity).
  const body = emit(x, shape, l.layers);
  const skip = emit(x, shape, l.shortcut ?? []);
  if (body.shape.join() !== skip.shape.join()) {
    const what = l.shortcut?.length ? `its shortcut to ${JSON.stringify(skip.shape)}` : 'the identity shortcut keeps it';
    throw new Error(`${where}: the block maps ${JSON.stringify(shape)} to ${JSON.stringify(body.shape)} but ${what}; both branches must give the same shape`);
  }
  if (c.shapesOnly) return { out: x, shape: body.shape };
  const y = g.add(skip.out, body.out);
  if (train)
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY) return;
      // Each branch output gets dY; where both reach x, `give` sums the two contributions.
      const [dSkip, dBody] = residualAddAdjoint(dY);
      if (!isInput(c, body.out)) give(body.out, dBody);
      if (!isInput(c, skip.out)) give(skip.out, dSkip);
    });
  return { out: y, shape: body.shape };
};

export const concatLayer: Emitter<'concat'> = (c, l, { x, shape, name, train, where, emit }) => {
  const g = c.g;
  const outs = l.branches.map((b) => emit(x, shape, b));
  const rest = outs[0]!.shape.slice(1).join();
  if (outs.some((o) => o.shape.slice(1).join() !== rest))
    throw new Error(`${where}: branches must agree on all but the channel axis: ${outs.map((o) => JSON.stringify(o.shape)).join(' vs ')}`);
  const outShape = [outs.reduce((a, o) => a + o.shape[0]!, 0), ...outs[0]!.shape.slice(1)];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const y = g.layer(
    'Concat',
    outs.map((o) => o.out),
    { axis: 1 },
    name,
  );
  if (train)
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY) return;
      const parts = concatAdjoint(
        g,
        dY,
        outs.map((o) => o.shape[0]!),
        1,
      );
      outs.forEach((o, i) => give(o.out, parts[i]!));
    });
  return { out: y, shape: outShape };
};
