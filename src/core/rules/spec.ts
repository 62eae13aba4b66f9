/**
 * Rule specifications: what a user writes in `--rules mapping.json` (the `layer_rules` form of
 * the Zennit fixtures) and what composites produce.
 */
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
  | { rule: 'none' };

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
] as const;

export const LINEAR_RULES = new Set(['epsilon', 'zplus', 'alphabeta', 'gamma', 'zbox', 'wsquare', 'flat', 'gradient']);

export const DEFAULT_STABILIZER = 1e-6;

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

const ALIASES: Record<string, string> = {
  'z+': 'zplus',
  'z-plus': 'zplus',
  'alpha-beta': 'alphabeta',
  alpha_beta: 'alphabeta',
  box: 'zbox',
  zb: 'zbox',
  w2: 'wsquare',
  'w-square': 'wsquare',
};

function finite(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} must be a finite number, got ${JSON.stringify(v)}`);
  return v;
}

/** Build a rule from a name and parameters (CLI flags or a JSON object); validates everything. */
export function makeRule(name: string, p: RuleParams = {}, where = 'rule'): RuleSpec {
  const lower = name.toLowerCase(); // Zennit's class names (ZPlus, AlphaBeta, WSquare) too
  const rule = ALIASES[lower] ?? lower;
  const stab = p.stabilizer === undefined ? DEFAULT_STABILIZER : finite(p.stabilizer, `${where}: stabilizer`);
  switch (rule) {
    case 'epsilon':
      return { rule, epsilon: p.epsilon === undefined ? DEFAULT_STABILIZER : finite(p.epsilon, `${where}: epsilon`) };
    case 'zplus':
      return { rule, stabilizer: stab };
    case 'alphabeta': {
      const alpha = p.alpha === undefined ? 2 : finite(p.alpha, `${where}: alpha`);
      const beta = p.beta === undefined ? alpha - 1 : finite(p.beta, `${where}: beta`);
      if (Math.abs(alpha - beta - 1) > 1e-9) throw new Error(`${where}: alpha-beta needs alpha - beta = 1 (got alpha=${alpha}, beta=${beta})`);
      return { rule, alpha, beta, stabilizer: stab };
    }
    case 'gamma':
      return { rule, gamma: p.gamma === undefined ? 0.25 : finite(p.gamma, `${where}: gamma`), stabilizer: stab };
    case 'zbox': {
      const low = p.low === undefined ? -3 : finite(p.low, `${where}: low`);
      const high = p.high === undefined ? 3 : finite(p.high, `${where}: high`);
      if (!(low <= high)) throw new Error(`${where}: zbox needs low <= high (got low=${low}, high=${high})`);
      return { rule, low, high, stabilizer: stab };
    }
    case 'wsquare':
    case 'flat':
      return { rule, stabilizer: stab };
    case 'norm':
      return { rule, epsilon: p.epsilon === undefined ? DEFAULT_STABILIZER : finite(p.epsilon, `${where}: epsilon`) };
    case 'gradient':
    case 'pass':
    case 'relu_deconvnet':
    case 'relu_guided_backprop':
    case 'merge_into_preceding':
    case 'none':
      return { rule } as RuleSpec;
    default:
      throw new Error(`${where}: unknown rule "${name}" (known: ${RULE_NAMES.join(', ')})`);
  }
}

/** Parse one entry of a rules mapping (`{"rule": "zbox", "low": -3, "high": 3}`); `op`/`module` are ignored. */
export function parseRuleObject(obj: unknown, where: string): RuleSpec {
  if (typeof obj === 'string') return makeRule(obj, {}, where);
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${where}: a rule must be an object like {"rule": "epsilon", "epsilon": 0.25}`);
  const o = obj as Record<string, unknown>;
  if (typeof o.rule !== 'string') throw new Error(`${where}: missing "rule" name`);
  const num = (k: string) => (o[k] === undefined ? undefined : finite(o[k], `${where}: ${k}`));
  return makeRule(
    o.rule,
    {
      epsilon: num('epsilon'),
      gamma: num('gamma'),
      alpha: num('alpha'),
      beta: num('beta'),
      low: num('low'),
      high: num('high'),
      stabilizer: num('stabilizer'),
    },
    where,
  );
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
    default:
      return r.rule;
  }
}
