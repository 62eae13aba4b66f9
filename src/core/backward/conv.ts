/**
 * The adjoint of a convolution with respect to its input (the transposed convolution), shared by
 * the explainer's rules and the training-step builder. A kernel is given by name (a constant the
 * caller precomputed, or a graph tensor such as a trained weight); flipped kernels for the
 * stride-1 fast path come from `weight('W_flip', …)`, which either precomputes them (`flipSwap`)
 * or builds them in the graph (`flippedKernelInGraph`).
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { GraphNode } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';

export interface ConvGeometry {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** [begin…, end…] as in ONNX. */
  pads: number[];
  group: number;
  inSpatial: number[];
  outSpatial: number[];
}

/**
 * Transposed convolution that lands exactly on the input's spatial size. Stride-1 layers use a
 * Conv with the kernel flipped and its channel axes swapped (ONNX Runtime's Conv is faster than its
 * ConvTranspose); others use ConvTranspose with end pads (or a trailing Pad) fixed up so the
 * output size matches.
 */
export function convAdjoint(
  g: GraphBuilder,
  s: string,
  W: TensorData,
  geo: ConvGeometry,
  weight: (variant: string, make: () => TensorData) => string,
  opts: {
    flip?: boolean;
    conv?: (s: string, w: string, attrs: { kernel_shape: number[]; strides: number[]; dilations: number[]; pads: number[]; group: number }) => string;
  } = {},
): string {
  const { kernel, strides, dilations, pads, group, inSpatial, outSpatial } = geo;
  const r = kernel.length;
  const span = kernel.map((k, d) => (k - 1) * dilations[d]!);
  const flipPads = [...kernel.map((_, d) => span[d]! - pads[d]!), ...kernel.map((_, d) => span[d]! - pads[r + d]!)];
  if ((opts.flip ?? true) && strides.every((v) => v === 1) && flipPads.every((p) => p >= 0)) {
    const wf = weight('W_flip', () => flipSwap(W, group));
    const attrs = { kernel_shape: kernel, strides, dilations, pads: flipPads, group };
    return opts.conv ? opts.conv(s, wf, attrs) : g.op('Conv', [s, wf], attrs, 'conv_adj');
  }
  const endPads: number[] = [];
  const extra: number[] = [];
  for (let d = 0; d < r; d++) {
    const full = (outSpatial[d]! - 1) * strides[d]! + span[d]! + 1 - pads[d]!;
    const pe = full - inSpatial[d]!;
    endPads.push(Math.max(pe, 0));
    extra.push(Math.max(-pe, 0));
  }
  const w = weight('W', () => W);
  let out = g.op('ConvTranspose', [s, w], { kernel_shape: kernel, strides, dilations, pads: [...pads.slice(0, r), ...endPads], group }, 'conv_adj');
  if (extra.some((e) => e > 0)) {
    // Input positions no window reached get zero.
    out = g.op('Pad', [out, g.ints([0, 0, ...extra.map(() => 0), 0, 0, ...extra])]);
  }
  return out;
}

/** Kernel of the adjoint as a forward conv: W'[g·Cg + c, o', k̃] = W[g·Og + o', c, k]. */
export function flipSwap(W: TensorData, group: number): TensorData {
  const [O, Cg, ...ks] = W.dims as number[];
  const K = ks.reduce((a, b) => a * b, 1);
  const Og = O! / group;
  const src = W.data as Float32Array;
  const dst = new Float32Array(src.length);
  for (let gi = 0; gi < group; gi++)
    for (let o = 0; o < Og; o++)
      for (let c = 0; c < Cg!; c++)
        for (let k = 0; k < K; k++) {
          const from = ((gi * Og + o) * Cg! + c) * K + k;
          const to = ((gi * Cg! + c) * Og + o) * K + (K - 1 - k);
          dst[to] = src[from]!;
        }
  return { dtype: 'float32', dims: [Cg! * group, Og, ...ks], data: dst };
}

/** Explicit pads for a Conv/pool node, resolving auto_pad from the static spatial shape. */
export function resolvePads(n: GraphNode, inSpatial: number[], kernel: number[], strides: number[], dilations: number[]): number[] {
  const r = kernel.length;
  const autoPad = (n.attrs.auto_pad as string | undefined) ?? 'NOTSET';
  if (autoPad === 'NOTSET') return [...((n.attrs.pads as number[] | undefined) ?? new Array(2 * r).fill(0))];
  if (autoPad === 'VALID') return new Array(2 * r).fill(0);
  const pads = new Array(2 * r).fill(0);
  for (let d = 0; d < r; d++) {
    const out = Math.ceil(inSpatial[d]! / strides[d]!);
    const total = Math.max((out - 1) * strides[d]! + (kernel[d]! - 1) * dilations[d]! + 1 - inSpatial[d]!, 0);
    const small = Math.floor(total / 2);
    const big = total - small;
    pads[d] = autoPad === 'SAME_UPPER' ? small : big;
    pads[r + d] = autoPad === 'SAME_UPPER' ? big : small;
  }
  return pads;
}

/**
 * The flipped, channel-swapped kernel of `flipSwap` built inside the graph, for kernels that are
 * graph tensors (weights that change every training step): per group, swap the in/out channel
 * axes, then reverse every spatial axis.
 */
export function flippedKernelInGraph(g: GraphBuilder, W: string, wDims: number[], group: number): string {
  const [O, Cg, ...ks] = wDims as [number, number, ...number[]];
  const grouped = g.op('Reshape', [W, g.ints([group, O / group, Cg, ...ks])]);
  const swapped = g.op('Transpose', [grouped], { perm: [0, 2, 1, ...ks.map((_, i) => i + 3)] });
  const merged = g.op('Reshape', [swapped, g.ints([group * Cg, O / group, ...ks])]);
  const axes = ks.map((_, i) => i + 2);
  return g.op('Slice', [merged, g.ints(axes.map(() => -1)), g.ints(axes.map(() => -(2 ** 62))), g.ints(axes), g.ints(axes.map(() => -1))]);
}

/** Attributes of a Conv node as a geometry (pads resolved from auto_pad with the static input size). */
export function convGeometryOf(n: GraphNode, W: TensorData, inShape: number[], outShape: number[]): ConvGeometry {
  const kernel = (n.attrs.kernel_shape as number[] | undefined) ?? W.dims.slice(2);
  const strides = (n.attrs.strides as number[] | undefined) ?? kernel.map(() => 1);
  const dilations = (n.attrs.dilations as number[] | undefined) ?? kernel.map(() => 1);
  const pads = resolvePads(n, inShape.slice(2), kernel, strides, dilations);
  const group = (n.attrs.group as number | undefined) ?? 1;
  return { kernel, strides, dilations, pads, group, inSpatial: inShape.slice(2), outSpatial: outShape.slice(2) };
}
