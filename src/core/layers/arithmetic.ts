/**
 * Element-wise arithmetic: the residual sum of two input-dependent tensors ('add', LRP's norm rule
 * splits relevance in proportion to the operands) and arithmetic with a constant ('const-arith':
 * input normalisation inside the model; relevance passes, gradients follow the chain rule).
 */
import { constArithAdjoint, residualAddAdjoint } from '../backward/elementwise.js';
import { addNormRule } from '../rules/elementwise.js';
import { makeRule } from '../rules/spec.js';
import { type LayerKindDef, ruleEpsilon, unsupported } from './types.js';

export const add: LayerKindDef = {
  kind: 'add',
  ops: ['Add', 'Sub', 'Mul', 'Div'],
  rules: ['norm', 'epsilon', 'gradient'],
  defaultRule: (method) => (method === 'lrp' ? makeRule('norm') : { rule: 'gradient' }),
  recognise(n, c) {
    const nCarry = c.carried.filter((t) => t).length;
    if (nCarry === 2) {
      if (n.op !== 'Add') throw unsupported(n, `${n.op} of two input-dependent tensors`);
      const [a, b] = n.inputs.map((i) => c.shapes.get(i!)!.dims.join(','));
      if (a !== b) throw unsupported(n, 'residual Add of tensors with different shapes (broadcasting)');
      return { ...c.base, kind: 'add' };
    }
    const idx = c.carried[0] ? 1 : 0;
    if (n.op === 'Div' && !c.carried[0]) throw unsupported(n, 'division by an input-dependent tensor');
    const xShape = c.shapes.get(c.carried[0] ?? c.carried[1]!)!.dims.join(',');
    if (c.shapes.get(n.outputs[0]!)!.dims.join(',') !== xShape) throw unsupported(n, 'the constant operand broadcasts the input to a larger shape');
    return { ...c.base, kind: 'const-arith', constOperand: { name: n.inputs[idx]!, index: idx } };
  },
  backward(c, l, rule, R) {
    if (rule.rule === 'gradient') return residualAddAdjoint(R);
    return addNormRule(c.g, l.inputs[0]!, l.inputs[1]!, l.outputs[0]!, R, ruleEpsilon(rule));
  },
  nonNegativeOutput: (_l, inputsNonNeg) => inputsNonNeg,
  relevanceFollows: (r) => (r.rule === 'norm' || r.rule === 'epsilon' ? 'multiplies' : null),
};

export const constArith: LayerKindDef = {
  kind: 'const-arith',
  ops: [], // recognised by `add`, which sees whether one operand is constant
  rules: ['pass', 'gradient'],
  defaultRule: (method) => (method === 'lrp' ? { rule: 'pass' } : { rule: 'gradient' }),
  recognise: (n) => {
    throw unsupported(n, 'internal: const-arith is recognised by the add kind');
  },
  backward(c, l, rule, R) {
    const k = l.constOperand!;
    const out = rule.rule === 'pass' ? R : constArithAdjoint(c.g, l.op, R, k.name, k.index, l.name);
    return l.inputs.map((i) => (i ? out : null));
  },
};
