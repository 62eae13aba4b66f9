/**
 * Relevance maps → RGBA pixels (PNG encoding is a Node edge: src/node/visualize/png.ts). Follows the heatmap convention of DESIGN.md: relevance
 * summed over colour channels, a zero-centred colour map, normalised by the largest absolute
 * value so that the sign and relative size of evidence stay visible.
 */
import { type ColormapName, colorize } from './colormap.js';

export interface HeatmapOptions {
  /** Default 'bwr' (red positive, blue negative). */
  colormap?: ColormapName;
  /** Channels in `rel`; default rel.length / (h * w), i.e. 1 for an [H, W] map. */
  channels?: number;
  /** Memory layout of a multi-channel map: 'chw' (default, as in NCHW models) or 'hwc'. */
  layout?: 'chw' | 'hwc';
  /**
   * Normalise by this value instead of the map's own largest |value|; a shared value makes
   * several heatmaps (e.g. of one sample under different methods) comparable.
   */
  maxAbs?: number;
}

/** An RGBA image: `rgba` holds width * height * 4 bytes, row-major. */
export interface RgbaImage {
  rgba: Uint8Array;
  width: number;
  height: number;
}

export function checkSize(h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`heatmap: bad size ${h}×${w}`);
}

/** Sum a [C, H, W] ('chw') or [H, W, C] ('hwc') map over C, in float64. */
export function sumChannels(rel: ArrayLike<number>, h: number, w: number, channels?: number, layout: 'chw' | 'hwc' = 'chw'): Float64Array {
  checkSize(h, w);
  const c = channels ?? rel.length / (h * w);
  if (!Number.isInteger(c) || c < 1 || rel.length !== c * h * w) {
    throw new Error(`heatmap: relevance has ${rel.length} values, which is not ${channels ?? 'C'}×${h}×${w}`);
  }
  const out = new Float64Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += rel[layout === 'chw' ? k * h * w + p : p * c + k]!;
    out[p] = s;
  }
  return out;
}

/** Largest |value|; throws on NaN/Infinity, which would otherwise wash out the whole map. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new Error(`heatmap: relevance contains ${v} at index ${i}`);
    m = Math.max(m, Math.abs(v));
  }
  return m;
}

/**
 * Map relevance to RGBA: channel sum, divided by the largest |value| (or `opts.maxAbs`), coloured.
 * An all-zero map becomes the colour map's neutral colour everywhere (no 0/0).
 */
export function relevanceToHeatmap(rel: ArrayLike<number>, h: number, w: number, opts: HeatmapOptions = {}): Uint8Array {
  const colormap = opts.colormap ?? 'bwr';
  const summed = sumChannels(rel, h, w, opts.channels, opts.layout ?? 'chw');
  const own = maxAbs(summed);
  const norm = opts.maxAbs ?? own;
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new Error(`heatmap: maxAbs must be a finite number ≥ 0, got ${norm}`);
  const out = new Uint8Array(h * w * 4);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = colorize(norm > 0 ? summed[p]! / norm : 0, colormap);
    out[4 * p] = r;
    out[4 * p + 1] = g;
    out[4 * p + 2] = b;
    out[4 * p + 3] = 255;
  }
  return out;
}

/**
 * Gray ([H, W]) or interleaved RGB ([H, W, 3]) pixels in 0..255 → opaque RGBA, e.g. to save the
 * input image next to its heatmaps. The channel count follows from the length.
 */
export function imageToRgba(image: ArrayLike<number>, h: number, w: number): Uint8Array {
  checkSize(h, w);
  const n = h * w;
  const c = image.length / n;
  if (c !== 1 && c !== 3) throw new Error(`image has ${image.length} values, expected ${n} (gray) or ${3 * n} (RGB) for ${h}×${w}`);
  const out = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) {
      // Uint8Array assignment would wrap 256 to 0; clamp first
      out[4 * p + k] = Math.min(255, Math.max(0, Math.round(image[c === 1 ? p : 3 * p + k]!)));
    }
    out[4 * p + 3] = 255;
  }
  return out;
}

/**
 * Blend a heatmap over its image: `alpha · heat + (1 − alpha) · image`, opaque. `image` is gray
 * or interleaved RGB in 0..255 with the heatmap's pixel count (see {@link imageToRgba}).
 */
export function overlay(heatRgba: Uint8Array, image: ArrayLike<number>, alpha: number): Uint8Array {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`overlay: alpha must be in [0, 1], got ${alpha}`);
  const n = heatRgba.length / 4;
  if (!Number.isInteger(n)) throw new Error('overlay: heatmap length is not a multiple of 4 (RGBA)');
  const c = image.length / n;
  if (c !== 1 && c !== 3) throw new Error(`overlay: image has ${image.length} values, expected ${n} (gray) or ${3 * n} (RGB)`);
  const out = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) {
      const bg = Math.min(255, Math.max(0, image[c === 1 ? p : 3 * p + k]!));
      out[4 * p + k] = Math.round(alpha * heatRgba[4 * p + k]! + (1 - alpha) * bg);
    }
    out[4 * p + 3] = 255;
  }
  return out;
}

export interface GridOptions {
  /** Tiles per row; default ceil(sqrt(count)). */
  cols?: number;
  /** Pixels between tiles; default 2. */
  gap?: number;
  /** Colour of the gaps and of empty cells; default white. */
  background?: [number, number, number];
}

/** Lay out tiles (e.g. heatmaps of several samples or methods) row by row in one RGBA image; cells take the largest tile size. */
export function heatmapGrid(tiles: RgbaImage[], opts: GridOptions = {}): RgbaImage {
  if (tiles.length === 0) throw new Error('heatmapGrid: no tiles');
  const cols = opts.cols ?? Math.ceil(Math.sqrt(tiles.length));
  const gap = opts.gap ?? 2;
  const [br, bg, bb] = opts.background ?? [255, 255, 255];
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`heatmapGrid: cols must be a positive integer, got ${cols}`);
  if (!Number.isInteger(gap) || gap < 0) throw new Error(`heatmapGrid: gap must be an integer ≥ 0, got ${gap}`);
  for (const t of tiles) {
    if (t.rgba.length !== t.width * t.height * 4) throw new Error(`heatmapGrid: tile of ${t.rgba.length} bytes is not ${t.width}×${t.height}×4`);
  }
  const cellW = Math.max(...tiles.map((t) => t.width));
  const cellH = Math.max(...tiles.map((t) => t.height));
  const rows = Math.ceil(tiles.length / cols);
  const width = cols * cellW + (cols - 1) * gap;
  const height = rows * cellH + (rows - 1) * gap;
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([br, bg, bb, 255], 4 * p);
  tiles.forEach((t, i) => {
    const x0 = (i % cols) * (cellW + gap);
    const y0 = Math.floor(i / cols) * (cellH + gap);
    for (let y = 0; y < t.height; y++) {
      rgba.set(t.rgba.subarray(4 * y * t.width, 4 * (y + 1) * t.width), 4 * ((y0 + y) * width + x0));
    }
  });
  return { rgba, width, height };
}
