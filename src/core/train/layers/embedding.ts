/** Embedding lookup of token ids (channels-first output [dim, length]). */
import { embeddingTableAdjoint } from '../../backward/embedding.js';
import { param, setGrad, type Emitter } from '../context.js';

export const embeddingLayer: Emitter<'embedding'> = (c, l, { x, shape, name, train, where }) => {
  const g = c.g;
  if (shape.length !== 1) throw new Error(`${where} reads token ids [length], got ${JSON.stringify(shape)}`);
  if (l.padId !== undefined && !(Number.isInteger(l.padId) && l.padId >= 0 && l.padId < l.vocab))
    throw new Error(`${where}: padId must be a token id below vocab ${l.vocab}`);
  const table = param(c, name, 'weight', [l.vocab, l.dim], { decay: false, padRow: l.padId, init: 'embedding' });
  const outShape = [l.dim, shape[0]!];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const E = g.layer('Gather', [table, x], { axis: 0 }, name);
  const y = g.op('Transpose', [E], { perm: [0, 2, 1] }, `${name}/channels_first`);
  if (train)
    c.tape.push((grad) => {
      const dY = grad(y);
      if (!dY) return;
      // Back through the channels-first transpose, then into the table's rows.
      const dE = g.op('Reshape', [g.op('Transpose', [dY], { perm: [0, 2, 1] }), g.ints([-1, l.dim])]);
      setGrad(c, table, () => embeddingTableAdjoint(g, dE, x, l.vocab, l.dim, l.padId));
    });
  return { out: y, shape: outShape };
};
