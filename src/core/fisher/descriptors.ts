/**
 * Dense SIFT-like local descriptors as ordinary convolution layers (papers/model-papers.md §2.2.1,
 * §2.8): for image x (grey: the mean over channels)
 *   g_o = relu(cos θ_o · ∂x/∂u + sin θ_o · ∂x/∂v),   θ_o = 2π o / O            (orientation maps)
 * with central differences (one 3×3 Conv, zero padding, then Relu: a rectified-cosine soft binning
 * of the gradient orientation); then for each patch size P with cells of side c = P / cells, the
 * mean of g_o over each cell of the patch at every stride-th position (one grouped Conv whose
 * kernels are the cells' indicator functions / c²). The cells² × O values of one patch are a
 * descriptor, normalised as d / sqrt(‖d‖² + η²) (contrast invariance without blowing up flat
 * patches). Output [N, T, cells²·O], scales concatenated in the order of `patchSizes`, row-major
 * positions within a scale.
 */
import { float32 } from '../onnx/tensor.js';
import type { FisherConfig, Geometry } from './config.js';
import type { FvGraph } from './graph.js';

/** The O oriented derivative kernels [O, 1, 3, 3]: cos θ·Dx + sin θ·Dy, Dx = [−½, 0, ½] along columns. */
export function orientationKernels(O: number): Float32Array {
  const k = new Float32Array(O * 9);
  for (let o = 0; o < O; o++) {
    const t = (2 * Math.PI * o) / O;
    const c = Math.cos(t);
    const s = Math.sin(t);
    k[o * 9 + 3] = -0.5 * c; // (row 1, col 0)
    k[o * 9 + 5] = 0.5 * c; // (row 1, col 2)
    k[o * 9 + 1] = -0.5 * s; // (row 0, col 1)
    k[o * 9 + 7] = 0.5 * s; // (row 2, col 1)
  }
  return k;
}

/** Cell-pooling kernels [O·cells², 1, P, P] for a grouped Conv (group = O): output channel o·cells² + i·cells + j averages cell (i, j). */
export function cellKernels(O: number, cells: number, patch: number): Float32Array {
  const c = patch / cells;
  const per = patch * patch;
  const k = new Float32Array(O * cells * cells * per);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < cells; i++)
      for (let j = 0; j < cells; j++) {
        const base = ((o * cells + i) * cells + j) * per;
        for (let y = i * c; y < (i + 1) * c; y++) for (let x = j * c; x < (j + 1) * c; x++) k[base + y * patch + x] = 1 / (c * c);
      }
  return k;
}

/** Append the descriptor layers to `fg` for image tensor `x` [N, C, H, W]; returns the descriptors [N, T, R]. */
export function addDescriptors(fg: FvGraph, x: string, cfg: FisherConfig, geo: Geometry): string {
  const { b } = fg;
  const O = cfg.orientations;
  const grey = geo.channels === 1 ? x : b.op('ReduceMean', [x], { axes: [1], keepdims: 1 }, 'grey');
  const kernel = fg.param('fv/orientation_kernels', float32([O, 1, 3, 3], orientationKernels(O)));
  const oriented = b.relu(b.op('Conv', [grey, kernel], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'orientations'));
  const R = geo.rawDims;
  const parts = geo.scales.map((s) => {
    const w = fg.param(`fv/cells_${s.patch}`, float32([O * cfg.cells * cfg.cells, 1, s.patch, s.patch], cellKernels(O, cfg.cells, s.patch)));
    const pooled = b.op('Conv', [oriented, w], { kernel_shape: [s.patch, s.patch], strides: [cfg.stride, cfg.stride], group: O }, `cells_${s.patch}`);
    const flat = b.op('Reshape', [pooled, b.ints([0, R, s.rows * s.cols])]);
    return b.op('Transpose', [flat], { perm: [0, 2, 1] });
  });
  const d = parts.length === 1 ? parts[0]! : b.op('Concat', parts, { axis: 1 });
  const norm2 = b.op('ReduceSum', [b.mul(d, d), b.ints([2])], { keepdims: 1 });
  return b.div(d, b.op('Sqrt', [b.add(norm2, b.scalar(cfg.descriptorFloor * cfg.descriptorFloor))]));
}
