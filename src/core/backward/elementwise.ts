/** Adjoints of element-wise arithmetic: with a constant operand, and the residual sum of two tensors. */
import type { GraphBuilder } from '../onnx/builder.js';

/**
 * x ± c, x·c, x/c, c − x (c a constant, `constIndex` its operand position): dL/dx is dY, −dY,
 * dY·c or dY/c.
 */
export function constArithAdjoint(g: GraphBuilder, op: string, dY: string, constant: string, constIndex: number, where: string): string {
  switch (op) {
    case 'Add':
      return dY;
    case 'Sub':
      return constIndex === 0 ? g.op('Neg', [dY]) : dY;
    case 'Mul':
      return g.mul(dY, constant);
    case 'Div':
      return g.div(dY, constant);
    default:
      throw new Error(`no gradient for ${op} at node "${where}"`);
  }
}

/** y = a + b: both operands get dY. */
export function residualAddAdjoint(dY: string): [string, string] {
  return [dY, dY];
}
