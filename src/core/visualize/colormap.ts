/**
 * Colour maps for signed relevance. Each map is piecewise linear over a value in [-1, 1] with
 * 0 in the middle, so that "no relevance" always gets the same neutral colour and positive and
 * negative evidence of the same size get equally strong colours.
 */
import { unknownNameError } from '../names.js';

export type Rgb = [number, number, number];

export type ColormapName = 'bwr' | 'coldnhot' | 'gray';

export const COLORMAP_NAMES: readonly ColormapName[] = ['bwr', 'coldnhot', 'gray'];

/** Nodes as [position in [-1, 1], colour]; positions ascending, first at -1, last at +1. */
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
};

/**
 * The colour of `value` (clamped to [-1, 1]; NaN counts as 0, so a bad value is shown as
 * neutral instead of crashing a whole image) as integer [r, g, b] in 0..255.
 */
export function colorize(value: number, colormap: ColormapName = 'bwr'): Rgb {
  const nodes = NODES[colormap];
  if (!nodes) throw unknownNameError('colour map', String(colormap), COLORMAP_NAMES);
  const v = Number.isNaN(value) ? 0 : Math.min(1, Math.max(-1, value));
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
