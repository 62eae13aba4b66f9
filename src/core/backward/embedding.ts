/**
 * Adjoint of an embedding lookup E = table[ids] with respect to the table: the rows of dE are
 * summed into the rows their ids name (ScatterElements with reduction 'add'); a padding id's row
 * gets no gradient (it stays zero).
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';

/** dE [N·L, D] (rows in the order of `ids` flattened) → d(table) [vocab, D]. */
export function embeddingTableAdjoint(g: GraphBuilder, dE: string, ids: string, vocab: number, dim: number, padId?: number): string {
  const flatIds = g.op('Reshape', [ids, g.ints([-1, 1])]);
  let rows = dE;
  if (padId !== undefined) {
    const notPad = g.op('Not', [g.op('Equal', [flatIds, g.ints([padId])])]);
    rows = g.mul(rows, g.op('Cast', [notPad], { to: ELEM.FLOAT }));
  }
  const idx = g.op('Expand', [flatIds, g.op('Shape', [rows])]);
  const zeros = g.op('ConstantOfShape', [g.ints([vocab, dim])], { value: float32([1], [0]) });
  return g.op('ScatterElements', [zeros, idx, rows], { axis: 0, reduction: 'add' });
}
