/**
 * Method specs: one attribution method with its settings in one word, the syntax of every
 * `--methods` list (`relprop evaluate`, `relprop text-experiments`) and the label of the method
 * in their reports:
 *
 *   NAME[:VARIANT][@key=value…]
 *
 *   lrp:epsilon-plus-flat           LRP with a composite (src/core/composites)
 *   lrp:epsilon@epsilon=0.01        LRP with one rule on every dense/conv layer, and its parameter
 *   integrated-gradients@steps=32   any other method, with its settings
 *   smoothgrad@samples=32@noise-level=0.2
 *
 * NAME is a method of resolve.ts; a caller may add names of its own (evaluate's `random`, the
 * text experiments' `sa`). Only lrp takes a VARIANT. The keys are NUMBER_KEYS (rule parameters
 * and the settings of integrated gradients and SmoothGrad) plus the caller's own (evaluate's
 * `pool`). A spec's keys override the options from the command's shared flags.
 */
import { COMPOSITES, compositeName } from '../composites/index.js';
import { closestName } from '../names.js';
import { LINEAR_RULES, LRP_RULES, ruleName, type RuleParams } from '../rules/spec.js';
import { checkExplainerOptions, type ExplainerOptions } from './explainer.js';
import type { Method } from './resolve.js';

/** A spec split into its parts, syntax checked, names not yet resolved. */
export interface MethodSpecParts {
  /** As written (trimmed): names the method in every output. */
  label: string;
  name: string;
  variant?: string;
  /** The key=value settings in the order written. */
  settings: [key: string, value: string][];
}

/** Keys with a number value, common to every caller. */
export const NUMBER_KEYS = ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'stabilizer', 'steps', 'samples', 'noise-level', 'seed'] as const;

const RULE_KEYS: readonly string[] = ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'stabilizer'];
/** Keys whose value must be ≥ 0, and those that count something. */
const NON_NEGATIVE: readonly string[] = ['epsilon', 'gamma', 'beta', 'stabilizer', 'noise-level', 'seed'];
const COUNTS: readonly string[] = ['steps', 'samples'];

export function splitMethodSpec(spec: string): MethodSpecParts {
  const label = spec.trim();
  const [head, ...kvs] = label.split('@');
  const [name, variant, extra] = head!.split(':');
  if (extra !== undefined) throw new Error(`method "${label}": expected NAME[:VARIANT][@key=value…]`);
  if (!name) throw new Error(`method "${label}": missing method name`);
  if (variant === '') throw new Error(`method "${label}": empty variant after ":"`);
  if (variant?.includes('=')) {
    throw new Error(`method "${label}": settings follow "@", as in ${name}:${variant.replace('=', `@${variant.split('=')[0]}=`)}`);
  }
  const settings = kvs.map((kv): [string, string] => {
    const m = /^([a-z-]+)=(.+)$/.exec(kv);
    if (!m) throw new Error(`method "${label}": setting "${kv}" is not key=value`);
    return [m[1]!, m[2]!];
  });
  return { label, name, variant, settings };
}

/** Split a comma-separated list of method specs (an empty entry is an error, not skipped). */
export function splitMethodList(v: string, flag = '--methods'): string[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new Error(`${flag}: empty entry in "${v}"`);
  return parts;
}

/**
 * Explainer options of a spec whose name has been resolved to the explainer method `method`:
 * the variant becomes the composite or the rule, the number keys the parameters and settings.
 * `base` holds the options from the command's shared flags (its composite and rules are dropped:
 * the spec names its own). Keys in `ownKeys` are returned untouched for the caller to interpret.
 */
export function methodSpecOptions(
  parts: MethodSpecParts,
  method: Method,
  base: ExplainerOptions = {},
  ownKeys: readonly string[] = [],
): { options: ExplainerOptions; own: Map<string, string> } {
  const { label } = parts;
  const params: RuleParams = { ...(base.params ?? {}) };
  const options: ExplainerOptions = { ...base, method, params, composite: undefined, rule: undefined, rules: undefined };
  const own = new Map<string, string>();
  for (const [key, value] of parts.settings) {
    if (ownKeys.includes(key)) {
      own.set(key, value);
      continue;
    }
    if (!(NUMBER_KEYS as readonly string[]).includes(key))
      throw new Error(`method "${label}": unknown setting "${key}" (known: ${[...NUMBER_KEYS, ...ownKeys].join(', ')})`);
    const x = Number(value);
    if (!Number.isFinite(x)) throw new Error(`method "${label}": ${key} needs a number, got "${value}"`);
    if (COUNTS.includes(key) && !(Number.isInteger(x) && x >= 1)) throw new Error(`method "${label}": ${key} needs a positive integer, got "${value}"`);
    if (NON_NEGATIVE.includes(key) && x < 0) throw new Error(`method "${label}": ${key} needs a number ≥ 0, got "${value}"`);
    if (key === 'seed' && !Number.isSafeInteger(x)) throw new Error(`method "${label}": seed needs an integer, got "${value}"`);
    if (key === 'steps') options.steps = x;
    else if (key === 'samples') options.samples = x;
    else if (key === 'noise-level') options.noiseLevel = x;
    else if (key === 'seed') options.seed = x;
    else if (RULE_KEYS.includes(key)) params[key as keyof RuleParams] = x;
  }
  const { variant } = parts;
  if (variant !== undefined) {
    if (method !== 'lrp') throw new Error(`method "${label}": only lrp takes a variant (a composite or a rule), not ${parts.name}`);
    const composite = compositeName(variant);
    const rule = ruleName(variant);
    if (composite) options.composite = composite;
    else if (rule && LINEAR_RULES.has(rule)) options.rule = variant;
    else {
      const guess = closestName(variant, [...Object.keys(COMPOSITES), ...LRP_RULES]);
      throw new Error(
        `method "${label}": "${variant}" is neither a composite (${Object.keys(COMPOSITES).join(', ')}) nor a rule for dense/conv layers (${LRP_RULES.join(', ')})${guess ? `; did you mean "${guess}"?` : ''}`,
      );
    }
  }
  // The spec's settings over the shared flags' options: their combination must hold too (α − β = 1, low ≤ high, …).
  try {
    checkExplainerOptions(options);
  } catch (e) {
    throw new Error(`method "${label}": ${(e as Error).message}`);
  }
  return { options, own };
}
