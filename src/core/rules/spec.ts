/**
 * Rule specifications: what a user writes in `--rules mapping.json` (the `layer_rules` form of
 * the Zennit fixtures) and what composites produce.
 */
import { unknownNameError } from '../names.js';

export type LinearRule =
  | { rule: 'epsilon'; epsilon: number }
  | { rule: 'zplus'; stabilizer: number }
  | { rule: 'alphabeta'; alpha: number; beta: number; stabilizer: number }
  | { rule: 'gamma'; gamma: number; stabilizer: number }
  | { rule: 'zbox'; low: number; high: number; stabilizer: number }
  | { rule: 'wsquare'; stabilizer: number }
  | { rule: 'flat'; stabilizer: number }
  | { rule: 'gradient' };

export type RuleSpec =
  | LinearRule
  | { rule: 'pass' }
  | { rule: 'norm'; epsilon: number }
  | { rule: 'relu_deconvnet' }
  | { rule: 'relu_guided_backprop' }
  | { rule: 'merge_into_preceding' }
  | { rule: 'none' }
  /** LRN layers: Binder et al.'s Taylor redistribution, ε- or β-variant (exactly one is set). */
  | { rule: 'lrn-taylor'; epsilon?: number; beta?: number };

export const RULE_NAMES = [
  'epsilon',
  'zplus',
  'alphabeta',
  'gamma',
  'zbox',
  'wsquare',
  'flat',
  'gradient',
  'pass',
  'norm',
  'relu_deconvnet',
  'relu_guided_backprop',
  'merge_into_preceding',
  'none',
  'lrn-taylor',
] as const;

export const LINEAR_RULES = new Set(['epsilon', 'zplus', 'alphabeta', 'gamma', 'zbox', 'wsquare', 'flat', 'gradient']);

/** The LRP rules for dense/conv layers: what `--rule` and a method spec's variant take. */
export const LRP_RULES = ['epsilon', 'zplus', 'alphabeta', 'gamma', 'zbox', 'wsquare', 'flat'] as const;

export const DEFAULT_STABILIZER = 1e-6;

/**
 * ε of the LRN Taylor rule when none is given: small, so each LRN layer stays conservative (the
 * dense/conv rules do the damping); it only keeps Σ_j q_jk = 0 from dividing by zero.
 */
export const LRN_DEFAULT_EPSILON = 1e-6;

/** Parameters a rule name can take on the command line (`--epsilon`, `--gamma`, …). */
export interface RuleParams {
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: number;
  high?: number;
  stabilizer?: number;
}

const PARAM_KEYS = ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'stabilizer'] as const;

/** The parameters each rule takes; a rules-mapping entry giving any other is an error. */
const RULE_PARAMS: Record<(typeof RULE_NAMES)[number], readonly (keyof RuleParams)[]> = {
  epsilon: ['epsilon'],
  zplus: ['stabilizer'],
  alphabeta: ['alpha', 'beta', 'stabilizer'],
  gamma: ['gamma', 'stabilizer'],
  zbox: ['low', 'high', 'stabilizer'],
  wsquare: ['stabilizer'],
  flat: ['stabilizer'],
  gradient: [],
  pass: [],
  // Zennit's Norm rule calls its epsilon "stabilizer" (the fixtures' spelling); both are accepted.
  norm: ['epsilon', 'stabilizer'],
  relu_deconvnet: [],
  relu_guided_backprop: [],
  merge_into_preceding: [],
  none: [],
  'lrn-taylor': ['epsilon', 'beta'],
};

/** The parameters a rule takes (by any of its names); [] for an unknown name. */
export function ruleParams(name: string): readonly (keyof RuleParams)[] {
  const r = ruleName(name);
  return r ? RULE_PARAMS[r] : [];
}

/** Keys of a rules-mapping entry that only describe the node (the fixtures carry them). */
const INFO_KEYS = ['op', 'module', 'note'];

/** What to pass when a box rule has no bounds: said wherever one is refused. */
export const BOX_BOUNDS_HELP =
  'give the range of the raw input (--input-range LO,HI, e.g. 0,1 for pixels; inputRange in the API) or the bounds at the first layer (--low and --high)';

/** A box rule without bounds (the compiler says more when an input range was given but cannot be carried). */
export class BoxBoundsError extends Error {}

const ALIASES: Record<string, string> = {
  'z+': 'zplus',
  'z-plus': 'zplus',
  'alpha-beta': 'alphabeta',
  alpha_beta: 'alphabeta',
  box: 'zbox',
  zb: 'zbox',
  w2: 'wsquare',
  'w-square': 'wsquare',
  // The paper's name for passing relevance through a layer unchanged (LRN's identity treatment).
  identity: 'pass',
  lrn_taylor: 'lrn-taylor',
};

/** The canonical name of a rule (aliases and Zennit's class names too), or undefined. */
export function ruleName(name: string): (typeof RULE_NAMES)[number] | undefined {
  const lower = name.toLowerCase(); // Zennit's class names (ZPlus, AlphaBeta, WSquare) too
  const rule = ALIASES[lower] ?? lower;
  return (RULE_NAMES as readonly string[]).includes(rule) ? (rule as (typeof RULE_NAMES)[number]) : undefined;
}

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Check the domain of every parameter given: ε, γ, β and the stabiliser ≥ 0, α − β = 1, low ≤
 * high, all finite. `name` spells a parameter in messages (the CLI passes its flags).
 */
export function checkRuleParams(p: RuleParams, name: (key: keyof RuleParams) => string = (k) => k): void {
  for (const k of PARAM_KEYS) {
    const v = p[k];
    if (v === undefined) continue;
    finite(v, name(k));
    if ((k === 'epsilon' || k === 'gamma' || k === 'beta' || k === 'stabilizer') && v < 0) throw new Error(`${name(k)} must be ≥ 0, got ${v}`);
  }
  const { alpha, beta, low, high } = p;
  if (alpha !== undefined && beta !== undefined && Math.abs(alpha - beta - 1) > 1e-9)
    throw new Error(`the alpha-beta rule needs alpha - beta = 1, got ${name('alpha')} ${alpha} and ${name('beta')} ${beta}`);
  if (alpha !== undefined && beta === undefined && alpha < 1) throw new Error(`${name('alpha')} must be ≥ 1 (beta = alpha − 1 must be ≥ 0), got ${alpha}`);
  if (low !== undefined && high !== undefined && !(low <= high))
    throw new Error(`the box bounds need low ≤ high, got ${name('low')} ${low} and ${name('high')} ${high}`);
}

/**
 * Build a rule from a name and parameters (CLI flags or a JSON object); validates everything.
 * `known` is the list an unknown name's message shows (default: the LRP rules of `--rule`).
 */
export function makeRule(name: string, p: RuleParams = {}, where?: string, known: readonly string[] = LRP_RULES): RuleSpec {
  const at = (msg: string) => new Error(where ? `${where}: ${msg}` : msg);
  const rule = ruleName(name);
  if (!rule) throw at(unknownNameError('rule', name, known, [...RULE_NAMES, ...Object.keys(ALIASES)]).message);
  try {
    checkRuleParams(p);
  } catch (e) {
    throw at((e as Error).message);
  }
  const stab = p.stabilizer ?? DEFAULT_STABILIZER;
  switch (rule) {
    case 'epsilon':
      return { rule, epsilon: p.epsilon ?? DEFAULT_STABILIZER };
    case 'zplus':
      return { rule, stabilizer: stab };
    case 'alphabeta': {
      const alpha = p.alpha ?? (p.beta !== undefined ? p.beta + 1 : 2);
      return { rule, alpha, beta: p.beta ?? alpha - 1, stabilizer: stab };
    }
    case 'gamma':
      return { rule, gamma: p.gamma ?? 0.25, stabilizer: stab };
    case 'zbox':
      // No default: bounds that do not hold the input make the rule's relevance meaningless.
      if (p.low === undefined || p.high === undefined) throw new BoxBoundsError(`${where ? `${where}: ` : ''}the zB/box rule needs bounds: ${BOX_BOUNDS_HELP}`);
      return { rule, low: p.low, high: p.high, stabilizer: stab };
    case 'wsquare':
    case 'flat':
      return { rule, stabilizer: stab };
    case 'lrn-taylor':
      if (p.epsilon !== undefined && p.beta !== undefined) throw at('the lrn-taylor rule takes epsilon (ε-variant) or beta (β-variant), not both');
      // ε = 0 would divide 0 by 0 wherever an LRN input is 0.
      if (p.epsilon !== undefined && !(p.epsilon > 0)) throw at(`the lrn-taylor rule needs epsilon > 0, got ${p.epsilon}`);
      return p.beta !== undefined ? { rule, beta: p.beta } : { rule, epsilon: p.epsilon ?? LRN_DEFAULT_EPSILON };
    case 'norm':
      if (p.epsilon !== undefined && p.stabilizer !== undefined && p.epsilon !== p.stabilizer)
        throw at('the norm rule takes epsilon or stabilizer (the same parameter), not both');
      return { rule, epsilon: p.epsilon ?? p.stabilizer ?? DEFAULT_STABILIZER };
    default:
      return { rule } as RuleSpec;
  }
}

/**
 * Parse one entry of a rules mapping (`{"rule": "zbox", "low": -3, "high": 3}`); `op`, `module`
 * and `note` are ignored, any other key the rule does not take is an error. `box` fills a zbox
 * entry's missing bounds.
 */
export function parseRuleObject(obj: unknown, where: string, box?: { low?: number; high?: number }): RuleSpec {
  if (typeof obj === 'string') obj = { rule: obj };
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where}: a rule must be an object like {"rule": "epsilon", "epsilon": 0.25}`);
  const o = obj as Record<string, unknown>;
  if (typeof o.rule !== 'string') throw new Error(`${where}: missing "rule" name`);
  const rule = ruleName(o.rule);
  if (!rule) throw new Error(`${where}: ${unknownNameError('rule', o.rule, RULE_NAMES, Object.keys(ALIASES)).message}`);
  const takes = RULE_PARAMS[rule];
  const p: RuleParams = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'rule' || INFO_KEYS.includes(k)) continue;
    if (!(PARAM_KEYS as readonly string[]).includes(k))
      throw new Error(`${where}: ${unknownNameError('key', k, ['rule', ...takes, ...INFO_KEYS], PARAM_KEYS).message}`);
    if (!takes.includes(k as keyof RuleParams))
      throw new Error(`${where}: rule "${rule}" takes no "${k}" (${takes.length ? `its parameters: ${takes.join(', ')}` : 'it has no parameters'})`);
    p[k as keyof RuleParams] = finite(v, `${where}: ${k}`);
  }
  if (rule === 'zbox') {
    p.low ??= box?.low;
    p.high ??= box?.high;
  }
  return makeRule(rule, p, where, RULE_NAMES);
}

export function describeRule(r: RuleSpec): string {
  const f = (v: number) => String(+v.toPrecision(4));
  switch (r.rule) {
    case 'epsilon':
      return `epsilon(${f(r.epsilon)})`;
    case 'alphabeta':
      return `alphabeta(${f(r.alpha)},${f(r.beta)})`;
    case 'gamma':
      return `gamma(${f(r.gamma)})`;
    case 'zbox':
      return `zbox(${f(r.low)},${f(r.high)})`;
    case 'norm':
      return `norm(${f(r.epsilon)})`;
    case 'lrn-taylor':
      return r.beta !== undefined ? `lrn-taylor(beta=${f(r.beta)})` : `lrn-taylor(epsilon=${f(r.epsilon!)})`;
    default:
      return r.rule;
  }
}
