/** Element-wise activations (ReLU, leaky ReLU, tanh, sigmoid, clip). */
import { ACTIVATION_OPS } from '../backward/activation.js';
import { reluBelowMaxPool } from '../rules/max-pool.js';
import { activationRule, type ActivationMode } from '../rules/elementwise.js';
import type { LayerKindDef } from './types.js';

export const activation: LayerKindDef = {
  kind: 'activation',
  ops: ACTIVATION_OPS,
  rules: ['pass', 'gradient', 'relu_deconvnet', 'relu_guided_backprop'],
  defaultRule(method, l) {
    if (method === 'lrp') return { rule: 'pass' };
    if (l.op === 'Relu' && method === 'deconvnet') return { rule: 'relu_deconvnet' };
    if (l.op === 'Relu' && method === 'guided-backprop') return { rule: 'relu_guided_backprop' };
    return { rule: 'gradient' };
  },
  checkRule(l, r) {
    if ((r.rule === 'relu_deconvnet' || r.rule === 'relu_guided_backprop') && l.op !== 'Relu')
      throw new Error(`rules: "${r.rule}" applies only to Relu nodes, not ${l.op} "${l.name}"`);
  },
  recognise(_n, c) {
    c.onlyFirst();
    return { ...c.base, kind: 'activation' };
  },
  backward(c, l, rule, R) {
    const x = l.inputs.find((i) => i)!;
    const y = l.outputs[0]!;
    if (l.op === 'Relu' && rule.rule === 'gradient') {
      const pooled = reluBelowMaxPool(c.g, y, R, c.unpooled);
      if (pooled) return [pooled];
    }
    const out = activationRule(c.g, l.node, x, y, R, rule.rule as ActivationMode);
    // Passing relevance unchanged keeps it winners-only.
    const u = c.unpooled.get(R);
    if (u && out === R) c.unpooled.set(out, u);
    return [out];
  },
  nonNegativeOutput(l, _inputsNonNeg, graph) {
    if (l.op === 'Relu' || l.op === 'Sigmoid') return true;
    if (l.op === 'Clip' && l.node.inputs[1]) {
      const lo = graph.initializers.get(l.node.inputs[1]);
      return !!lo && (lo.data as Float32Array)[0]! >= 0;
    }
    return false;
  },
};
