/**
 * Pooling layers: max pooling (winner-take-all, rules/max-pool.ts), average pooling and means
 * over axes (GlobalAveragePool, ReduceMean), which LRP treats with the epsilon ("norm") rule:
 * R_x = x·Fᵀ(R / (y + ε·sgn y)) for the pool's linear map F.
 */
import { avgPoolAdjoint, avgPoolGeometry, meanAdjoint } from '../backward/pooling.js';
import { intValues } from '../onnx/values.js';
import { maxPoolRule } from '../rules/max-pool.js';
import { makeRule, type RuleSpec } from '../rules/spec.js';
import { type LayerKindDef, ruleEpsilon, unsupported } from './types.js';

const normDefault = (method: string): RuleSpec => (method === 'lrp' ? makeRule('norm') : { rule: 'gradient' });
const normFollows = (r: RuleSpec) => (r.rule === 'norm' || r.rule === 'epsilon' ? 'multiplies' : null);

export const maxpool: LayerKindDef = {
  kind: 'maxpool',
  ops: ['MaxPool', 'GlobalMaxPool'],
  rules: ['gradient', 'pass'],
  defaultRule: () => ({ rule: 'gradient' }),
  recognise: (n, c) => ({ ...c.base, outputs: [n.outputs[0]!], kind: 'maxpool' }),
  // The backward routes relevance to the window winners by the pool's indices: a second output.
  prepareForward(l, c) {
    const n = l.node;
    if (n.op === 'GlobalMaxPool') {
      const spatial = c.shapes.get(n.inputs[0]!)!.dims.slice(2);
      n.op = 'MaxPool';
      // One window: its stride is irrelevant, and setting it to the window marks the pool as non-overlapping.
      n.attrs = { kernel_shape: spatial, strides: spatial };
    }
    if (n.attrs.storage_order) throw unsupported(n, 'storage_order=1');
    if (!n.outputs[1]) n.outputs[1] = c.g.fresh(`${n.name}/indices`);
  },
  backward: (c, l, _rule, R) => [maxPoolRule(c.g, l.inputs.find((i) => i)!, l.node, R, c.unpooled)],
  nonNegativeOutput: (_l, inputsNonNeg) => inputsNonNeg,
  relevanceFollows: () => 'routes',
};

export const avgpool: LayerKindDef = {
  kind: 'avgpool',
  ops: ['AveragePool'],
  rules: ['norm', 'epsilon', 'gradient'],
  defaultRule: normDefault,
  recognise: (_n, c) => ({ ...c.base, kind: 'avgpool' }),
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const y = l.outputs[0]!;
    const geo = avgPoolGeometry(l.node, c.dims1(x), c.dims1(y));
    if (rule.rule === 'gradient') return [avgPoolAdjoint(c.g, l.node, R, geo, c.dims1(x), l.name)];
    const s = c.g.div(R, c.g.stabilize(y, ruleEpsilon(rule)));
    return [c.g.mul(x, avgPoolAdjoint(c.g, l.node, s, geo, c.dims1(x), l.name))];
  },
  nonNegativeOutput: (_l, inputsNonNeg) => inputsNonNeg,
  relevanceFollows: normFollows,
};

export const globalavgpool: LayerKindDef = {
  kind: 'globalavgpool',
  ops: ['GlobalAveragePool', 'ReduceMean'],
  rules: ['norm', 'epsilon', 'gradient'],
  defaultRule: normDefault,
  recognise(n, c) {
    if (n.op === 'GlobalAveragePool') return { ...c.base, kind: 'globalavgpool' };
    c.onlyFirst();
    const rank = c.shapes.get(c.carried[0]!)!.dims.length;
    const axesT = n.inputs[1] ? c.graph.initializers.get(n.inputs[1]) : undefined;
    if (n.inputs[1] && !axesT) throw unsupported(n, 'its axes are not constant');
    const axes = (axesT ? intValues(axesT) : ((n.attrs.axes as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => i))).map((a) =>
      a < 0 ? a + rank : a,
    );
    if (axes.includes(0)) throw unsupported(n, 'averaging over the batch axis');
    return {
      ...c.base,
      inputs: [c.carried[0]!],
      kind: 'globalavgpool',
      meanAxes: axes.sort(),
      keepdims: ((n.attrs.keepdims as number | undefined) ?? 1) !== 0,
    };
  },
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const xd = c.dims1(x);
    const axes = l.meanAxes ?? xd.slice(2).map((_, i) => i + 2);
    const K = axes.reduce((a, ax) => a * xd[ax]!, 1);
    const keepdims = l.keepdims !== false;
    if (rule.rule === 'gradient') return [meanAdjoint(c.g, R, x, axes, keepdims, K)];
    // Norm rule: x · mean-adjoint(R / stab(y)).
    const s = c.g.div(R, c.g.stabilize(l.outputs[0]!, ruleEpsilon(rule)));
    return [c.g.mul(x, meanAdjoint(c.g, s, x, axes, keepdims, K))];
  },
  nonNegativeOutput: (_l, inputsNonNeg) => inputsNonNeg,
  relevanceFollows: normFollows,
};
