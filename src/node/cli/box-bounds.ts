/** Where the zB/box bounds of an explanation came from (explain, inspect, evaluate). */
import { BOX_COMPOSITES, compositeName } from '../../core/composites/index.js';
import type { ExplainerMeta, ExplainerOptions } from '../../core/explain/explainer.js';
import { ruleName } from '../../core/rules/spec.js';
import type { MethodFlags } from './options.js';

const fmt = (v: number) => +v.toPrecision(4);

/**
 * The bounds at the first layer that a box rule takes from an input range, and that range's
 * source (`cardPath`: the model card that gave it, when no flag did); undefined when none does.
 */
export function boxBoundsFromRange(
  c: Pick<ExplainerMeta, 'boxBounds'>,
  f: MethodFlags,
  range: [number, number] | undefined,
  cardPath?: string,
): { bounds: number[]; source: string } | undefined {
  if (!c.boxBounds || !range) return undefined;
  const from = cardPath ? `input range [${range.join(', ')}] in ${cardPath}` : `--input-range ${range.join(',')}`;
  const given = f.low !== undefined ? ' and --low' : f.high !== undefined ? ' and --high' : '';
  return { bounds: c.boxBounds.map(fmt), source: from + given };
}

/** `box bounds from input range [0, 1] in models/fmnist-cnn.json (first layer: [-0.8102, 2.023])`. */
export function boxBoundsNote(b: { bounds: number[]; source: string }): string {
  return `box bounds from ${b.source} (first layer: [${b.bounds.join(', ')}])`;
}

/** Whether LRP options put a zB/box rule on the first layer (evaluate's specs: a composite or one rule). */
export function usesBoxRule(o: ExplainerOptions): boolean {
  if ((o.method ?? 'lrp') !== 'lrp') return false;
  if (o.rule !== undefined) return ruleName(o.rule) === 'zbox';
  return BOX_COMPOSITES.includes(compositeName(o.composite ?? 'epsilon-plus-flat') ?? '');
}
