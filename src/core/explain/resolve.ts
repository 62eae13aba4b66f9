/**
 * Decide the rule of every layer: user mapping by node name > selectors (@first, @conv, @dense)
 * > `rule` (uniform on dense/conv layers) > composite; non-linear layers get the standard
 * treatment of the method unless the mapping names them.
 */
import { getComposite, type CompositeContext } from '../composites/index.js';
import type { Layer, LayerView } from '../layers/view.js';
import { layerKind } from '../layers/registry.js';
import { LINEAR_RULES, makeRule, parseRuleObject, type RuleParams, type RuleSpec } from '../rules/spec.js';
import { closestName, unknownNameError } from '../names.js';

export const METHODS = ['lrp', 'gradient', 'gradient-x-input', 'integrated-gradients', 'smoothgrad', 'deconvnet', 'guided-backprop'] as const;
export type Method = (typeof METHODS)[number];

export interface RuleChoice {
  method: Method;
  composite?: string;
  rule?: string;
  params?: RuleParams;
  /** Node name (or @first, @conv, @dense) → rule object, as `layer_rules` in the fixtures. */
  rules?: Record<string, unknown>;
  /** The treatment of every LRN layer the mapping does not name (`{"rule": "lrn-taylor", "beta": 1}`, "identity"). */
  lrn?: unknown;
}

/** An LRN treatment (API option or CLI flags): identity or lrn-taylor; anything else is an error. */
export function parseLrnRule(v: unknown, where = 'lrn'): RuleSpec {
  const r = parseRuleObject(v, where);
  if (r.rule !== 'pass' && r.rule !== 'lrn-taylor') throw new Error(`${where}: LRN layers take "identity" or "lrn-taylor", not "${r.rule}"`);
  return r;
}

export function checkMethod(name: string): Method {
  // Underscored names (the fixtures' spelling: gradient_x_input) are accepted too.
  const m = name.replace(/_/g, '-');
  if (!(METHODS as readonly string[]).includes(m)) throw unknownNameError('method', name, METHODS);
  return m as Method;
}

const SELECTORS = ['@first', '@conv', '@dense'];

export function resolveRules(
  view: LayerView,
  choice: RuleChoice,
  merged: Map<string, string>,
  nodeNames?: Set<string>,
): { rules: Map<Layer, RuleSpec>; warnings: string[] } {
  const warnings: string[] = [];
  const p = choice.params ?? {};
  const linear = view.layers.filter((l) => layerKind(l.kind).linear);
  const ctx: CompositeContext = { firstLinear: linear[0], firstConv: linear.find((l) => l.kind === 'conv') };
  const mapping = new Map<string, RuleSpec>();
  // Box bounds given as parameters (or carried from the input range) fill entries without their own.
  for (const [k, v] of Object.entries(choice.rules ?? {})) mapping.set(k, parseRuleObject(v, `rules["${k}"]`, { low: p.low, high: p.high }));
  const known = new Set(view.layers.flatMap((l) => [l.name, ...l.aliases]));
  for (const k of mapping.keys()) {
    if (SELECTORS.includes(k) || known.has(k) || merged.has(k)) continue;
    if (k.startsWith('@')) throw new Error(`rules: ${unknownNameError('selector', k, SELECTORS).message}`);
    // A node the model has but relprop gives no rule of its own (removed by canonicalisation, the
    // embedding lookup where attribution is read): nothing to apply, said as a warning. A name the
    // model lacks is an error: a typo would leave its layer silently under the default rule.
    if (nodeNames?.has(k)) {
      warnings.push(`rules: "${k}" is not a layer relprop assigns rules to; the entry is ignored`);
      continue;
    }
    const guess = closestName(k, [...known, ...merged.keys()]);
    throw new Error(`rules: the model has no node named "${k}"${guess ? `; did you mean "${guess}"?` : ''} (relprop inspect lists the layers)`);
  }
  for (const [bn, into] of merged) {
    const r = mapping.get(bn);
    if (r && r.rule !== 'merge_into_preceding') warnings.push(`rules: "${bn}" was folded into "${into}", so its rule "${r.rule}" is ignored`);
  }
  const composite = choice.method === 'lrp' && !choice.rule ? getComposite(choice.composite ?? 'epsilon-plus-flat') : null;
  const lrn = choice.lrn !== undefined && choice.method === 'lrp' ? parseLrnRule(choice.lrn) : undefined;
  const uniform = choice.rule ? makeRule(choice.rule, p, '--rule') : null;
  if (uniform && !LINEAR_RULES.has(uniform.rule)) throw new Error(`--rule ${choice.rule} is not a rule for dense/conv layers`);

  const out = new Map<Layer, RuleSpec>();
  for (const l of view.layers) {
    const kind = layerKind(l.kind);
    const named = mapping.get(l.name) ?? l.aliases.map((a) => mapping.get(a)).find((r) => r);
    let r: RuleSpec;
    if (kind.linear) {
      const sel = (l === ctx.firstLinear ? mapping.get('@first') : undefined) ?? mapping.get(l.kind === 'conv' ? '@conv' : '@dense');
      if (choice.method !== 'lrp') r = named ?? kind.defaultRule(choice.method, l);
      else r = named ?? sel ?? uniform ?? composite!(l, ctx, p);
      if (!LINEAR_RULES.has(r.rule)) throw new Error(`rules: "${l.name}" is a ${l.op} layer; rule "${r.rule}" does not apply to it`);
    } else {
      r = named ?? (l.kind === 'lrn' ? lrn : undefined) ?? kind.defaultRule(choice.method, l);
      if (!kind.rules.includes(r.rule))
        throw new Error(`rules: rule "${r.rule}" does not apply to ${l.op} node "${l.name}" (use one of: ${kind.rules.join(', ')})`);
      kind.checkRule?.(l, r);
    }
    out.set(l, r);
  }
  return { rules: out, warnings };
}
