/**
 * The methods an evaluation compares, written as `NAME[:VARIANT][@key=value…]`:
 *   lrp:epsilon-plus-flat          an LRP composite (src/composites)
 *   lrp:epsilon@epsilon=0.01       one LRP rule on every dense/conv layer, with a parameter
 *   gradient, gradient-x-input, integrated-gradients@steps=32, smoothgrad, deconvnet, guided-backprop
 *   random                         the baseline: a random region order (no heatmap)
 * Keys: epsilon, gamma, alpha, beta, low, high, stabilizer, steps, samples, noise-level, seed, pool
 * (pool = how channels are pooled into one value per pixel: sum, abs, l2, max-abs).
 */
import { COMPOSITES } from '../composites/index.js';
import type { ExplainerOptions } from '../explain/explainer.js';
import { checkMethod, METHODS, type Method } from '../explain/resolve.js';
import { makeRule } from '../rules/spec.js';
import { POOLINGS, type Pooling } from './regions.js';

export interface MethodSpec {
  /** As written by the user; names the method in every output. */
  label: string;
  method: Method | 'random';
  /** Explainer options of this method (absent for random). */
  options?: ExplainerOptions;
  pooling: Pooling;
}

/**
 * Channel pooling when none is given: signed sum for decompositions (LRP, gradient×input,
 * integrated gradients), as the paper does for LRP; the channel norm for sensitivity-type maps
 * (gradient, SmoothGrad, deconvnet, guided backprop), as the paper does for sensitivity and
 * deconvolution (for one channel: the absolute value).
 */
export function defaultPooling(method: Method | 'random'): Pooling {
  return method === 'gradient' || method === 'smoothgrad' || method === 'deconvnet' || method === 'guided-backprop' ? 'l2' : 'sum';
}

const NUM_KEYS = ['epsilon', 'gamma', 'alpha', 'beta', 'low', 'high', 'stabilizer', 'steps', 'samples', 'noise-level', 'seed'] as const;

/** The default comparison of the issue (LRP variants, gradient baselines, random). */
export const DEFAULT_METHODS = [
  'lrp:epsilon@epsilon=0.01',
  'lrp:epsilon-plus-flat',
  'lrp:epsilon-gamma-box',
  'lrp:epsilon-alpha2-beta1',
  'gradient',
  'gradient-x-input',
  'integrated-gradients',
  'deconvnet',
  'guided-backprop',
  'random',
];

/** Split a comma-separated list of method specs. */
export function splitMethodList(v: string): string[] {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) throw new Error(`--methods: empty entry in "${v}"`);
  return parts;
}

/** Parse one spec; `base` holds the options from the shared flags (--epsilon, --input-range, …), which a spec's own keys override. */
export function parseMethodSpec(spec: string, base: ExplainerOptions = {}): MethodSpec {
  const label = spec.trim();
  const [head, ...kvs] = label.split('@');
  const [name, variant, extra] = head!.split(':');
  if (extra !== undefined) throw new Error(`method "${label}": expected NAME[:VARIANT][@key=value…]`);
  const known = [...METHODS, 'random'].join(', ');
  if (!name) throw new Error(`method "${label}": missing method name (known: ${known})`);
  if (name === 'random') {
    if (variant !== undefined || kvs.length > 0) throw new Error(`method "${label}": random takes no variant or parameters`);
    return { label, method: 'random', pooling: 'sum' };
  }
  let method: Method;
  try {
    method = checkMethod(name);
  } catch {
    throw new Error(`unknown method "${name}" in "${label}" (known: ${known})`);
  }
  const params = { ...(base.params ?? {}) };
  const opts: ExplainerOptions = { ...base, method, params, composite: undefined, rule: undefined, rules: undefined };
  let pooling: Pooling | undefined;
  for (const kv of kvs) {
    const m = /^([a-z-]+)=(.+)$/.exec(kv);
    if (!m) throw new Error(`method "${label}": parameter "${kv}" is not key=value`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'pool') {
      if (!(POOLINGS as readonly string[]).includes(value)) throw new Error(`method "${label}": pool must be one of ${POOLINGS.join(', ')}, got "${value}"`);
      pooling = value as Pooling;
      continue;
    }
    if (!(NUM_KEYS as readonly string[]).includes(key)) throw new Error(`method "${label}": unknown parameter "${key}" (known: ${[...NUM_KEYS, 'pool'].join(', ')})`);
    const x = Number(value);
    if (!Number.isFinite(x)) throw new Error(`method "${label}": ${key} needs a number, got "${value}"`);
    if (key === 'steps') opts.steps = x;
    else if (key === 'samples') opts.samples = x;
    else if (key === 'noise-level') opts.noiseLevel = x;
    else if (key === 'seed') opts.seed = x;
    else params[key as 'epsilon' | 'gamma' | 'alpha' | 'beta' | 'low' | 'high' | 'stabilizer'] = x;
  }
  if (variant !== undefined) {
    if (method !== 'lrp') throw new Error(`method "${label}": only lrp takes a variant (a composite or a rule), not ${method}`);
    if (variant in COMPOSITES) opts.composite = variant;
    else {
      try {
        makeRule(variant, {});
        opts.rule = variant;
      } catch {
        throw new Error(`method "${label}": "${variant}" is neither a composite (${Object.keys(COMPOSITES).join(', ')}) nor a rule for dense/conv layers (epsilon, zplus, alphabeta, gamma, zbox, wsquare, flat)`);
      }
    }
  }
  return { label, method, options: opts, pooling: pooling ?? defaultPooling(method) };
}
