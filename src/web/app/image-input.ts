/**
 * Images in the page → model inputs: the browser decodes (any format it reads), the core prepares
 * (alpha over white, grayscale by luminance, PIL-style bilinear resize, /255) exactly as the CLI
 * does, so a PNG gives the same tensor here as in `relprop explain`.
 */
import type { TensorData } from '../../core/onnx/tensor.js';
import { describeConversion, prepareImage, type RgbImage } from '../../core/image/prepare.js';

/** RGBA pixels (straight alpha, 0..255) as the core's decoded image. */
export function rgbaToImage(rgba: Uint8ClampedArray, width: number, height: number): RgbImage {
  const n = width * height;
  const data = new Float32Array(3 * n);
  const alpha = new Float32Array(n);
  let translucent = false;
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) data[3 * p + k] = rgba[4 * p + k]!;
    alpha[p] = rgba[4 * p + 3]! / 255;
    if (alpha[p] !== 1) translucent = true;
  }
  return translucent ? { width, height, data, mode: 'RGBA', alpha } : { width, height, data, mode: 'RGB' };
}

/** Decode an image file with the browser's decoder, without colour management or premultiplication. */
export async function decodeImageFile(file: Blob, name: string): Promise<RgbImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new Error(`${name}: the browser cannot decode it as an image`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return rgbaToImage(data, canvas.width, canvas.height);
}

/** The model input [1, C, H, W] for a decoded image, and what was done to it in words (if anything). */
export function toModelInput(img: RgbImage, chw: [number, number, number]): { tensor: TensorData; note?: string } {
  const [c, h, w] = chw;
  const { tensor, conversion } = prepareImage(img, { channels: c as 1 | 3, size: [h, w] });
  return { tensor, note: describeConversion(conversion) };
}
