/**
 * Colour maps. The diverging maps (bwr, coldnhot, gray) are piecewise linear over a value in
 * [-1, 1] with 0 in the middle, so that "no relevance" always gets the same neutral colour and
 * positive and negative evidence of the same size get equally strong colours. The sequential map
 * (viridis) runs over [0, 1], for maps without negative values (magnitudes): it spends the whole
 * colour range on 0 … max instead of leaving the negative half unused.
 */
import { unknownNameError } from '../names.js';

export type Rgb = [number, number, number];

export type ColormapName = 'bwr' | 'coldnhot' | 'gray' | 'viridis';

export const COLORMAP_NAMES: readonly ColormapName[] = ['bwr', 'coldnhot', 'gray', 'viridis'];

/** Maps over [0, 1] (0 → max); the others are diverging over [-1, 1]. */
export const SEQUENTIAL_COLORMAPS: readonly ColormapName[] = ['viridis'];

export function isSequential(colormap: ColormapName): boolean {
  return SEQUENTIAL_COLORMAPS.includes(colormap);
}

/** Nodes as [position, colour]; positions ascending, from -1 (diverging) or 0 (sequential) to +1. */
type Nodes = readonly (readonly [number, Rgb])[];

const NODES: Record<ColormapName, Nodes> = {
  // blue (negative) → white (0) → red (positive): the convention of the LRP literature
  bwr: [
    [-1, [0, 0, 255]],
    [0, [255, 255, 255]],
    [1, [255, 0, 0]],
  ],
  // cyan → blue → black (0) → red → yellow, as iNNvestigate's/Zennit's "cold and hot" (Zennit's
  // version continues to white at the very top; here the extremes stay saturated)
  coldnhot: [
    [-1, [0, 255, 255]],
    [-0.5, [0, 0, 255]],
    [0, [0, 0, 0]],
    [0.5, [255, 0, 0]],
    [1, [255, 255, 0]],
  ],
  // black (most negative) → mid-gray (0) → white (most positive)
  gray: [
    [-1, [0, 0, 0]],
    [1, [255, 255, 255]],
  ],
  // matplotlib's viridis sampled at ninths: dark purple (0) → blue → green → yellow (max);
  // perceptually uniform and monotone in lightness, so it reads as "more" without a legend
  viridis: [
    [0, [68, 1, 84]],
    [0.125, [72, 40, 120]],
    [0.25, [62, 73, 137]],
    [0.375, [49, 104, 142]],
    [0.5, [38, 130, 142]],
    [0.625, [31, 158, 137]],
    [0.75, [53, 183, 121]],
    [0.875, [110, 206, 88]],
    [1, [253, 231, 37]],
  ],
};

/**
 * The colour of `value` (clamped to the map's range, [-1, 1] or [0, 1]; NaN counts as 0, so a bad
 * value is shown as neutral instead of crashing a whole image) as integer [r, g, b] in 0..255.
 */
export function colorize(value: number, colormap: ColormapName = 'bwr'): Rgb {
  const nodes = NODES[colormap];
  if (!nodes) throw unknownNameError('colour map', String(colormap), COLORMAP_NAMES);
  const v = Number.isNaN(value) ? 0 : Math.min(1, Math.max(nodes[0]![0], value));
  let k = 1;
  while (k < nodes.length - 1 && v > nodes[k]![0]) k++;
  const [p0, c0] = nodes[k - 1]!;
  const [p1, c1] = nodes[k]!;
  const t = (v - p0) / (p1 - p0);
  return [Math.round(c0[0] + (c1[0] - c0[0]) * t), Math.round(c0[1] + (c1[1] - c0[1]) * t), Math.round(c0[2] + (c1[2] - c0[2]) * t)];
}

/** The colour of 0: what an all-zero relevance map looks like. */
export function neutralColor(colormap: ColormapName = 'bwr'): Rgb {
  return colorize(0, colormap);
}
