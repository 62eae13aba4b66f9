/**
 * Image files → model input tensors. Pure-JS codecs (pngjs, jpeg-js) so the same code runs in
 * Node and in the browser. The preprocessing options cover the usual model conventions
 * (torchvision: RGB, NCHW, /255, mean/std; Caffe/OpenCV: BGR; Keras: NHWC).
 */
import { PNG } from 'pngjs';
import { decode as decodeJpeg } from 'jpeg-js';
import type { TensorData } from '../../core/onnx/tensor.js';

export type ImageFormat = 'png' | 'jpeg';

/** A decoded image: interleaved RGB, row-major [height, width, 3], values in 0..255 (floats, so 16-bit PNGs keep their precision). */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

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
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format from the file's magic bytes; file names and MIME types lie too often to be trusted. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function decodePng(bytes: Uint8Array): RgbImage {
  let png;
  try {
    // skipRescale keeps 16-bit samples as 16-bit instead of rounding them to 8 bits first
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch (err) {
    throw new Error(`could not decode PNG image: ${errorMessage(err)}`);
  }
  const { width, height } = png;
  // pngjs always expands to RGBA; palette entries are 8-bit, other samples keep the file's depth
  const src = png.data as unknown as ArrayLike<number>;
  const max = png.palette ? 255 : 2 ** png.depth - 1;
  const k = 255 / max;
  const out = new Float32Array(width * height * 3);
  // alpha is dropped (like PIL's convert('RGB')): a model input has no transparency
  for (let p = 0; p < width * height; p++) {
    out[3 * p] = src[4 * p]! * k;
    out[3 * p + 1] = src[4 * p + 1]! * k;
    out[3 * p + 2] = src[4 * p + 2]! * k;
  }
  return { width, height, data: out };
}

function decodeJpegImage(bytes: Uint8Array): RgbImage {
  let img;
  try {
    img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
  } catch (err) {
    throw new Error(`could not decode JPEG image: ${errorMessage(err)}`);
  }
  const { width, height, data } = img;
  if (!width || !height || data.length < width * height * 4) throw new Error('could not decode JPEG image: no image data');
  const out = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    out[3 * p] = data[4 * p]!;
    out[3 * p + 1] = data[4 * p + 1]!;
    out[3 * p + 2] = data[4 * p + 2]!;
  }
  return { width, height, data: out };
}

/** Decode a PNG (grayscale, palette, RGB, with or without alpha, 1–16 bit) or JPEG file to RGB. */
export function decodeImage(bytes: Uint8Array): RgbImage {
  const format = detectImageFormat(bytes);
  if (format === 'png') return decodePng(bytes);
  if (format === 'jpeg') return decodeJpegImage(bytes);
  throw new Error('not a PNG or JPEG image');
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

/**
 * Decode a PNG or JPEG file and turn it into a float32 model input: [1, C, H, W] ('nchw') or
 * [1, H, W, C] ('nhwc'). Steps, in order: decode → grayscale (channels 1) → resize (size) →
 * channel order → `v * scale` → `(v - mean[c]) / std[c]`.
 */
export function loadImage(bytes: Uint8Array, opts: ImageOptions = {}): TensorData {
  const channels = opts.channels ?? 3;
  const layout = opts.layout ?? 'nchw';
  const order = opts.order ?? 'rgb';
  const scale = opts.scale ?? 1 / 255;
  if (channels !== 1 && channels !== 3) throw new Error(`image: channels must be 1 or 3, got ${String(channels)}`);
  if (layout !== 'nchw' && layout !== 'nhwc') throw new Error(`image: layout must be 'nchw' or 'nhwc', got ${String(layout)}`);
  if (order !== 'rgb' && order !== 'bgr') throw new Error(`image: order must be 'rgb' or 'bgr', got ${String(order)}`);
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

  const img = decodeImage(bytes);
  let pixels = channels === 1 ? toGray(img) : img.data;
  let [h, w] = [img.height, img.width];
  if (opts.size && (opts.size[0] !== h || opts.size[1] !== w)) {
    pixels = resizeBilinear(pixels, h, w, channels, opts.size[0], opts.size[1]);
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
  return { dtype: 'float32', dims, data: out };
}
