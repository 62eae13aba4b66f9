import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { COLORMAP_NAMES, colorize, neutralColor } from '../src/core/visualize/colormap.js';
import { heatmapGrid, imageToRgba, overlay, relevanceToHeatmap, sumChannels } from '../src/core/visualize/heatmap.js';
import { encodePng } from '../src/node/visualize/png.js';

describe('colorize', () => {
  it('bwr: blue at -1, white at 0, red at +1, linear in between', () => {
    expect(colorize(-1, 'bwr')).toEqual([0, 0, 255]);
    expect(colorize(0, 'bwr')).toEqual([255, 255, 255]);
    expect(colorize(1, 'bwr')).toEqual([255, 0, 0]);
    expect(colorize(0.5, 'bwr')).toEqual([255, 128, 128]);
    expect(colorize(-0.5, 'bwr')).toEqual([128, 128, 255]);
    expect(colorize(0.3)).toEqual(colorize(0.3, 'bwr')); // bwr is the default
  });

  it('coldnhot: cyan → blue → black → red → yellow', () => {
    expect(colorize(-1, 'coldnhot')).toEqual([0, 255, 255]);
    expect(colorize(-0.5, 'coldnhot')).toEqual([0, 0, 255]);
    expect(colorize(0, 'coldnhot')).toEqual([0, 0, 0]);
    expect(colorize(0.5, 'coldnhot')).toEqual([255, 0, 0]);
    expect(colorize(1, 'coldnhot')).toEqual([255, 255, 0]);
    expect(colorize(0.25, 'coldnhot')).toEqual([128, 0, 0]);
  });

  it('gray: black → mid-gray at 0 → white', () => {
    expect(colorize(-1, 'gray')).toEqual([0, 0, 0]);
    expect(colorize(0, 'gray')).toEqual([128, 128, 128]);
    expect(colorize(1, 'gray')).toEqual([255, 255, 255]);
  });

  it('clamps out-of-range values and shows NaN as neutral', () => {
    for (const name of COLORMAP_NAMES) {
      expect(colorize(7, name)).toEqual(colorize(1, name));
      expect(colorize(-Infinity, name)).toEqual(colorize(-1, name));
      expect(colorize(Number.NaN, name)).toEqual(neutralColor(name));
    }
  });

  it('gives equally strong colours to +v and -v (symmetric maps)', () => {
    for (const v of [0.1, 0.37, 0.8]) {
      const [r, g, b] = colorize(v, 'bwr');
      expect(colorize(-v, 'bwr')).toEqual([b, g, r]);
    }
  });

  it('rejects unknown names', () => {
    expect(() => colorize(0, 'jet' as 'bwr')).toThrow(/unknown colour map "jet"/);
  });
});

const pixel = (rgba: Uint8Array, p: number): number[] => [...rgba.subarray(4 * p, 4 * p + 4)];

describe('relevanceToHeatmap', () => {
  it('normalises by the largest |value|: the extreme gets the full colour, 0 is neutral', () => {
    const rgba = relevanceToHeatmap(new Float32Array([2, -1, 0, -4]), 2, 2, { colormap: 'bwr' });
    expect(rgba.length).toBe(16);
    expect(pixel(rgba, 0)).toEqual([...colorize(0.5), 255]);
    expect(pixel(rgba, 1)).toEqual([...colorize(-0.25), 255]);
    expect(pixel(rgba, 2)).toEqual([255, 255, 255, 255]);
    expect(pixel(rgba, 3)).toEqual([0, 0, 255, 255]);
  });

  it('an all-zero map is neutral everywhere (no NaN from 0/0)', () => {
    for (const colormap of COLORMAP_NAMES) {
      const rgba = relevanceToHeatmap(new Float32Array(6), 2, 3, { colormap });
      for (let p = 0; p < 6; p++) expect(pixel(rgba, p)).toEqual([...neutralColor(colormap), 255]);
    }
  });

  it('sums over channels ([C,H,W] by default, [H,W,C] with layout hwc)', () => {
    // C=2, H=1, W=2: pixel 0 cancels (3 - 3), pixel 1 sums to 2
    const chw = new Float64Array([3, 1, -3, 1]);
    expect([...sumChannels(chw, 1, 2)]).toEqual([0, 2]);
    const rgba = relevanceToHeatmap(chw, 1, 2, { channels: 2 });
    expect(pixel(rgba, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(rgba, 1)).toEqual([255, 0, 0, 255]);
    const hwc = new Float64Array([3, -3, 1, 1]);
    expect(relevanceToHeatmap(hwc, 1, 2, { layout: 'hwc' })).toEqual(rgba);
  });

  it('a shared maxAbs scales several maps alike', () => {
    const rgba = relevanceToHeatmap(new Float32Array([1]), 1, 1, { maxAbs: 2 });
    expect(pixel(rgba, 0)).toEqual([...colorize(0.5), 255]);
  });

  it('rejects mismatched sizes and non-finite relevance', () => {
    expect(() => relevanceToHeatmap(new Float32Array(5), 2, 2)).toThrow(/5 values/);
    expect(() => relevanceToHeatmap(new Float32Array(8), 2, 2, { channels: 3 })).toThrow(/8 values/);
    expect(() => relevanceToHeatmap(new Float32Array([0, Number.NaN, 0, 1]), 2, 2)).toThrow(/NaN/);
  });
});

describe('overlay and imageToRgba', () => {
  it('blends alpha·heat + (1-alpha)·image for gray and RGB images', () => {
    const heat = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 255]);
    expect([...overlay(heat, [100, 200], 0.5)]).toEqual([178, 50, 50, 255, 100, 100, 228, 255]);
    expect([...overlay(heat, [0, 0, 0, 10, 20, 30], 0)]).toEqual([0, 0, 0, 255, 10, 20, 30, 255]);
    expect([...overlay(heat, [0, 0, 0, 10, 20, 30], 1)]).toEqual([...heat]);
    expect(() => overlay(heat, [1, 2, 3], 0.5)).toThrow(/expected 2 \(gray\) or 6/);
    expect(() => overlay(heat, [1, 2], 1.5)).toThrow(/alpha/);
  });

  it('imageToRgba expands gray and clamps', () => {
    expect([...imageToRgba([0, 300, -5, 127.6], 2, 2)]).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 128, 128, 128, 255]);
    expect([...imageToRgba([1, 2, 3], 1, 1)]).toEqual([1, 2, 3, 255]);
  });
});

describe('encodePng', () => {
  const rgba = new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 9, 8, 7, 255]); // 2×2

  it('writes a PNG that decodes to the same pixels', () => {
    const png = PNG.sync.read(Buffer.from(encodePng(rgba, 2, 2)));
    expect([png.width, png.height]).toEqual([2, 2]);
    expect([...png.data]).toEqual([...rgba]);
  });

  it('upscales by an integer factor with nearest-neighbour blocks', () => {
    const png = PNG.sync.read(Buffer.from(encodePng(rgba, 2, 2, 3)));
    expect([png.width, png.height]).toEqual([6, 6]);
    for (let y = 0; y < 6; y++) {
      for (let x = 0; x < 6; x++) {
        const src = Math.floor(y / 3) * 2 + Math.floor(x / 3);
        expect([...png.data.subarray(4 * (y * 6 + x), 4 * (y * 6 + x) + 4)]).toEqual(pixel(rgba, src));
      }
    }
  });

  it('rejects bad sizes and scales', () => {
    expect(() => encodePng(rgba, 3, 2)).toThrow(/16 bytes/);
    expect(() => encodePng(rgba, 2, 2, 1.5)).toThrow(/scale/);
    expect(() => encodePng(rgba, 2, 2, 0)).toThrow(/scale/);
  });
});

describe('heatmapGrid', () => {
  it('places tiles row by row with gaps of the background colour', () => {
    const tile = (v: number) => ({ rgba: new Uint8Array([v, v, v, 255]), width: 1, height: 1 });
    const g = heatmapGrid([tile(10), tile(20), tile(30)], { cols: 2, gap: 1, background: [0, 0, 0] });
    expect([g.width, g.height]).toEqual([3, 3]);
    const at = (x: number, y: number) => g.rgba[4 * (y * 3 + x)];
    expect([at(0, 0), at(1, 0), at(2, 0)]).toEqual([10, 0, 20]);
    expect([at(0, 2), at(1, 2), at(2, 2)]).toEqual([30, 0, 0]);
  });
});
