/**
 * Normalisation layers: batch norm that could not be folded into the layer before it (a
 * per-channel affine map), and local response normalisation (LRN).
 */
import { channelScaleAdjoint } from '../backward/normalization.js';
import { lrnAttrs, lrnGradient } from '../backward/lrn.js';
import { bnAffine } from '../graph/batch-norm.js';
import { makeRule } from '../rules/spec.js';
import { affineEpsilonRule } from '../rules/elementwise.js';
import type { LayerKindDef } from './types.js';

export const affine: LayerKindDef = {
  kind: 'affine',
  ops: ['BatchNormalization'],
  rules: ['epsilon', 'gradient', 'pass', 'merge_into_preceding'],
  defaultRule: (method) => (method === 'lrp' ? makeRule('epsilon') : { rule: 'gradient' }),
  recognise(n, c) {
    c.onlyFirst();
    const { scale, shift } = bnAffine(c.graph, n);
    return { ...c.base, outputs: [n.outputs[0]!], kind: 'affine', scale, shift };
  },
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const rank = c.dims1(x).length;
    if (rule.rule === 'pass') return [R];
    if (rule.rule === 'gradient') return [channelScaleAdjoint(c.g, l.name, R, l.scale!, rank)];
    return [affineEpsilonRule(c.g, l.name, l.scale!, x, l.outputs[0]!, R, rank, 'epsilon' in rule ? rule.epsilon : 1e-6)];
  },
  relevanceFollows: (r) => (r.rule === 'epsilon' ? 'multiplies' : null),
};

export const lrn: LayerKindDef = {
  kind: 'lrn',
  ops: ['LRN'],
  rules: ['pass', 'gradient'],
  defaultRule: (method) => (method === 'lrp' ? { rule: 'pass' } : { rule: 'gradient' }),
  recognise: (_n, c) => ({ ...c.base, kind: 'lrn' }),
  backward(c, l, rule, R) {
    // LRP passes relevance through the normalisation (an element-wise rescaling); gradients are exact.
    const x = l.inputs.find((i) => i)!;
    return [rule.rule === 'pass' ? R : lrnGradient(c.g, x, R, c.dims1(x)[1]!, lrnAttrs(l.node))];
  },
};
