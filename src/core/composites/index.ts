/**
 * Composites: which rule each dense/conv layer gets, by type and position, as in Zennit
 * (fixtures/lrp/README.md "First layer"). User mappings override them (see resolve.ts).
 */
import type { Layer } from '../layers/view.js';
import { unknownNameError } from '../names.js';
import { makeRule, type LinearRule, type RuleParams } from '../rules/spec.js';

export interface CompositeContext {
  /** First dense/conv layer from the attribution side. */
  firstLinear?: Layer;
  /** First conv layer from the attribution side. */
  firstConv?: Layer;
}

export type Composite = (l: Layer, ctx: CompositeContext, p: RuleParams) => LinearRule;

const rule = (name: string, p: RuleParams) => makeRule(name, p) as LinearRule;
const eps = (p: RuleParams) => rule('epsilon', { epsilon: p.epsilon });
const zbox = (p: RuleParams) => rule('zbox', { low: p.low, high: p.high, stabilizer: p.stabilizer });
const zplus = (p: RuleParams) => rule('zplus', { stabilizer: p.stabilizer });

export const COMPOSITES: Record<string, { describe: string; rule: Composite }> = {
  'epsilon-plus-flat': {
    describe: 'flat on the first dense/conv layer, z+ on other convs, epsilon on dense layers',
    rule: (l, c, p) => (l === c.firstLinear ? rule('flat', { stabilizer: p.stabilizer }) : l.kind === 'conv' ? zplus(p) : eps(p)),
  },
  'epsilon-gamma-box': {
    describe: 'zB/box on the first conv, gamma on other convs, epsilon on dense layers',
    rule: (l, c, p) => (l.kind === 'dense' ? eps(p) : l === c.firstConv ? zbox(p) : rule('gamma', { gamma: p.gamma, stabilizer: p.stabilizer })),
  },
  'epsilon-alpha2-beta1': {
    describe: 'alpha=2, beta=1 on convs, epsilon on dense layers',
    rule: (l, _c, p) => (l.kind === 'dense' ? eps(p) : rule('alphabeta', { alpha: p.alpha, beta: p.beta, stabilizer: p.stabilizer })),
  },
  'epsilon-plus': {
    describe: 'z+ on convs, epsilon on dense layers',
    rule: (l, _c, p) => (l.kind === 'dense' ? eps(p) : zplus(p)),
  },
  'deep-taylor': {
    describe: 'zB/box on the first dense/conv layer, z+ elsewhere',
    rule: (l, c, p) => (l === c.firstLinear ? zbox(p) : zplus(p)),
  },
  'deep-taylor-wsquare': {
    describe: 'w² on the first dense/conv layer, z+ elsewhere',
    rule: (l, c, p) => (l === c.firstLinear ? rule('wsquare', { stabilizer: p.stabilizer }) : zplus(p)),
  },
};

/** Composites whose rules include zB/box on the first layer: they need the input's range. */
export const BOX_COMPOSITES = ['epsilon-gamma-box', 'deep-taylor'];

/** Accepts Zennit's spellings too (EpsilonGammaBox, deep_taylor_zbox). */
export function compositeName(name: string): string | undefined {
  const norm = (n: string) => n.toLowerCase().replace(/[^a-z0-9]/g, '');
  const key = norm(name) === 'deeptaylorzbox' ? 'deeptaylor' : norm(name);
  return Object.keys(COMPOSITES).find((k) => norm(k) === key);
}

export function getComposite(name: string): Composite {
  const c = COMPOSITES[compositeName(name) ?? ''];
  if (!c) throw unknownNameError('composite', name, Object.keys(COMPOSITES));
  return c.rule;
}
