/**
 * The methods an evaluation compares, as method specs (src/core/explain/method-spec.ts:
 * `NAME[:VARIANT][@key=value…]`), plus what only the evaluation has:
 *   random            the baseline: a random region order (no heatmap)
 *   sensitivity       (∂f/∂x)², the deep Taylor paper's sensitivity analysis (src/core/explain/taylor.ts)
 *   taylor[@low=…@high=…]  one-shot Taylor at a nearest root in the input box (default: the input range)
 *   @pool=…           how channels are pooled into one value per pixel: sum, abs, l2, max-abs
 */
import { checkMethod, METHODS, type Method } from '../explain/resolve.js';
import type { ExplainerOptions } from '../explain/explainer.js';
import { methodSpecOptions, splitMethodSpec, type MethodSpecParts } from '../explain/method-spec.js';
import { POOLINGS, type Pooling } from './regions.js';
import { unknownNameError } from '../names.js';
import { nearestRootTaylor, sensitivity, TAYLOR_BASELINES, type TaylorBaseline } from '../explain/taylor.js';
import type { Explainer } from '../explain/explainer.js';
import type { Attributor } from './chunk.js';

export interface MethodSpec {
  /** As written by the user; names the method in every output. */
  label: string;
  method: Method | 'random' | TaylorBaseline;
  /** Explainer options of this method (absent for random; a gradient explainer for the Taylor baselines, with the box as inputRange). */
  options?: ExplainerOptions;
  pooling: Pooling;
}

/**
 * Channel pooling when none is given: signed sum for decompositions (LRP, gradient×input,
 * integrated gradients), as the paper does for LRP; the channel norm for sensitivity-type maps
 * (gradient, SmoothGrad, deconvnet, guided backprop), as the paper does for sensitivity and
 * deconvolution (for one channel: the absolute value).
 */
export function defaultPooling(method: MethodSpec['method']): Pooling {
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
  const known = [...METHODS, ...TAYLOR_BASELINES, 'random'];
  if (name === 'random') {
    if (parts.variant !== undefined || parts.settings.length > 0) throw new Error(`method "${label}": random takes no variant or settings`);
    return { label, method: 'random', pooling: 'sum' };
  }
  if ((TAYLOR_BASELINES as readonly string[]).includes(name)) return parseTaylorBaseline(parts, name as TaylorBaseline, base);
  let method: Method;
  try {
    method = checkMethod(name);
  } catch {
    throw new Error(`method "${label}": ${unknownNameError('method', name, known).message}`);
  }
  const { options, own } = methodSpecOptions(parts, method, base, ['pool']);
  return { label, method, options, pooling: checkPool(label, own.get('pool')) ?? defaultPooling(method) };
}

/** sensitivity / taylor: a gradient explainer; taylor's box from @low/@high, else the input range. */
function parseTaylorBaseline(parts: MethodSpecParts, name: TaylorBaseline, base: ExplainerOptions): MethodSpec {
  const { label } = parts;
  if (parts.variant !== undefined) throw new Error(`method "${label}": ${name} takes no variant`);
  const ownKeys = name === 'taylor' ? ['pool', 'low', 'high'] : ['pool'];
  // Rule parameters and sampling settings mean nothing here: refused, not ignored.
  const other = parts.settings.find(([k]) => !ownKeys.includes(k));
  if (other) throw new Error(`method "${label}": ${name} takes ${ownKeys.map((k) => `@${k}`).join(', ')}, not @${other[0]}`);
  const { options, own } = methodSpecOptions({ ...parts, name: 'gradient' }, 'gradient', base, ownKeys);
  const pool = checkPool(label, own.get('pool'));
  const [low, high] = [own.get('low'), own.get('high')].map((v) => (v === undefined ? undefined : Number(v)));
  if ((low === undefined) !== (high === undefined)) throw new Error(`method "${label}": give both low and high, or neither (then the input range is the box)`);
  if (low !== undefined && high !== undefined) {
    if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high))
      throw new Error(`method "${label}": the box needs numbers low ≤ high, got ${own.get('low')}, ${own.get('high')}`);
    options.inputRange = [low, high];
  }
  // The squared gradient and the Taylor terms are decompositions of a kind: pooled by their sum.
  return { label, method: name, options, pooling: pool ?? 'sum' };
}

function checkPool(label: string, pool: string | undefined): Pooling | undefined {
  if (pool !== undefined && !(POOLINGS as readonly string[]).includes(pool))
    throw new Error(`method "${label}": pool must be one of ${POOLINGS.join(', ')}, got "${pool}"`);
  return pool as Pooling | undefined;
}

/** The method's maps from its explainer: the explainer itself, or a Taylor baseline run on it. */
export function attributorFor(m: MethodSpec, ex: Explainer): Attributor {
  if (m.method === 'sensitivity') return { explain: (x, o) => sensitivity(ex, x, o), release: () => ex.release() };
  if (m.method !== 'taylor') return ex;
  const range = m.options?.inputRange;
  if (!range) throw new Error(`method "${m.label}": taylor needs the input box to search the root in: give the input range or @low=…@high=…`);
  let samples = 0;
  let missed = 0;
  return {
    async explain(x, o) {
      const r = await nearestRootTaylor(ex, x, { target: o.target, low: range[0], high: range[1] });
      samples += r.reached.length;
      missed += r.reached.filter((v) => !v).length;
      return r;
    },
    release: () => ex.release(),
    note: () =>
      missed > 0
        ? `${m.label}: no root with f ≤ 1e-3·f(x) in [${range.join(', ')}] for ${missed} of ${samples} samples explained in this run; their maps expand at the lowest score reached`
        : undefined,
  };
}
