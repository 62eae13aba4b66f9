/**
 * Normalisation layers: batch norm that could not be folded into the layer before it (a
 * per-channel affine map), and local response normalisation (LRN).
 */
import { channelScaleAdjoint } from '../backward/normalization.js';
import { lrnAttrs, lrnForward, lrnGradient, type LrnParts } from '../backward/lrn.js';
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
  // ONNX Runtime's LRN kernel is several times slower than the same arithmetic as elementwise ops
  // and a pooled window sum, whose parts the backward then reuses.
  prepareForward(l, c) {
    const x = l.node.inputs[0]!;
    const C = c.shapes.get(x)!.dims[1]!;
    let parts: LrnParts | undefined;
    c.g.replaceNode(l.node, () => {
      parts = lrnForward(c.g, x, C, lrnAttrs(l.node));
      return parts.y;
    });
    // The last part now writes the node's own output.
    l.lrnParts = { ...parts!, y: l.node.outputs[0]! };
  },
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const C = c.dims1(x)[1]!;
    const a = lrnAttrs(l.node);
    const p = l.lrnParts;
    if (rule.rule === 'pass') return [R];
    if (rule.rule === 'lrn-taylor') return [lrnTaylor(c.g, x, R, C, a, rule.beta !== undefined ? { beta: rule.beta } : { epsilon: rule.epsilon! }, p)];
    return [lrnGradient(c.g, x, R, C, a, p)];
  },
};
