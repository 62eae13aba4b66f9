/**
 * Image files → model input tensors: PNG and JPEG decoded by pure-JS codecs (pngjs, jpeg-js),
 * then prepared by the core (src/core/image/prepare.ts: alpha, grayscale, resize, normalisation).
 */
import { PNG } from 'pngjs';
import { decode as decodeJpeg } from 'jpeg-js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { prepareImage, type ColourMode, type ImageConversion, type ImageFormat, type ImageOptions, type RgbImage } from '../../core/image/prepare.js';

export {
  describeConversion,
  FITS,
  parseColour,
  resizeBilinear,
  summarizeConversions,
  type ColourMode,
  type Fit,
  type ImageConversion,
  type ImageFormat,
  type ImageOptions,
  type RgbImage,
} from '../../core/image/prepare.js';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format from the file's magic bytes; file names and MIME types lie too often to be trusted. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  return undefined;
}

// The decoders' own messages ("There are some read requests waitng on finished stream") mean
// nothing to a user; what they mean is that the file is damaged.
const CORRUPT = (format: string) => `the ${format} file is truncated or corrupt`;

function decodePng(bytes: Uint8Array): RgbImage {
  let png;
  try {
    // skipRescale keeps 16-bit samples as 16-bit instead of rounding them to 8 bits first
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  } catch {
    throw new Error(CORRUPT('PNG'));
  }
  const { width, height } = png;
  // pngjs always expands to RGBA; palette entries are 8-bit, other samples keep the file's depth
  const src = png.data as unknown as ArrayLike<number>;
  const max = png.palette ? 255 : 2 ** png.depth - 1;
  const k = 255 / max;
  const out = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    out[3 * p] = src[4 * p]! * k;
    out[3 * p + 1] = src[4 * p + 1]! * k;
    out[3 * p + 2] = src[4 * p + 2]! * k;
  }
  // png.alpha: an alpha channel or a tRNS chunk (pngjs then expands transparency into RGBA)
  let alpha: Float32Array | undefined;
  if (png.alpha) {
    alpha = new Float32Array(width * height);
    const ka = png.palette ? 1 / 255 : 1 / max;
    for (let p = 0; p < width * height; p++) alpha[p] = src[4 * p + 3]! * ka;
  }
  const colour = png.color || png.palette;
  const mode: ColourMode = colour ? (alpha ? 'RGBA' : 'RGB') : alpha ? 'grey+alpha' : 'grey';
  return { width, height, data: out, mode, alpha };
}

/** Components in the JPEG's frame header (1: greyscale), or undefined when there is none. */
function jpegComponents(bytes: Uint8Array): number | undefined {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return undefined;
    const marker = bytes[i + 1]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[i + 9];
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return undefined;
}

function decodeJpegImage(bytes: Uint8Array): RgbImage {
  let img;
  try {
    img = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
  } catch {
    throw new Error(CORRUPT('JPEG'));
  }
  const { width, height, data } = img;
  if (!width || !height || data.length < width * height * 4) throw new Error(CORRUPT('JPEG'));
  const out = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    out[3 * p] = data[4 * p]!;
    out[3 * p + 1] = data[4 * p + 1]!;
    out[3 * p + 2] = data[4 * p + 2]!;
  }
  return { width, height, data: out, mode: jpegComponents(bytes) === 1 ? 'grey' : 'RGB' };
}

/** Formats people try, by magic bytes, to say what the file is instead of only what it is not. */
const OTHER_FORMATS: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
  ['WebP', [0x52, 0x49, 0x46, 0x46]],
];

/** Decode a PNG (grayscale, palette, RGB, with or without alpha, 1–16 bit) or JPEG file to RGB. */
export function decodeImage(bytes: Uint8Array): RgbImage {
  const format = detectImageFormat(bytes);
  if (format === 'png') return decodePng(bytes);
  if (format === 'jpeg') return decodeJpegImage(bytes);
  const other = OTHER_FORMATS.find(([, magic]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b));
  if (other) throw new Error(`it is a ${other[0]} file; relprop reads PNG and JPEG images`);
  throw new Error('not a PNG or JPEG image');
}

/**
 * Decode a PNG or JPEG file and turn it into a float32 model input (see {@link prepareImage}).
 */
export function loadImage(bytes: Uint8Array, opts: ImageOptions = {}): TensorData {
  return readImage(bytes, opts).tensor;
}

/** {@link loadImage}, and what it did to the file ({@link describeConversion} says it in words). */
export function readImage(bytes: Uint8Array, opts: ImageOptions = {}): { tensor: TensorData; conversion: ImageConversion } {
  return prepareImage(decodeImage(bytes), opts);
}
