/** RGBA pixels → PNG bytes (pngjs, which needs Node's zlib). */
import { PNG } from 'pngjs';
import { checkSize } from '../../core/visualize/heatmap.js';

/**
 * Encode RGBA pixels as PNG. `scale` (a positive integer) repeats every pixel scale×scale
 * times, so that e.g. a 28×28 map is visible without an image viewer's blurry smoothing.
 */
export function encodePng(rgba: Uint8Array, width: number, height: number, scale = 1): Uint8Array {
  checkSize(height, width);
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`encodePng: scale must be a positive integer, got ${scale}`);
  if (rgba.length !== width * height * 4) throw new Error(`encodePng: ${rgba.length} bytes is not ${width}×${height}×4`);
  const W = width * scale;
  const H = height * scale;
  const png = new PNG({ width: W, height: H });
  if (scale === 1) {
    png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  } else {
    const data = png.data;
    for (let y = 0; y < H; y++) {
      const sy = Math.floor(y / scale);
      for (let x = 0; x < W; x++) {
        const s = 4 * (sy * width + Math.floor(x / scale));
        data.set(rgba.subarray(s, s + 4), 4 * (y * W + x));
      }
    }
  }
  const buf = PNG.sync.write(png);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
