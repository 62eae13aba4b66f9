/**
 * The methods an evaluation compares, as method specs (src/core/explain/method-spec.ts:
 * `NAME[:VARIANT][@key=value…]`), plus what only the evaluation has:
 *   random            the baseline: a random region order (no heatmap)
 *   @pool=…           how channels are pooled into one value per pixel: sum, abs, l2, max-abs
 */
import { checkMethod, METHODS, type Method } from '../explain/resolve.js';
import type { ExplainerOptions } from '../explain/explainer.js';
import { methodSpecOptions, splitMethodSpec } from '../explain/method-spec.js';
import { POOLINGS, type Pooling } from './regions.js';
import { unknownNameError } from '../names.js';

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

/** Parse one spec; `base` holds the options from the shared flags (--epsilon, --input-range, …), which a spec's own settings override. */
export function parseMethodSpec(spec: string, base: ExplainerOptions = {}): MethodSpec {
  const parts = splitMethodSpec(spec);
  const { label, name } = parts;
  const known = [...METHODS, 'random'];
  if (name === 'random') {
    if (parts.variant !== undefined || parts.settings.length > 0) throw new Error(`method "${label}": random takes no variant or settings`);
    return { label, method: 'random', pooling: 'sum' };
  }
  let method: Method;
  try {
    method = checkMethod(name);
  } catch {
    throw new Error(`method "${label}": ${unknownNameError('method', name, known).message}`);
  }
  const { options, own } = methodSpecOptions(parts, method, base, ['pool']);
  const pool = own.get('pool');
  if (pool !== undefined && !(POOLINGS as readonly string[]).includes(pool))
    throw new Error(`method "${label}": pool must be one of ${POOLINGS.join(', ')}, got "${pool}"`);
  return { label, method, options, pooling: (pool as Pooling | undefined) ?? defaultPooling(method) };
}
