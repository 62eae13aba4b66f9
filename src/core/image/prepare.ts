/**
 * Decoded images → model input tensors: alpha, grayscale, resizing (PIL's bilinear filter), channel
 * order and normalisation, and a record of what was done. Decoding is the caller's: files in
 * Node (src/node/io/image.ts), the browser's own decoder in a page (src/web/app).
 */
import type { TensorData } from '../onnx/tensor.js';

export type ImageFormat = 'png' | 'jpeg';

/** What the file holds (palette images count as RGB, or RGBA with a transparency chunk). */
export type ColourMode = 'grey' | 'grey+alpha' | 'RGB' | 'RGBA';

/** A decoded image: interleaved RGB, row-major [height, width, 3], values in 0..255 (floats, so 16-bit PNGs keep their precision). */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
  mode: ColourMode;
  /** Opacity per pixel in 0..1, for files with an alpha channel or a transparency chunk. */
  alpha?: Float32Array;
}

/** How an image of another aspect ratio than the output's is brought to the output's size. */
export type Fit = 'squash' | 'pad' | 'crop';
export const FITS: readonly Fit[] = ['squash', 'pad', 'crop'];

export interface ImageOptions {
  /** Output size [height, width]; resized with a bilinear filter when it differs from the file's size. */
  size?: [number, number];
  /** 1: grayscale by luminance; 3: colour (default). */
  channels?: 1 | 3;
  /** 'nchw' → [1, C, H, W] (default, PyTorch); 'nhwc' → [1, H, W, C] (TensorFlow/Keras). */
  layout?: 'nchw' | 'nhwc';
  /** Channel order of a colour output; 'bgr' for Caffe/OpenCV-trained models. Default 'rgb'. */
  order?: 'rgb' | 'bgr';
  /** Multiplier applied to the 0..255 pixel values; default 1/255 (so pixels land in [0, 1]). */
  scale?: number;
  /** Per output channel (in `order`), subtracted after `scale`. Length 1 applies to every channel. */
  mean?: number[];
  /** Per output channel (in `order`), divides after subtracting `mean`. Length 1 applies to every channel. */
  std?: number[];
  /**
   * Another aspect ratio than `size`'s: 'squash' (default) resizes the whole image to `size`,
   * 'crop' cuts the centre to the output's aspect ratio first, 'pad' fits the whole image inside
   * and fills the borders with `background`.
   */
  fit?: Fit;
  /** RGB 0..255 that transparent pixels are composited over (and 'pad' fills with); default white. */
  background?: [number, number, number];
}

/** What was done to turn a file into the output (see {@link describeConversion}). */
export interface ImageConversion {
  from: { width: number; height: number; mode: ColourMode };
  to: { width: number; height: number; channels: 1 | 3 };
  /** 'over': some pixels are transparent and were composited over the background; 'opaque': an alpha channel without transparency was dropped. */
  alpha?: 'over' | 'opaque';
  background: [number, number, number];
  fit: Fit;
}

const NAMED_COLOURS: Record<string, [number, number, number]> = { white: [255, 255, 255], black: [0, 0, 0] };

/** `white`, `black` or `#rrggbb` → RGB 0..255. */
export function parseColour(v: string): [number, number, number] {
  const s = v.trim().toLowerCase();
  const named = NAMED_COLOURS[s];
  if (named) return [...named];
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(s);
  if (!m) throw new Error(`--background needs white, black or #rrggbb, got "${v}"`);
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

function colourName(c: [number, number, number]): string {
  for (const [name, rgb] of Object.entries(NAMED_COLOURS)) if (rgb.every((x, i) => x === c[i])) return name;
  return '#' + c.map((x) => Math.round(x).toString(16).padStart(2, '0')).join('');
}

const sizeText = (w: number, h: number) => `${w}×${h}`;

/** What the resize did, or undefined when the size did not change. */
function resizeText(c: ImageConversion): string | undefined {
  const { from, to } = c;
  if (from.width === to.width && from.height === to.height) return undefined;
  if (from.width * to.height === from.height * to.width) return 'resized';
  if (c.fit === 'crop') return 'centre cropped to the aspect ratio, then resized';
  if (c.fit === 'pad') return `resized keeping the aspect ratio, padded with ${colourName(c.background)}`;
  return 'resized without keeping the aspect ratio';
}

function alphaText(c: ImageConversion): string | undefined {
  if (c.alpha === 'over') return `alpha over ${colourName(c.background)}`;
  if (c.alpha === 'opaque') return 'opaque alpha dropped';
  return undefined;
}

function needsConversion(c: ImageConversion): boolean {
  const srcChannels = c.from.mode === 'grey' || c.from.mode === 'grey+alpha' ? 1 : 3;
  return srcChannels !== c.to.channels || c.alpha !== undefined || c.from.width !== c.to.width || c.from.height !== c.to.height;
}

/**
 * One line for the user, e.g. `300×200 RGBA → 28×28 grey (alpha over white, resized without
 * keeping the aspect ratio)`; undefined when the file already is what the model takes.
 */
export function describeConversion(c: ImageConversion): string | undefined {
  if (!needsConversion(c)) return undefined;
  const how = [alphaText(c), resizeText(c)].filter(Boolean);
  const to = c.to.channels === 1 ? 'grey' : 'RGB';
  return `${sizeText(c.from.width, c.from.height)} ${c.from.mode} → ${sizeText(c.to.width, c.to.height)} ${to}${how.length ? ` (${how.join(', ')})` : ''}`;
}

/**
 * One line for a folder of images: how many were converted and how, e.g. `40 of 50 images
 * converted to 28×28 grey: 30 from RGB, 10 from RGBA (alpha over white); 25 resized without
 * keeping the aspect ratio`; undefined when none was.
 */
export function summarizeConversions(list: ImageConversion[]): string | undefined {
  const converted = list.filter(needsConversion);
  if (converted.length === 0) return undefined;
  const count = (texts: (string | undefined)[]) => {
    const m = new Map<string, number>();
    for (const t of texts) if (t) m.set(t, (m.get(t) ?? 0) + 1);
    return [...m].map(([t, n]) => `${n} ${t}`);
  };
  const first = converted[0]!;
  const to = `${sizeText(first.to.width, first.to.height)} ${first.to.channels === 1 ? 'grey' : 'RGB'}`;
  const modes = count(converted.map((c) => `from ${c.from.mode}`));
  const alpha = count(converted.map(alphaText));
  const resized = count(converted.map(resizeText));
  const details = [modes.join(', '), ...(alpha.length ? [alpha.join(', ')] : []), ...(resized.length ? [resized.join(', ')] : [])];
  return `${converted.length} of ${list.length} images converted to ${to}: ${details.join('; ')}`;
}

/** Luminance weights of ITU-R BT.601, the ones PIL's convert('L') uses, so grayscale inputs match PIL-trained models. */
const LUMA = [0.299, 0.587, 0.114] as const;

function toGray(img: RgbImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  const d = img.data;
  for (let p = 0; p < n; p++) {
    const r = d[3 * p]!;
    const g = d[3 * p + 1]!;
    const b = d[3 * p + 2]!;
    // exact for gray pixels (the weighted sum can be off by an ulp)
    out[p] = r === g && g === b ? r : LUMA[0] * r + LUMA[1] * g + LUMA[2] * b;
  }
  return out;
}

/**
 * Taps and weights for resampling one axis from `inLen` to `outLen` samples: PIL's bilinear
 * filter (pixel centres at i + 0.5, triangle kernel). When shrinking, the kernel is widened by the
 * scale factor, which antialiases like PIL/torchvision's Resize; when enlarging it is plain
 * bilinear interpolation with edge clamping.
 */
function axisWeights(inLen: number, outLen: number): { start: Int32Array; count: Int32Array; w: Float64Array; taps: number } {
  const scale = inLen / outLen;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // triangle support 1, scaled
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const w = new Float64Array(outLen * taps);
  for (let o = 0; o < outLen; o++) {
    const center = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inLen, Math.trunc(center + support + 0.5));
    let sum = 0;
    for (let x = lo; x < hi; x++) {
      const t = Math.abs((x - center + 0.5) / filterScale);
      const v = t < 1 ? 1 - t : 0;
      w[o * taps + (x - lo)] = v;
      sum += v;
    }
    for (let x = lo; x < hi; x++) w[o * taps + (x - lo)]! /= sum || 1;
    start[o] = lo;
    count[o] = hi - lo;
  }
  return { start, count, w, taps };
}

/**
 * Resize an interleaved [h, w, c] image to [outH, outW, c] with the bilinear filter of
 * {@link axisWeights} (separable: rows first, then columns).
 */
export function resizeBilinear(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number): Float32Array {
  if (h === outH && w === outW) return src.slice();
  const hx = axisWeights(w, outW);
  const tmp = new Float64Array(h * outW * c);
  for (let y = 0; y < h; y++) {
    for (let ox = 0; ox < outW; ox++) {
      const s = hx.start[ox]!;
      const n = hx.count[ox]!;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += hx.w[ox * hx.taps + k]! * src[(y * w + s + k) * c + ch]!;
        tmp[(y * outW + ox) * c + ch] = acc;
      }
    }
  }
  const vy = axisWeights(h, outH);
  const out = new Float32Array(outH * outW * c);
  for (let oy = 0; oy < outH; oy++) {
    const s = vy.start[oy]!;
    const n = vy.count[oy]!;
    for (let ox = 0; ox < outW; ox++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += vy.w[oy * vy.taps + k]! * tmp[((s + k) * outW + ox) * c + ch]!;
        out[(oy * outW + ox) * c + ch] = acc;
      }
    }
  }
  return out;
}

function perChannel(name: string, values: number[] | undefined, channels: number, fallback: number): number[] {
  if (values === undefined) return new Array<number>(channels).fill(fallback);
  if (values.length === 1) return new Array<number>(channels).fill(values[0]!);
  if (values.length !== channels) throw new Error(`image: ${name} has ${values.length} values, the output has ${channels} channels`);
  return values;
}

/** Composite the colour over `bg` by the alpha channel (premultiplying by hand: the file's colours are straight). */
function overBackground(img: RgbImage, bg: [number, number, number]): Float32Array {
  const a = img.alpha!;
  const out = new Float32Array(img.data.length);
  for (let p = 0; p < a.length; p++) {
    const t = a[p]!;
    for (let c = 0; c < 3; c++) out[3 * p + c] = t * img.data[3 * p + c]! + (1 - t) * bg[c]!;
  }
  return out;
}

function cropCentre(src: Float32Array, h: number, w: number, c: number, ch: number, cw: number): Float32Array {
  const y0 = Math.floor((h - ch) / 2);
  const x0 = Math.floor((w - cw) / 2);
  const out = new Float32Array(ch * cw * c);
  for (let y = 0; y < ch; y++) out.set(src.subarray(((y0 + y) * w + x0) * c, ((y0 + y) * w + x0 + cw) * c), y * cw * c);
  return out;
}

/** `src` [h, w, c] to [outH, outW, c] by `fit`. */
function fitTo(src: Float32Array, h: number, w: number, c: number, outH: number, outW: number, fit: Fit, fill: number[]): Float32Array {
  if (fit === 'squash' || h * outW === w * outH) return resizeBilinear(src, h, w, c, outH, outW);
  if (fit === 'crop') {
    // the largest centred window with the output's aspect ratio
    const [ch, cw] = w * outH > h * outW ? [h, Math.max(1, Math.round((h * outW) / outH))] : [Math.max(1, Math.round((w * outH) / outW)), w];
    return resizeBilinear(cropCentre(src, h, w, c, ch, cw), ch, cw, c, outH, outW);
  }
  const s = Math.min(outH / h, outW / w);
  const nh = Math.min(outH, Math.max(1, Math.round(h * s)));
  const nw = Math.min(outW, Math.max(1, Math.round(w * s)));
  const inner = resizeBilinear(src, h, w, c, nh, nw);
  const out = new Float32Array(outH * outW * c);
  for (let p = 0; p < outH * outW; p++) for (let k = 0; k < c; k++) out[p * c + k] = fill[k]!;
  const y0 = Math.floor((outH - nh) / 2);
  const x0 = Math.floor((outW - nw) / 2);
  for (let y = 0; y < nh; y++) out.set(inner.subarray(y * nw * c, (y + 1) * nw * c), ((y0 + y) * outW + x0) * c);
  return out;
}

/**
 * A decoded image as a float32 model input: [1, C, H, W] ('nchw') or [1, H, W, C] ('nhwc'), and
 * what was done to it ({@link describeConversion} says it in words). Steps, in order: alpha over
 * the background → grayscale (channels 1) → resize (size, by fit) → channel order → `v * scale`
 * → `(v - mean[c]) / std[c]`.
 */
export function prepareImage(img: RgbImage, opts: ImageOptions = {}): { tensor: TensorData; conversion: ImageConversion } {
  const channels = opts.channels ?? 3;
  const layout = opts.layout ?? 'nchw';
  const order = opts.order ?? 'rgb';
  const scale = opts.scale ?? 1 / 255;
  const fit = opts.fit ?? 'squash';
  const background = opts.background ?? [255, 255, 255];
  if (channels !== 1 && channels !== 3) throw new Error(`image: channels must be 1 or 3, got ${String(channels)}`);
  if (layout !== 'nchw' && layout !== 'nhwc') throw new Error(`image: layout must be 'nchw' or 'nhwc', got ${String(layout)}`);
  if (order !== 'rgb' && order !== 'bgr') throw new Error(`image: order must be 'rgb' or 'bgr', got ${String(order)}`);
  if (!FITS.includes(fit)) throw new Error(`image: fit must be ${FITS.join(', ')}, got ${String(fit)}`);
  if (background.length !== 3 || background.some((v) => !Number.isFinite(v) || v < 0 || v > 255))
    throw new Error(`image: background must be three values in 0..255, got ${JSON.stringify(background)}`);
  if (!Number.isFinite(scale)) throw new Error(`image: scale must be a finite number, got ${scale}`);
  if (opts.size !== undefined) {
    const [sh, sw] = opts.size;
    if (opts.size.length !== 2 || !Number.isInteger(sh) || !Number.isInteger(sw) || sh! < 1 || sw! < 1) {
      throw new Error(`image: size must be [height, width] with positive integers, got ${JSON.stringify(opts.size)}`);
    }
  }
  const mean = perChannel('mean', opts.mean, channels, 0);
  const std = perChannel('std', opts.std, channels, 1);
  if (std.some((s) => !Number.isFinite(s) || s === 0)) throw new Error(`image: std values must be finite and non-zero, got ${JSON.stringify(std)}`);
  if (mean.some((m) => !Number.isFinite(m))) throw new Error(`image: mean values must be finite, got ${JSON.stringify(mean)}`);

  let alpha: ImageConversion['alpha'];
  let rgb = img.data;
  if (img.alpha) {
    // A model input has no transparency: black ink on a transparent background is black on
    // black if the alpha channel is just dropped, so transparent pixels take the background.
    alpha = img.alpha.every((a) => a === 1) ? 'opaque' : 'over';
    if (alpha === 'over') rgb = overBackground(img, background);
  }
  let pixels = channels === 1 ? toGray({ ...img, data: rgb }) : rgb;
  let [h, w] = [img.height, img.width];
  if (opts.size && (opts.size[0] !== h || opts.size[1] !== w)) {
    const fill = channels === 1 ? [toGray({ width: 1, height: 1, data: Float32Array.from(background), mode: 'RGB' })[0]!] : background;
    pixels = fitTo(pixels, h, w, channels, opts.size[0], opts.size[1], fit, fill);
    [h, w] = opts.size;
  }

  const out = new Float32Array(channels * h * w);
  for (let c = 0; c < channels; c++) {
    // output channel c reads source channel c (rgb) or 2 - c (bgr)
    const srcC = order === 'bgr' && channels === 3 ? 2 - c : c;
    const m = mean[c]!;
    const s = std[c]!;
    for (let p = 0; p < h * w; p++) {
      const v = (pixels[p * channels + srcC]! * scale - m) / s;
      out[layout === 'nchw' ? c * h * w + p : p * channels + c] = v;
    }
  }
  const dims = layout === 'nchw' ? [1, channels, h, w] : [1, h, w, channels];
  return {
    tensor: { dtype: 'float32', dims, data: out },
    conversion: { from: { width: img.width, height: img.height, mode: img.mode }, to: { width: w, height: h, channels }, alpha, background, fit },
  };
}
