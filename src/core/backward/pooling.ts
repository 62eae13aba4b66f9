/**
 * Adjoints of pooling layers. Max pooling routes the gradient (or relevance) to the maximum of
 * each window; where several inputs tie for the maximum, the first in row-major order gets it all
 * (ONNX Runtime's MaxPool indices, PyTorch's convention) — in explanations and training alike.
 * Average pooling is a linear map with a fixed adjoint.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM, type GraphNode } from '../onnx/model.js';
import { float32, numel, type TensorData } from '../onnx/tensor.js';
import { positiveMask } from './activation.js';
import { convAdjoint, resolvePads, type ConvGeometry } from './conv.js';

/**
 * Relevance of a MaxPool's input: R goes to the winning position of each window. Windows that
 * cannot overlap (stride ≥ kernel) use MaxUnpool; overlapping ones scatter-add.
 */
export function maxPoolBackward(g: GraphBuilder, x: string, node: GraphNode, R: string): string {
  const indices = node.outputs[1]!;
  const kernel = node.attrs.kernel_shape as number[];
  const strides = (node.attrs.strides as number[] | undefined) ?? kernel.map(() => 1);
  if (poolsWithoutOverlap(node)) {
    return g.op('MaxUnpool', [R, indices, g.op('Shape', [x])], { kernel_shape: kernel, strides }, 'maxunpool');
  }
  const flatIdx = g.op('Reshape', [indices, g.ints([-1])]);
  const flatR = g.op('Reshape', [R, g.ints([-1])]);
  const size = g.op('Reshape', [g.op('Size', [x]), g.ints([1])]);
  const zeros = g.op('ConstantOfShape', [size], { value: float32([1], [0]) });
  const scattered = g.op('ScatterElements', [zeros, flatIdx, flatR], { axis: 0, reduction: 'add' }, 'maxpool_scatter');
  return g.op('Reshape', [scattered, g.op('Shape', [x])]);
}

/**
 * ReLU then max pool: max and ReLU commute, so ReLU'(y) at a window's winner is [pooled > 0] and
 * the ReLU's mask applies to the pool's (smaller) output gradient before unpooling.
 */
export function reluMaskAtPooled(g: GraphBuilder, dPooled: string, pooled: string): string {
  return g.mul(dPooled, positiveMask(g, pooled));
}

/** Windows never overlap (stride ≥ window span): every input has at most one window. */
export function poolsWithoutOverlap(node: GraphNode): boolean {
  const kernel = node.attrs.kernel_shape as number[];
  const strides = (node.attrs.strides as number[] | undefined) ?? kernel.map(() => 1);
  const dil = (node.attrs.dilations as number[] | undefined) ?? kernel.map(() => 1);
  return kernel.every((k, d) => strides[d]! >= (k - 1) * dil[d]! + 1);
}

/** Geometry of an AveragePool as a depthwise conv with a kernel of ones (ceil_mode windows as end padding). */
export function avgPoolGeometry(n: GraphNode, inShape: number[], outShape: number[]): ConvGeometry {
  const kernel = n.attrs.kernel_shape as number[];
  const r = kernel.length;
  const strides = (n.attrs.strides as number[] | undefined) ?? kernel.map(() => 1);
  const dilations = (n.attrs.dilations as number[] | undefined) ?? kernel.map(() => 1);
  const pads = resolvePads(n, inShape.slice(2), kernel, strides, dilations);
  const inSpatial = inShape.slice(2);
  const outSpatial = outShape.slice(2);
  // Extend end pads so that a floor-mode conv yields as many windows as the (ceil-mode) pool.
  for (let d = 0; d < r; d++) {
    const span = (kernel[d]! - 1) * dilations[d]! + 1;
    const need = (outSpatial[d]! - 1) * strides[d]! + span - inSpatial[d]! - pads[d]!;
    if (need > pads[r + d]!) pads[r + d] = need;
  }
  return { kernel, strides, dilations, pads, group: inShape[1]!, inSpatial, outSpatial };
}

/**
 * Adjoint of an AveragePool: Fᵀ(s ⊙ 1/K) with K the divisor ONNX Runtime used for each window,
 * recovered exactly from two batch-1 constants: K_j = count_j / AvgPool(1)_j, where count_j is the
 * number of real (non-padding) inputs in window j.
 */
export function avgPoolAdjoint(g: GraphBuilder, n: GraphNode, s: string, geo: ConvGeometry, inShape1: number[], name: string): string {
  const A = avgPoolMatrix(n, geo);
  if (A) {
    // Small maps: the pool is a fixed linear map of each channel's positions, so its adjoint is
    // one product s [N·C, P_out] × A [P_out, P_in]: faster in ONNX Runtime than the depthwise
    // transposed convolution, and no padding afterwards.
    const flat = g.op('MatMul', [g.op('Reshape', [s, g.ints([-1, A.dims[0]!])]), g.initializer(`${name}_adjoint`, A)]);
    return g.op('Reshape', [flat, g.ints([-1, ...inShape1.slice(1)])]);
  }
  const C = inShape1[1]!;
  const ones1 = g.initializer(`${name}/ones`, float32(inShape1, new Float32Array(numel(inShape1)).fill(1)));
  const kdims = [C, 1, ...geo.kernel];
  const kernelOnes = g.initializer(`${name}/kernel_ones`, float32(kdims, new Float32Array(numel(kdims)).fill(1)));
  const count = g.op('Conv', [ones1, kernelOnes], { kernel_shape: geo.kernel, strides: geo.strides, dilations: geo.dilations, pads: geo.pads, group: C });
  const poolOnes = g.op('AveragePool', [ones1], { ...n.attrs });
  const invK = g.div(poolOnes, count);
  const weighted = g.mul(s, invK);
  return convAdjoint(g, weighted, { dtype: 'float32', dims: kdims, data: new Float32Array(0) }, geo, () => kernelOnes);
}

/**
 * Adjoint of a mean over `axes` (GlobalAveragePool, ReduceMean): dY / K broadcast back over the
 * averaged axes (restored first where they were dropped). K, the number of averaged elements, is
 * a number where shapes are static and is computed in the graph otherwise.
 */
export function meanAdjoint(g: GraphBuilder, dY: string, x: string, axes: number[], keepdims: boolean, K: number | null): string {
  const kept = keepdims ? dY : g.op('Unsqueeze', [dY, g.ints(axes)]);
  const count = K ?? g.op('ReduceSum', [g.op('ConstantOfShape', [g.op('Shape', [x])], { value: float32([1], [1]) }), g.ints(axes)], { keepdims: 1 });
  return g.op('Expand', [g.div(kept, typeof count === 'number' ? g.scalar(count) : count), g.op('Shape', [x])]);
}

/**
 * Adjoint of GlobalMaxPool where the spatial size is not known when the graph is built (text
 * models of any length): the first maximum over the flattened positions (ArgMax) gets dY — the
 * same tie convention as the MaxPool indices above.
 */
export function globalMaxPoolAdjoint(g: GraphBuilder, dY: string, x: string): string {
  const xf = g.op('Reshape', [x, g.ints([0, 0, -1])]);
  const am = g.op('ArgMax', [xf], { axis: 2, keepdims: 1 });
  const S = g.op('Gather', [g.op('Shape', [xf]), g.ints([2])], { axis: 0 });
  const range = g.op('Range', [
    g.op('Cast', [g.scalar(0)], { to: ELEM.INT64 }),
    g.op('Squeeze', [S, g.ints([0])]),
    g.op('Cast', [g.scalar(1)], { to: ELEM.INT64 }),
  ]);
  const mask = g.op('Cast', [g.op('Equal', [range, am])], { to: ELEM.FLOAT });
  return g.op('Reshape', [g.mul(mask, g.op('Reshape', [dY, g.ints([0, 0, 1])])), g.op('Shape', [x])]);
}

/**
 * The pool as a matrix A [P_out, P_in] (A[q, p] = 1/|window q| for the real inputs p of window q),
 * where that is exact and small: no ceil mode, no dilation, and padding either absent or not
 * counted in the divisor. Null otherwise.
 */
function avgPoolMatrix(n: GraphNode, geo: ConvGeometry): TensorData | null {
  const { kernel: k, strides: s, pads, dilations, inSpatial, outSpatial } = geo;
  const r = k.length;
  const countsPad = ((n.attrs.count_include_pad as number | undefined) ?? 0) !== 0;
  if ((n.attrs.ceil_mode as number | undefined) || dilations.some((d) => d !== 1) || (countsPad && pads.some((q) => q !== 0))) return null;
  const Pin = numel(inSpatial);
  const Pout = numel(outSpatial);
  if (Pin * Pout > 2 ** 18) return null;
  const A = float32([Pout, Pin]);
  const a = A.data as Float32Array;
  for (let q = 0; q < Pout; q++) {
    const qPos = outSpatial.map((_, i) => Math.floor(q / numel(outSpatial.slice(i + 1))) % outSpatial[i]!);
    const window = qPos.map((v, i) => [Math.max(v * s[i]! - pads[i]!, 0), Math.min(v * s[i]! - pads[i]! + k[i]!, inSpatial[i]!)] as const);
    const cells: number[] = [];
    const walk = (i: number, flat: number) => {
      if (i === r) cells.push(flat);
      else for (let v = window[i]![0]; v < window[i]![1]; v++) walk(i + 1, flat * inSpatial[i]! + v);
    };
    walk(0, 0);
    for (const cell of cells) a[q * Pin + cell] = 1 / cells.length;
  }
  return A;
}
