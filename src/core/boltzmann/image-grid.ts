/**
 * Boltzmann-machine pictures as grids of tiles: samples (values in [0, 1], 1 = white) and
 * first-layer filters (the weights into one hidden unit, W⁽⁰⁾[:, j], shown with the project's
 * heatmap convention: red positive, blue negative, each filter scaled by its own largest |w|).
 */
import { heatmapGrid, imageToRgba, type RgbaImage, relevanceToHeatmap } from '../visualize/heatmap.js';

export interface TileShape {
  height: number;
  width: number;
}

/** The tile shape for n visible units: `shape` if given (it must multiply to n), else a square. */
export function tileShape(n: number, shape?: TileShape): TileShape {
  if (shape) {
    if (shape.height * shape.width !== n)
      throw new Error(`--shape ${shape.height}x${shape.width} has ${shape.height * shape.width} pixels, the model ${n} visible units`);
    return shape;
  }
  const side = Math.round(Math.sqrt(n));
  if (side * side !== n) throw new Error(`${n} visible units are not a square image; pass --shape HxW`);
  return { height: side, width: side };
}

/** Rows of `values` [count, h·w] in [0, 1] as gray tiles, laid out `cols` per row with gray gaps. */
export function valueGrid(values: ArrayLike<number>, count: number, shape: TileShape, cols: number, gap = 1): RgbaImage {
  const n = shape.height * shape.width;
  if (values.length !== count * n) throw new Error(`valueGrid: ${values.length} values are not ${count} tiles of ${n}`);
  const tiles = Array.from({ length: count }, (_, k) => {
    const px = new Float32Array(n);
    for (let i = 0; i < n; i++) px[i] = 255 * Math.min(1, Math.max(0, values[k * n + i] as number));
    return { rgba: imageToRgba(px, shape.height, shape.width), width: shape.width, height: shape.height };
  });
  return heatmapGrid(tiles, { cols, gap, background: [128, 128, 128] });
}

/**
 * The `count` hidden units of the first layer with the largest weight norms ‖W[:, j]‖ (descending;
 * ties by index), each as a tile of its incoming weights. W is [nv, nh] row-major.
 */
export function filterGrid(
  W: ArrayLike<number>,
  nv: number,
  nh: number,
  count: number,
  shape: TileShape,
  cols: number,
  gap = 1,
): { image: RgbaImage; units: number[] } {
  if (W.length !== nv * nh) throw new Error(`filterGrid: ${W.length} weights are not ${nv}×${nh}`);
  const norms = Array.from({ length: nh }, (_, j) => {
    let s = 0;
    for (let i = 0; i < nv; i++) s += (W[i * nh + j] as number) ** 2;
    return s;
  });
  const units = Array.from({ length: nh }, (_, j) => j)
    .sort((x, y) => norms[y]! - norms[x]! || x - y)
    .slice(0, Math.min(count, nh));
  const tiles = units.map((j) => {
    const w = Float32Array.from({ length: nv }, (_, i) => W[i * nh + j] as number);
    return { rgba: relevanceToHeatmap(w, shape.height, shape.width), width: shape.width, height: shape.height };
  });
  return { image: heatmapGrid(tiles, { cols, gap, background: [128, 128, 128] }), units };
}

/**
 * Reorder snapshot-major tiles [snapshots, chains, n] (as gibbsSamples returns them) chain-major,
 * [chains, snapshots, n], so that a grid with `snapshots` columns shows one chain per row.
 */
export function chainMajor(values: Float32Array, chains: number, snapshots: number, n: number): Float32Array {
  if (values.length !== chains * snapshots * n) throw new Error(`chainMajor: ${values.length} values are not ${snapshots} × ${chains} × ${n}`);
  const out = new Float32Array(values.length);
  for (let c = 0; c < chains; c++)
    for (let t = 0; t < snapshots; t++) out.set(values.subarray((t * chains + c) * n, (t * chains + c + 1) * n), (c * snapshots + t) * n);
  return out;
}
