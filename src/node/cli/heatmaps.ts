/** Heatmap PNGs for image-shaped relevance ([N, C, H, W] or [N, H, W, C]). */
import { overlay, relevanceToHeatmap, sumChannels } from '../../core/visualize/heatmap.js';
import { type ColormapChoice, type ColourScale, displayPixels, type HeatmapStyle, heatmapFigure } from '../../core/visualize/figure.js';
import { encodePng } from '../visualize/png.js';
import type { TensorData } from '../../core/onnx/tensor.js';

export interface HeatmapSpec {
  colormap: ColormapChoice;
  layout: 'nchw' | 'nhwc';
  /** Default 'side-by-side' (input | heatmap | colour bar). */
  style?: HeatmapStyle;
  /**
   * Pixels 0..255 of each sample (gray or RGB) shown beside or under the heatmap; without them the
   * input tensor itself is shown, min–max scaled. Style 'bare' blends them under the heatmap (the
   * original --overlay tile).
   */
  overlayPixels?: { data: Float32Array; channels: 1 | 3 }[];
  /** The explained input, for side-by-side and overlay when there are no pixels. */
  input?: TensorData;
  /** Normalise every map by this instead of its own largest |value|. */
  maxAbs?: number;
  /** Per-sample title above the heatmap (method, class). */
  titles?: string[];
}

export function imageGeometry(dims: number[], layout: 'nchw' | 'nhwc'): { C: number; H: number; W: number } {
  if (dims.length !== 4) throw new Error(`heatmaps need image-shaped inputs [N, C, H, W] or [N, H, W, C]; this input has shape ${JSON.stringify(dims)}`);
  return layout === 'nchw' ? { C: dims[1]!, H: dims[2]!, W: dims[3]! } : { C: dims[3]!, H: dims[1]!, W: dims[2]! };
}

/** Upscale small maps so that they are visible (28×28 → 224×224). */
export function displayScale(h: number, w: number): number {
  return Math.max(1, Math.floor(224 / Math.max(h, w)));
}

/** One PNG per sample, and the colour scale each was drawn with. */
export function heatmapFigures(rel: TensorData, spec: HeatmapSpec): { png: Uint8Array; scale: ColourScale }[] {
  const { C, H, W } = imageGeometry(rel.dims, spec.layout);
  const N = rel.dims[0]!;
  const per = C * H * W;
  const style = spec.style ?? 'side-by-side';
  const layout = spec.layout === 'nchw' ? 'chw' : 'hwc';
  // 'auto' is decided once for the whole batch, so that one method's maps share one kind of colour map.
  let colormap = spec.colormap;
  if (colormap === 'auto') {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < N; i++) {
      const summed = sumChannels((rel.data as Float32Array).subarray(i * per, (i + 1) * per), H, W, C, layout);
      for (const v of summed) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    colormap = lo >= 0 && hi > 0 ? 'viridis' : 'bwr';
  }
  const out: { png: Uint8Array; scale: ColourScale }[] = [];
  for (let i = 0; i < N; i++) {
    const r = (rel.data as Float32Array).subarray(i * per, (i + 1) * per);
    const px = spec.overlayPixels?.[i];
    if (style === 'bare' && px) {
      // The original --overlay tile: a 60% blend over the image, no colour bar.
      const fig = heatmapFigure(r, H, W, { style: 'bare', colormap, channels: C, layout, maxAbs: spec.maxAbs });
      const norm = Math.max(-fig.colourScale.lo, fig.colourScale.hi);
      const heat = relevanceToHeatmap(r, H, W, { colormap: fig.colourScale.colormap, channels: C, layout, maxAbs: norm });
      out.push({ png: encodePng(overlay(heat, px.data, 0.6), W, H, displayScale(H, W)), scale: fig.colourScale });
      continue;
    }
    let image: ArrayLike<number> | undefined = px?.data;
    if (!image && style !== 'bare') {
      if (spec.input?.dtype !== 'float32') throw new Error(`heatmap style ${style} needs the input image`);
      image = displayPixels((spec.input.data as Float32Array).subarray(i * per, (i + 1) * per), H, W, C, layout);
    }
    const fig = heatmapFigure(r, H, W, {
      style,
      colormap,
      channels: C,
      layout,
      maxAbs: spec.maxAbs,
      image,
      scale: displayScale(H, W),
      title: spec.titles?.[i],
    });
    out.push({ png: encodePng(fig.rgba, fig.width, fig.height), scale: fig.colourScale });
  }
  return out;
}

/** One PNG per sample. */
export function heatmapPngs(rel: TensorData, spec: HeatmapSpec): Uint8Array[] {
  return heatmapFigures(rel, spec).map((f) => f.png);
}

/** out.png for one sample; out-0.png, out-1.png, … for several. */
export function numberedPaths(path: string, n: number): string[] {
  if (n === 1) return [path];
  const dot = path.lastIndexOf('.');
  const [stem, ext] = dot > path.lastIndexOf('/') ? [path.slice(0, dot), path.slice(dot)] : [path, '.png'];
  return Array.from({ length: n }, (_, i) => `${stem}-${i}${ext}`);
}
