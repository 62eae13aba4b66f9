/**
 * Heatmap figures: the relevance map with what a reader needs to interpret it — the input beside
 * it (or under it) and a colour bar labelled with the values at its ends and at zero. Pure RGBA
 * composition with the bitmap font of font.ts, so it runs in browsers as well as in Node.
 *
 * The default style is side by side (input | heatmap | colour bar): the heatmap's colours stay
 * exactly those of the colour bar whatever the input looks like, which a blend cannot promise (a
 * white background under bwr's white zero, or a dark one under viridis, hides the image or the
 * map). The overlay style keeps both readable by showing the input as mid-range grey and painting
 * relevance over it with an opacity that grows with |value|.
 */
import { type ColormapName, colorize, isSequential } from './colormap.js';
import { drawText, fitText, GLYPH_H, textWidth } from './font.js';
import { checkSize, imageToRgba, type RgbaImage, relevanceToHeatmap, sumChannels } from './heatmap.js';

export type HeatmapStyle = 'side-by-side' | 'overlay' | 'bare';
export const HEATMAP_STYLES: readonly HeatmapStyle[] = ['side-by-side', 'overlay', 'bare'];

/** 'auto' chooses by the values (see {@link colourScale}). */
export type ColormapChoice = ColormapName | 'auto';

/** How values map to colours: value `lo` is the bottom of the colour bar, `hi` its top. */
export interface ColourScale {
  colormap: ColormapName;
  /** 'signed': diverging, symmetric around 0 (lo = −hi); 'sequential': 0 … hi. */
  kind: 'signed' | 'sequential';
  lo: number;
  hi: number;
}

/**
 * The colour scale of a (channel-summed) map. 'auto' gives viridis over 0 … max to a map that has
 * positive values and no negative one (a magnitude, or relevance that happens to be all ≥ 0), and
 * bwr over ±max|value| to every other map. A sequential map named explicitly is refused for maps
 * with negative values, whose sign it could not show.
 */
export function colourScale(values: ArrayLike<number>, colormap: ColormapChoice = 'auto', maxAbs?: number): ColourScale {
  let lo = 0;
  let hi = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw new Error(`heatmap: relevance contains ${v} at index ${i}`);
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const norm = maxAbs ?? Math.max(-lo, hi);
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new Error(`heatmap: maxAbs must be a finite number ≥ 0, got ${norm}`);
  const name: ColormapName = colormap === 'auto' ? (lo >= 0 && hi > 0 ? 'viridis' : 'bwr') : colormap;
  if (isSequential(name)) {
    if (lo < 0)
      throw new Error(
        `colour map ${name} is sequential (0 … max) but this map has negative values (down to ${lo}); use a diverging one (bwr, coldnhot, gray) or auto`,
      );
    return { colormap: name, kind: 'sequential', lo: 0, hi: norm };
  }
  return { colormap: name, kind: 'signed', lo: -norm, hi: norm };
}

/** A short tick label: 3 significant digits, an exponent for very small or large values. */
export function formatTick(v: number, signed = false): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  let s = a >= 1e4 || a < 1e-2 ? a.toExponential(1).replace('e+', 'e') : String(Number(a.toPrecision(3)));
  s = s.replace(/\.0e/, 'e');
  return v < 0 ? `-${s}` : signed ? `+${s}` : s;
}

/** What the colours mean, in words (the figure's footer; HTML captions use it too). */
export function describeScale(s: ColourScale, valueLabel?: string, withScale = true): string {
  const what = valueLabel ?? (s.kind === 'sequential' ? 'all values ≥ 0' : 'signed');
  if (s.kind === 'sequential') return `${what}: ${s.colormap}, dark 0 to bright ${withScale ? formatTick(s.hi) : 'max'}`;
  const ends = s.colormap === 'bwr' ? 'red > 0, blue < 0' : s.colormap === 'coldnhot' ? 'red/yellow > 0, blue/cyan < 0' : 'light > 0, dark < 0';
  return withScale ? `${what}: ${ends}, scale ${formatTick(s.lo)} to ${formatTick(s.hi, true)}` : `${what}: ${ends}`;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FigureOptions {
  /** Default 'side-by-side'. */
  style?: HeatmapStyle;
  /** Default 'auto'. */
  colormap?: ColormapChoice;
  /** Channels and memory layout of `rel`, as in relevanceToHeatmap. */
  channels?: number;
  layout?: 'chw' | 'hwc';
  /** Normalise by this instead of the map's own largest |value| (the colour bar shows it). */
  maxAbs?: number;
  /** The input, gray ([H, W]) or interleaved RGB ([H, W, 3]) in 0..255; needed by side-by-side and overlay. */
  image?: ArrayLike<number>;
  /** Every map and input pixel becomes scale×scale pixels (default 1). */
  scale?: number;
  /** Above the heatmap, e.g. the method and the explained class; '\n' starts a new line. */
  title?: string;
  /** What the values are (footer), e.g. 'magnitude'; default 'signed' or 'all values ≥ 0'. */
  valueLabel?: string;
}

export interface Figure extends RgbaImage {
  colourScale: ColourScale;
  /** Where each part was drawn (in output pixels); `bar` runs from hi (top row) to lo (bottom row). */
  panels: { input?: Rect; heatmap: Rect; bar?: Rect };
}

/** Repeat every pixel s×s times. */
export function upscaleRgba(img: RgbaImage, s: number): RgbaImage {
  if (!Number.isInteger(s) || s < 1) throw new Error(`scale must be a positive integer, got ${s}`);
  if (s === 1) return img;
  const W = img.width * s;
  const rgba = new Uint8Array(W * img.height * s * 4);
  for (let y = 0; y < img.height * s; y++) {
    const src = Math.floor(y / s) * img.width;
    for (let x = 0; x < W; x++) {
      const k = 4 * (src + Math.floor(x / s));
      rgba.set(img.rgba.subarray(k, k + 4), 4 * (y * W + x));
    }
  }
  return { rgba, width: W, height: img.height * s };
}

function blit(dst: RgbaImage, src: RgbaImage, x0: number, y0: number): void {
  for (let y = 0; y < src.height; y++) dst.rgba.set(src.rgba.subarray(4 * y * src.width, 4 * (y + 1) * src.width), 4 * ((y0 + y) * dst.width + x0));
}

/**
 * The input as mid-range grey with relevance painted over it, opacity ∝ |value| / scale: where
 * relevance is zero the input shows unchanged in shape, where it is largest the colour is opaque.
 */
function overlayPixels(heat: Uint8Array, image: ArrayLike<number>, summed: Float64Array, scale: ColourScale): Uint8Array {
  const n = summed.length;
  const c = image.length / n;
  if (c !== 1 && c !== 3) throw new Error(`heatmap figure: image has ${image.length} values, expected ${n} (gray) or ${3 * n} (RGB)`);
  const norm = Math.max(-scale.lo, scale.hi);
  const out = new Uint8Array(n * 4);
  for (let p = 0; p < n; p++) {
    let g = 0;
    for (let k = 0; k < c; k++) g += Math.min(255, Math.max(0, image[c === 1 ? p : 3 * p + k]!));
    // 48 … 208: neither white nor black, so neither end of a colour map vanishes into the input
    const grey = 48 + (0.625 * g) / c;
    const a = norm > 0 ? Math.min(1, Math.abs(summed[p]!) / norm) : 0;
    for (let k = 0; k < 3; k++) out[4 * p + k] = Math.round(a * heat[4 * p + k]! + (1 - a) * grey);
    out[4 * p + 3] = 255;
  }
  return out;
}

/** Compose the figure of one relevance map ([C, H, W] or [H, W, C], summed over channels). */
export function heatmapFigure(rel: ArrayLike<number>, h: number, w: number, opts: FigureOptions = {}): Figure {
  checkSize(h, w);
  const style = opts.style ?? 'side-by-side';
  if (!HEATMAP_STYLES.includes(style)) throw new Error(`unknown heatmap style "${style}" (known: ${HEATMAP_STYLES.join(', ')})`);
  const s = opts.scale ?? 1;
  const summed = sumChannels(rel, h, w, opts.channels, opts.layout ?? 'chw');
  const cs = colourScale(summed, opts.colormap ?? 'auto', opts.maxAbs);
  const norm = Math.max(-cs.lo, cs.hi);
  const heat = relevanceToHeatmap(summed, h, w, { colormap: cs.colormap, channels: 1, maxAbs: norm });
  if (style === 'bare') {
    const img = upscaleRgba({ rgba: heat, width: w, height: h }, s);
    return { ...img, colourScale: cs, panels: { heatmap: { x: 0, y: 0, width: img.width, height: img.height } } };
  }
  if (!opts.image) throw new Error(`heatmap style ${style} needs the input image`);
  const input = imageToRgba(opts.image, h, w);
  const main = upscaleRgba({ rgba: style === 'overlay' ? overlayPixels(heat, opts.image, summed, cs) : heat, width: w, height: h }, s);
  const left = style === 'side-by-side' ? upscaleRgba({ rgba: input, width: w, height: h }, s) : undefined;

  // Text at twice the font size once panels are large enough to carry it.
  const ts = main.height >= 150 ? 2 : 1;
  const pad = 4 * ts;
  const lineH = GLYPH_H * ts; // 7 rows of capitals plus the descender row
  const barW = 8 * ts;
  const ticks: [number, string][] =
    norm === 0
      ? [[0.5, '0']]
      : cs.kind === 'signed'
        ? [
            [0, formatTick(cs.hi, true)],
            [0.5, '0'],
            [1, formatTick(cs.lo)],
          ]
        : [
            [0, formatTick(cs.hi)],
            [1, '0'],
          ];
  const labelW = Math.max(...ticks.map(([, t]) => textWidth(t, ts)));

  const title = (opts.title ?? (style === 'overlay' ? 'relevance over the input' : 'relevance')).split('\n');
  const y0 = pad + title.length * (lineH + ts) - ts + pad;
  const inputRect = left ? { x: pad, y: y0, width: left.width, height: left.height } : undefined;
  const heatRect = { x: inputRect ? inputRect.x + inputRect.width + 2 * pad : pad, y: y0, width: main.width, height: main.height };
  const barRect = { x: heatRect.x + heatRect.width + 2 * pad, y: y0, width: barW, height: main.height };
  const width = barRect.x + barW + 2 * ts + 2 * ts + labelW + pad;
  const height = y0 + main.height + pad + lineH + pad;
  const fig: RgbaImage = { rgba: new Uint8Array(width * height * 4).fill(255), width, height };

  if (left && inputRect) {
    blit(fig, left, inputRect.x, inputRect.y);
    drawText(fig.rgba, width, inputRect.x, pad, fitText('input', inputRect.width, ts), ts);
  }
  blit(fig, main, heatRect.x, heatRect.y);
  title.forEach((line, k) => drawText(fig.rgba, width, heatRect.x, pad + k * (lineH + ts), fitText(line, width - heatRect.x - pad, ts), ts));

  // The bar: top row = hi, bottom row = lo, linear in between; framed so its light end stays visible.
  const H = barRect.height;
  for (let r = 0; r < H; r++) {
    const t = H > 1 ? 1 - r / (H - 1) : 1;
    const v = cs.kind === 'signed' ? 2 * t - 1 : t;
    const [cr, cg, cb] = colorize(v, cs.colormap);
    for (let x = 0; x < barW; x++) fig.rgba.set([cr, cg, cb, 255], 4 * ((barRect.y + r) * width + barRect.x + x));
  }
  const frame = [128, 128, 128, 255];
  for (let r = -1; r <= H; r++) for (const x of [barRect.x - 1, barRect.x + barW]) fig.rgba.set(frame, 4 * ((barRect.y + r) * width + x));
  for (let x = barRect.x - 1; x <= barRect.x + barW; x++) for (const r of [-1, H]) fig.rgba.set(frame, 4 * ((barRect.y + r) * width + x));
  for (const [at, text] of ticks) {
    // Labels centred on their value's row (the ends pushed inside the figure); no tick marks, which would read as minus signs.
    const ty = barRect.y + Math.round(at * (H - 1));
    const textY = Math.min(Math.max(ty - Math.floor(((GLYPH_H - 1) * ts) / 2), barRect.y - pad), barRect.y + H + pad - lineH);
    drawText(fig.rgba, width, barRect.x + barW + 4 * ts, textY, text, ts);
  }
  const footer = describeScale(cs, opts.valueLabel, false);
  drawText(fig.rgba, width, pad, y0 + main.height + pad, fitText(footer, width - 2 * pad, ts), ts);
  return { ...fig, colourScale: cs, panels: { input: inputRect, heatmap: heatRect, bar: barRect } };
}

/**
 * An input tensor's sample as displayable pixels: gray (1 channel, or the channel mean) or RGB
 * (3 channels), min–max scaled to 0..255 — for inputs that are not images on disk (.npy, JSON).
 */
export function displayPixels(x: ArrayLike<number>, h: number, w: number, channels: number, layout: 'chw' | 'hwc' = 'chw'): Float32Array {
  checkSize(h, w);
  const n = h * w;
  if (x.length !== channels * n) throw new Error(`input has ${x.length} values, not ${channels}×${h}×${w}`);
  const at = (k: number, p: number) => x[layout === 'chw' ? k * n + p : p * channels + k]!;
  const c = channels === 3 ? 3 : 1;
  const out = new Float32Array(n * c);
  for (let p = 0; p < n; p++) {
    if (c === 3) for (let k = 0; k < 3; k++) out[3 * p + k] = at(k, p);
    else {
      let s = 0;
      for (let k = 0; k < channels; k++) s += at(k, p);
      out[p] = s / channels;
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of out) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  for (let i = 0; i < out.length; i++) out[i] = hi > lo ? ((out[i]! - lo) / (hi - lo)) * 255 : 0;
  return out;
}
