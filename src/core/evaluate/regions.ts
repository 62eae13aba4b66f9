/**
 * Regions of the region-perturbation protocol (Samek et al., arXiv 1509.06321, §4.3 of the
 * papers digest): the image is tiled into non-overlapping rh×rw blocks, each block is scored by
 * the sum of the channel-pooled heatmap inside it, and blocks are perturbed in that order.
 */

/** Geometry of one sample of an image-shaped input. */
export interface ImageGeometry {
  C: number;
  H: number;
  W: number;
  layout: 'nchw' | 'nhwc';
}

export interface RegionGrid {
  rh: number;
  rw: number;
  rows: number;
  cols: number;
  count: number;
  /** Per region (row-major over the grid): flat offsets inside one sample, all channels. */
  indices: Int32Array[];
  /** Per pixel (y * W + x): its region. */
  regionOf: Int32Array;
}

/** How a multi-channel relevance map becomes one value per pixel. */
export type Pooling = 'sum' | 'abs' | 'l2' | 'max-abs';
export const POOLINGS: readonly Pooling[] = ['sum', 'abs', 'l2', 'max-abs'];

/** Geometry from the dims of a batch: [N, C, H, W], [N, H, W, C] or [N, H, W] (one channel). */
export function imageGeometry(dims: readonly number[], layout?: 'nchw' | 'nhwc'): ImageGeometry {
  if (dims.length === 3) return { C: 1, H: dims[1]!, W: dims[2]!, layout: 'nchw' };
  if (dims.length !== 4) {
    throw new Error(`region perturbation needs image-shaped inputs ([N, C, H, W], [N, H, W, C] or [N, H, W]); the data has shape ${JSON.stringify(dims)}`);
  }
  const l = layout ?? (dims[1] === 1 || dims[1] === 3 ? 'nchw' : dims[3] === 1 || dims[3] === 3 ? 'nhwc' : 'nchw');
  return l === 'nchw' ? { C: dims[1]!, H: dims[2]!, W: dims[3]!, layout: l } : { C: dims[3]!, H: dims[1]!, W: dims[2]!, layout: l };
}

/** Parse "4" or "4x2" (height x width). */
export function parseRegionSize(v: string | number | readonly number[]): [number, number] {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[1] ?? v[0])];
  if (typeof v === 'number') return [v, v];
  const m = /^\s*(\d+)\s*(?:[x,]\s*(\d+))?\s*$/.exec(String(v));
  if (!m) throw new Error(`region size needs a positive integer or HxW (e.g. 4 or 4x2), got "${String(v)}"`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

/** Tile an H×W image into non-overlapping rh×rw blocks; the size must divide the image exactly. */
export function regionGrid(g: ImageGeometry, size: [number, number]): RegionGrid {
  const [rh, rw] = size;
  if (!Number.isInteger(rh) || !Number.isInteger(rw) || rh < 1 || rw < 1) throw new Error(`region size must be positive integers, got ${rh}x${rw}`);
  if (rh > g.H || rw > g.W) throw new Error(`region size ${rh}x${rw} exceeds the image (${g.H}x${g.W})`);
  if (g.H % rh !== 0 || g.W % rw !== 0) {
    const div = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
    const common = g.H === g.W ? div(g.H).join(', ') : `height: ${div(g.H).join(', ')}; width: ${div(g.W).join(', ')}`;
    throw new Error(`region size ${rh}x${rw} does not divide the ${g.H}x${g.W} image into non-overlapping regions (sizes that do: ${common})`);
  }
  const rows = g.H / rh;
  const cols = g.W / rw;
  const indices: Int32Array[] = [];
  const regionOf = new Int32Array(g.H * g.W);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const idx = new Int32Array(rh * rw * g.C);
      let k = 0;
      for (let ch = 0; ch < g.C; ch++) {
        for (let y = r * rh; y < (r + 1) * rh; y++) {
          for (let x = c * rw; x < (c + 1) * rw; x++) {
            idx[k++] = g.layout === 'nchw' ? (ch * g.H + y) * g.W + x : (y * g.W + x) * g.C + ch;
            regionOf[y * g.W + x] = r * cols + c;
          }
        }
      }
      indices.push(idx);
    }
  }
  return { rh, rw, rows, cols, count: rows * cols, indices, regionOf };
}

/** One sample's relevance ([C, H, W] or [H, W, C]) → one value per pixel (H×W, row-major). */
export function poolChannels(rel: ArrayLike<number>, g: ImageGeometry, pooling: Pooling): Float64Array {
  const n = g.H * g.W;
  if (rel.length !== n * g.C) throw new Error(`relevance has ${rel.length} values, expected ${g.C}x${g.H}x${g.W}`);
  const out = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    let acc = 0;
    for (let c = 0; c < g.C; c++) {
      const v = rel[g.layout === 'nchw' ? c * n + p : p * g.C + c]!;
      if (pooling === 'sum') acc += v;
      else if (pooling === 'abs') acc += Math.abs(v);
      else if (pooling === 'l2') acc += v * v;
      else acc = Math.max(acc, Math.abs(v));
    }
    out[p] = pooling === 'l2' ? Math.sqrt(acc) : acc;
  }
  return out;
}

/** Sum of the pooled heatmap inside each region. */
export function regionScores(map: ArrayLike<number>, grid: RegionGrid): Float64Array {
  const s = new Float64Array(grid.count);
  for (let p = 0; p < map.length; p++) s[grid.regionOf[p]!]! += map[p]!;
  return s;
}

/**
 * Most-relevant-first order of the regions: score descending. Ties (e.g. regions of exactly zero
 * relevance) are broken by `tieKeys` (ascending; a seeded random permutation makes the tie order
 * random but repeatable), or by region index when none are given. The least-relevant-first
 * order is this order reversed.
 */
export function morfOrder(scores: ArrayLike<number>, tieKeys?: ArrayLike<number>): Int32Array {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) if (!Number.isFinite(scores[i]!)) throw new Error(`region ${i} has a non-finite relevance score (${scores[i]})`);
  idx.sort((a, b) => scores[b]! - scores[a]! || (tieKeys ? tieKeys[a]! - tieKeys[b]! : 0) || a - b);
  return Int32Array.from(idx);
}

export function reversed(order: Int32Array): Int32Array {
  return Int32Array.from(order).reverse();
}
