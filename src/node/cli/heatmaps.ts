/** Heatmap PNGs for image-shaped relevance ([N, C, H, W] or [N, H, W, C]). */
import { overlay, relevanceToHeatmap } from '../../core/visualize/heatmap.js';
import { encodePng } from '../visualize/png.js';
import type { ColormapName } from '../../core/visualize/colormap.js';
import type { TensorData } from '../../core/onnx/tensor.js';

export interface HeatmapSpec {
  colormap: ColormapName;
  layout: 'nchw' | 'nhwc';
  /** Pixels 0..255 of each sample (gray or RGB) to blend under the heatmap. */
  overlayPixels?: { data: Float32Array; channels: 1 | 3 }[];
  /** Normalise every map by this instead of its own largest |value|. */
  maxAbs?: number;
}

export function imageGeometry(dims: number[], layout: 'nchw' | 'nhwc'): { C: number; H: number; W: number } {
  if (dims.length !== 4) throw new Error(`heatmaps need image-shaped inputs [N, C, H, W] or [N, H, W, C]; this input has shape ${JSON.stringify(dims)}`);
  return layout === 'nchw' ? { C: dims[1]!, H: dims[2]!, W: dims[3]! } : { C: dims[3]!, H: dims[1]!, W: dims[2]! };
}

/** Upscale small maps so that they are visible (28×28 → 224×224). */
export function displayScale(h: number, w: number): number {
  return Math.max(1, Math.floor(224 / Math.max(h, w)));
}

/** One PNG per sample. */
export function heatmapPngs(rel: TensorData, spec: HeatmapSpec): Uint8Array[] {
  const { C, H, W } = imageGeometry(rel.dims, spec.layout);
  const N = rel.dims[0]!;
  const per = C * H * W;
  const out: Uint8Array[] = [];
  for (let i = 0; i < N; i++) {
    const r = (rel.data as Float32Array).subarray(i * per, (i + 1) * per);
    let rgba = relevanceToHeatmap(r, H, W, { colormap: spec.colormap, channels: C, layout: spec.layout === 'nchw' ? 'chw' : 'hwc', maxAbs: spec.maxAbs });
    const px = spec.overlayPixels?.[i];
    if (px) rgba = overlay(rgba, px.data, 0.6);
    out.push(encodePng(rgba, W, H, displayScale(H, W)));
  }
  return out;
}

/** out.png for one sample; out-0.png, out-1.png, … for several. */
export function numberedPaths(path: string, n: number): string[] {
  if (n === 1) return [path];
  const dot = path.lastIndexOf('.');
  const [stem, ext] = dot > path.lastIndexOf('/') ? [path.slice(0, dot), path.slice(dot)] : [path, '.png'];
  return Array.from({ length: n }, (_, i) => `${stem}-${i}${ext}`);
}
