/** Heatmap figures: the input beside the map, a labelled colour bar, sequential maps for values ≥ 0. */
import { describe, expect, it } from 'vitest';
import { colorize } from '../src/core/visualize/colormap.js';
import { colourScale, formatTick, heatmapFigure, type Rect } from '../src/core/visualize/figure.js';
import { drawText, textWidth } from '../src/core/visualize/font.js';

const px = (f: { rgba: Uint8Array; width: number }, x: number, y: number): number[] => [...f.rgba.subarray(4 * (y * f.width + x), 4 * (y * f.width + x) + 3)];

/** The value in [lo, hi] whose colour is nearest to `c` (colour maps sampled finely). */
function invert(c: number[], colormap: 'bwr' | 'viridis'): number {
  const lo = colormap === 'bwr' ? -1 : 0;
  let best = lo;
  let bestD = Infinity;
  for (let k = 0; k <= 2000; k++) {
    const v = lo + ((1 - lo) * k) / 2000;
    const [r, g, b] = colorize(v, colormap);
    const d = (r - c[0]!) ** 2 + (g - c[1]!) ** 2 + (b - c[2]!) ** 2;
    if (d < bestD) [best, bestD] = [v, d];
  }
  return best;
}

/** Ink (dark pixels) inside a rectangle. */
function ink(f: { rgba: Uint8Array; width: number }, r: Rect): number {
  let n = 0;
  for (let y = r.y; y < r.y + r.height; y++) for (let x = r.x; x < r.x + r.width; x++) if (px(f, x, y).every((v) => v < 60)) n++;
  return n;
}

// A 4×4 map with positive and negative values, and a gray image with 16 distinct values.
const rel = Float32Array.from({ length: 16 }, (_, i) => (i - 5) / 10);
const image = Float32Array.from({ length: 16 }, (_, i) => 10 + 15 * i);

describe('heatmapFigure', () => {
  it('side by side (the default): the input, unchanged, left of the heatmap', () => {
    const f = heatmapFigure(rel, 4, 4, { image, scale: 3 });
    const { input, heatmap } = f.panels;
    expect(input).toBeDefined();
    expect(heatmap.x).toBeGreaterThanOrEqual(input!.x + input!.width);
    for (let p = 0; p < 16; p++) {
      const [x, y] = [p % 4, Math.floor(p / 4)];
      for (const [dx, dy] of [
        [0, 0],
        [2, 2],
      ]) {
        expect(px(f, input!.x + 3 * x + dx!, input!.y + 3 * y + dy!)).toEqual([image[p], image[p], image[p]]);
        expect(px(f, heatmap.x + 3 * x + dx!, heatmap.y + 3 * y + dy!)).toEqual(colorize(rel[p]! / 1, 'bwr'));
      }
    }
  });

  it('draws a colour bar from +max (top) through 0 to −max (bottom), monotone, labelled at its ends and zero', () => {
    const f = heatmapFigure(rel, 4, 4, { image, scale: 40 });
    const bar = f.panels.bar!;
    expect(f.colourScale).toEqual({ colormap: 'bwr', kind: 'signed', lo: -1, hi: 1 });
    const column = Array.from({ length: bar.height }, (_, r) => invert(px(f, bar.x + bar.width / 2, bar.y + r), 'bwr'));
    expect(column[0]).toBeCloseTo(1, 2);
    expect(column[column.length - 1]).toBeCloseTo(-1, 2);
    expect(Math.abs(column[Math.floor(bar.height / 2)]!)).toBeLessThan(0.01);
    for (let r = 1; r < column.length; r++) expect(column[r]!).toBeLessThanOrEqual(column[r - 1]!);
    // Labels right of the bar, at the top (+1), the middle (0) and the bottom (−1): ink in each band.
    const labels = (y: number) => ink(f, { x: bar.x + bar.width + 1, y, width: f.width - bar.x - bar.width - 1, height: 14 });
    expect(labels(bar.y - 4)).toBeGreaterThan(10);
    expect(labels(bar.y + bar.height / 2 - 7)).toBeGreaterThan(10);
    expect(labels(bar.y + bar.height - 10)).toBeGreaterThan(10);
    // …and they read +1, 0 and -1: the top label is exactly the font's rendering of "+1".
    const expected = { rgba: new Uint8Array(4 * 40 * 20).fill(255), width: 40 };
    drawText(expected.rgba, 40, 0, 0, '+1', 2);
    const x0 = bar.x + bar.width + 8;
    const y0 = bar.y - 7; // centred on the top row, as far as the figure allows
    for (let y = 0; y < 16; y++) for (let x = 0; x < textWidth('+1', 2); x++) expect(px(f, x0 + x, y0 + y), `${x},${y}`).toEqual(px(expected, x, y));
  });

  it('gives a map without negative values a sequential colour bar from 0 to its maximum', () => {
    const pos = Float32Array.from({ length: 16 }, (_, i) => i / 5);
    const f = heatmapFigure(pos, 4, 4, { image, scale: 40 });
    expect(f.colourScale).toEqual({ colormap: 'viridis', kind: 'sequential', lo: 0, hi: 3 });
    const { heatmap, bar } = f.panels;
    // 0 is viridis's dark end (not bwr's white), the maximum its bright end.
    expect(px(f, heatmap.x + 1, heatmap.y + 1)).toEqual(colorize(0, 'viridis'));
    expect(px(f, heatmap.x + heatmap.width - 2, heatmap.y + heatmap.height - 2)).toEqual(colorize(1, 'viridis'));
    const column = Array.from({ length: bar!.height }, (_, r) => invert(px(f, bar!.x + 2, bar!.y + r), 'viridis'));
    expect(column[0]).toBeCloseTo(1, 2);
    expect(column[column.length - 1]).toBeCloseTo(0, 2);
    for (let r = 1; r < column.length; r++) expect(column[r]!).toBeLessThanOrEqual(column[r - 1]!);
    // One negative value anywhere and the map is signed again.
    pos[3] = -0.01;
    expect(heatmapFigure(pos, 4, 4, { image }).colourScale.colormap).toBe('bwr');
  });

  it('overlay: relevance over the input in grey, opaque where |value| is largest', () => {
    const f = heatmapFigure(rel, 4, 4, { image, style: 'overlay', scale: 2 });
    const h = f.panels.heatmap;
    expect(f.panels.input).toBeUndefined();
    expect(px(f, h.x + 2 * 3, h.y + 2 * 3)).toEqual(colorize(1, 'bwr')); // rel[15] = 1: the colour alone
    const g = Math.round(48 + 0.625 * image[5]!);
    expect(px(f, h.x + 2 * 1, h.y + 2 * 1)).toEqual([g, g, g]); // rel[5] = 0: the input's grey
  });

  it('bare: the heatmap alone, as before', () => {
    const f = heatmapFigure(rel, 4, 4, { style: 'bare', colormap: 'bwr', scale: 2 });
    expect([f.width, f.height]).toEqual([8, 8]);
    expect(px(f, 7, 7)).toEqual(colorize(1, 'bwr'));
  });

  it('refuses a sequential map for signed values and a figure without its input', () => {
    expect(() => colourScale([1, -2], 'viridis')).toThrow(/sequential.*negative values/);
    expect(() => heatmapFigure(rel, 4, 4, {})).toThrow(/needs the input image/);
  });

  it('formats tick labels short', () => {
    expect([formatTick(0), formatTick(0.1114, true), formatTick(-0.1114), formatTick(2, true), formatTick(0.00234), formatTick(12345)]).toEqual([
      '0',
      '+0.111',
      '-0.111',
      '+2',
      '2.3e-3',
      '1.2e4',
    ]);
  });
});

describe('bitmap font', () => {
  it('draws the glyph rows it is given', () => {
    const img = new Uint8Array(4 * 6 * 8).fill(255);
    drawText(img, 6, 0, 0, 'T');
    const row = (y: number) => Array.from({ length: 5 }, (_, x) => (img[4 * (y * 6 + x)] === 0 ? '#' : ' ')).join('');
    expect([row(0), row(1), row(6)]).toEqual(['#####', '  #  ', '  #  ']);
    expect(textWidth('ab', 2)).toBe(22);
  });
});
