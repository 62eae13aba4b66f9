/**
 * Heatmap complexity as in Samek et al. (papers digest §4.4–4.5): good heatmaps are sparse, so
 * their images compress well. Each pooled heatmap is rendered the way relprop draws heatmaps
 * (bwr colour map, normalised by its own largest |value|, native resolution) and measured by
 * its PNG size and the Shannon entropy (bits) of the 256-bin histogram
 * of the rendered image's grey level (ITU-R BT.601 luma), as MATLAB's `entropy` does on an image.
 */
import { relevanceToHeatmap } from '../visualize/heatmap.js';

/** RGBA pixels → PNG bytes (Node: pngjs in src/node/visualize/png.ts; a page: its own encoder). */
export type PngEncoder = (rgba: Uint8Array, width: number, height: number) => Uint8Array;

export interface Complexity {
  png: number;
  entropy: number;
}

export function heatmapComplexity(map: ArrayLike<number>, h: number, w: number, encodePng: PngEncoder): Complexity {
  const rgba = relevanceToHeatmap(map, h, w, { channels: 1 });
  const png = encodePng(rgba, w, h).length;
  return { png, entropy: imageEntropy(rgba) };
}

/** Entropy in bits of the grey-level histogram of an RGBA image. */
export function imageEntropy(rgba: Uint8Array): number {
  const hist = new Float64Array(256);
  const n = rgba.length / 4;
  for (let p = 0; p < n; p++) {
    const y = Math.round(0.299 * rgba[4 * p]! + 0.587 * rgba[4 * p + 1]! + 0.114 * rgba[4 * p + 2]!);
    hist[Math.min(255, y)]! += 1;
  }
  let e = 0;
  for (const c of hist) if (c > 0) e -= (c / n) * Math.log2(c / n);
  return e;
}
