/**
 * The settings of a Fisher-vector (FV) classifier and the geometry they imply: where every local
 * descriptor sits in the image and which pixels its patch covers. Defaults follow the small-scale
 * plan of Lapuschkin et al. (arXiv 1512.00172) as digested in papers/model-papers.md §2.8:
 * 4×4 cells × 8 orientations = 128-D descriptors on 8×8 and 12×12 patches with stride 4, PCA to
 * 32-D, a diagonal GMM with 16 components, FV of means and variances, power + L2 normalisation,
 * one-vs-rest linear SVM.
 */

export interface FisherConfig {
  /** Square patch sides in pixels; each must be a multiple of `cells`. */
  patchSizes: number[];
  /** Step between neighbouring descriptors, pixels. */
  stride: number;
  /** Cells per patch side (descriptor = cells² × orientations values). */
  cells: number;
  /** Orientation bins over 0..2π. */
  orientations: number;
  /** η of the descriptor normalisation d / sqrt(‖d‖² + η²): weak patches stay weak. */
  descriptorFloor: number;
  /** PCA dimensions kept. */
  pcaDims: number;
  /** GMM components K. */
  components: number;
  /** Power normalisation exponent ρ (0.5: signed square root). */
  power: number;
  /**
   * Spatial pyramid: for each g, a g×g grid of regions, each with its own FV over the descriptors
   * whose patch centre falls in it; [1] is one global FV (Chatfield et al. 2011 use 1×1, 2×2 and 3×1).
   */
  pyramid: number[];
}

export const DEFAULT_CONFIG: FisherConfig = {
  patchSizes: [8, 12],
  stride: 4,
  cells: 4,
  orientations: 8,
  descriptorFloor: 0.1,
  pcaDims: 32,
  components: 16,
  power: 0.5,
  pyramid: [1],
};

/** One descriptor scale on an H×W image: its patch side, cell side and grid of positions. */
export interface Scale {
  patch: number;
  cell: number;
  rows: number;
  cols: number;
  /** Index of this scale's first descriptor in the concatenated list. */
  offset: number;
}

export interface Geometry {
  height: number;
  width: number;
  channels: number;
  stride: number;
  scales: Scale[];
  /** Descriptors per image, all scales. */
  count: number;
  /** Raw descriptor length: cells² × orientations. */
  rawDims: number;
  /** Pyramid regions (Σ g² over the pyramid's grids). */
  regions: number;
  /** FV length 2·K·D per region. */
  regionDims: number;
  /** Full FV length 2·K·D·regions. */
  fvDims: number;
}

export function checkConfig(c: FisherConfig): void {
  const posInt = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be an integer ≥ 1, got ${v}`);
  };
  if (c.patchSizes.length === 0) throw new Error('at least one patch size is needed');
  for (const p of c.patchSizes) {
    posInt(p, 'patch size');
    if (p % c.cells !== 0) throw new Error(`patch size ${p} is not a multiple of the ${c.cells} cells per side`);
  }
  if (new Set(c.patchSizes).size !== c.patchSizes.length) throw new Error(`patch sizes repeat: ${c.patchSizes.join(',')}`);
  posInt(c.stride, 'stride');
  posInt(c.cells, 'cells per side');
  posInt(c.orientations, 'orientations');
  posInt(c.pcaDims, 'PCA dimensions');
  posInt(c.components, 'GMM components');
  if (c.pcaDims > c.cells * c.cells * c.orientations)
    throw new Error(`PCA dimensions ${c.pcaDims} exceed the descriptor length ${c.cells * c.cells * c.orientations}`);
  if (!(c.descriptorFloor > 0)) throw new Error(`descriptor floor must be > 0, got ${c.descriptorFloor}`);
  if (!(c.power > 0 && c.power <= 1)) throw new Error(`power exponent must be in (0, 1], got ${c.power}`);
  if (c.pyramid.length === 0) throw new Error('the spatial pyramid needs at least one grid (1: the whole image)');
  for (const g of c.pyramid) posInt(g, 'pyramid grid size');
}

export function geometry(c: FisherConfig, channels: number, height: number, width: number): Geometry {
  checkConfig(c);
  const scales: Scale[] = [];
  let offset = 0;
  for (const patch of c.patchSizes) {
    if (patch > height || patch > width) throw new Error(`patch size ${patch} does not fit a ${height}×${width} image`);
    const rows = Math.floor((height - patch) / c.stride) + 1;
    const cols = Math.floor((width - patch) / c.stride) + 1;
    scales.push({ patch, cell: patch / c.cells, rows, cols, offset });
    offset += rows * cols;
  }
  return {
    height,
    width,
    channels,
    stride: c.stride,
    scales,
    count: offset,
    rawDims: c.cells * c.cells * c.orientations,
    regions: c.pyramid.reduce((a, g) => a + g * g, 0),
    regionDims: 2 * c.components * c.pcaDims,
    fvDims: c.pyramid.reduce((a, g) => a + g * g, 0) * 2 * c.components * c.pcaDims,
  };
}

/**
 * Pyramid membership [regions, T] (row-major, 0/1): descriptor t belongs to the region of each
 * grid that contains its patch centre (cells of a g×g grid: rows ⌊g·y/H⌋, columns ⌊g·x/W⌋).
 */
export function regionMask(c: FisherConfig, geo: Geometry): Float32Array {
  const m = new Float32Array(geo.regions * geo.count);
  let base = 0;
  for (const g of c.pyramid) {
    for (const s of geo.scales)
      for (let r = 0; r < s.rows; r++)
        for (let q = 0; q < s.cols; q++) {
          const cy = r * geo.stride + s.patch / 2;
          const cx = q * geo.stride + s.patch / 2;
          const gy = Math.min(g - 1, Math.floor((g * cy) / geo.height));
          const gx = Math.min(g - 1, Math.floor((g * cx) / geo.width));
          m[(base + gy * g + gx) * geo.count + s.offset + r * s.cols + q] = 1;
        }
    base += g * g;
  }
  return m;
}
