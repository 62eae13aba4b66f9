/**
 * Normalisation layers: batch norm that could not be folded into the layer before it (a
 * per-channel affine map), and local response normalisation (LRN).
 */
import { channelScaleAdjoint } from '../backward/normalization.js';
import { lrnAttrs, lrnGradient } from '../backward/lrn.js';
import { lrnTaylor } from '../rules/lrn-taylor.js';
import { bnAffine } from '../graph/batch-norm.js';
import { makeRule } from '../rules/spec.js';
import { affineEpsilonRule } from '../rules/elementwise.js';
import { ruleEpsilon, type LayerKindDef } from './types.js';

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
    return [affineEpsilonRule(c.g, l.name, l.scale!, x, l.outputs[0]!, R, rank, ruleEpsilon(rule))];
  },
  relevanceFollows: (r) => (r.rule === 'epsilon' ? 'multiplies' : null),
};

export const lrn: LayerKindDef = {
  kind: 'lrn',
  ops: ['LRN'],
  // pass: the identity treatment (relevance unchanged); lrn-taylor: Binder et al.'s redistribution.
  rules: ['lrn-taylor', 'pass', 'gradient'],
  defaultRule: (method) => (method === 'lrp' ? makeRule('lrn-taylor') : { rule: 'gradient' }),
  // LRN attributes are checked at import (graph/passes/fuse-lrn.ts).
  recognise: (_n, c) => ({ ...c.base, kind: 'lrn' }),
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const C = c.dims1(x)[1]!;
    const a = lrnAttrs(l.node);
    if (rule.rule === 'pass') return [R];
    if (rule.rule === 'lrn-taylor') return [lrnTaylor(c.g, x, R, C, a, rule.beta !== undefined ? { beta: rule.beta } : { epsilon: rule.epsilon! })];
    return [lrnGradient(c.g, x, R, C, a)];
  },
};
