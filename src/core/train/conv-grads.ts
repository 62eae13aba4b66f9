/**
 * Gradients of convolutions for training steps: the input gradient (a transposed convolution, or
 * a blocked convolution of the blocked output gradient) and the weight gradient as matrix
 * products over the input's patches, in the layouts that run fastest in ONNX Runtime.
 */
import { convAdjoint, flippedKernelInGraph, type ConvGeometry } from '../backward/conv.js';
import type { GraphBuilder } from '../onnx/builder.js';
import { float32, int64, numel } from '../onnx/tensor.js';
import { prod, type Ctx, type Shape } from './context.js';
import { nchwcAdjointWeights, nchwcConvBlocked, nchwcOp, type Conv2dAttrs } from './nchwc.js';

/**
 * A stride-1 convolution's input gradient as a blocked convolution of the (blocked, unless O < B)
 * output gradient. Wflip is the flipped kernel convAdjoint built; with whole blocks on both sides
 * the blocked flipped kernel comes straight from W instead (the other is then pruned).
 */
export function adjointConv(g: GraphBuilder, dYin: string, W: string, Wflip: string, O: number, C: number, a: Conv2dAttrs, B: number): string {
  if (O % B || C % B) return nchwcConvBlocked(g, dYin, Wflip, null, O, C, a, B);
  const [kh, kw] = a.kernel_shape as [number, number];
  return nchwcConvBlocked(g, dYin, nchwcAdjointWeights(g, W, O, C, kh, kw, B), null, O, C, a, B, { preblocked: true });
}

/**
 * Hand a convolution's input gradient to its input: in the blocked layout when it was computed so
 * and the input has a blocked twin (a blocked conv → relu → maxpool's output, which sums it there;
 * the NCHW copy is then never read and is pruned), else in NCHW.
 */
export function giveConvInputGrad(c: Ctx, x: string, dx: string, blockedDx: string | undefined, give: (t: string, d: string) => void) {
  if (blockedDx && c.blocked.has(x)) (c.blockedGrads.get(x) ?? c.blockedGrads.set(x, []).get(x)!).push(blockedDx);
  else give(x, dx);
}

/** A gradient at a convolution's output, in the layouts its weight gradient reads (built on demand). */
export interface ConvOutputGrad {
  /** [N, O, …spatial]. */
  nchw(): string;
  /** [O, N·P]: output channels as rows. */
  byChannel(): string;
  /** The blocked original, [N, O/B, P, B] in memory, where there is one. */
  blocked?: { t: string; B: number; positions: number };
}

export function plainGrad(g: GraphBuilder, dY: string, O: number, r: number): ConvOutputGrad {
  let byChannel: string | undefined;
  return {
    nchw: () => dY,
    byChannel: () =>
      (byChannel ??= g.op('Reshape', [g.op('Transpose', [dY], { perm: [1, 0, ...Array.from({ length: r }, (_, i) => i + 2)] }), g.ints([O, -1])])),
  };
}

export function blockedGrad(g: GraphBuilder, dYb: string, O: number, B: number, positions: number): ConvOutputGrad {
  // Transposing the blocked layout directly (its block axis is innermost) is several times slower
  // than reordering to NCHW first.
  let plain: ConvOutputGrad | undefined;
  const get = () => (plain ??= plainGrad(g, nchwcOp(g, 'ReorderOutput', [dYb], { channels: O }), O, 2));
  return { nchw: () => get().nchw(), byChannel: () => get().byChannel(), blocked: { t: dYb, B, positions } };
}

/** dL/dx of a convolution: the transposed convolution with the current (input) weights. */
export function convInputGrad(
  g: GraphBuilder,
  flip: boolean,
  dY: string,
  W: string,
  wDims: number[],
  attrs: Conv2dAttrs,
  inSpatial: number[],
  outSpatial: number[],
  conv?: (s: string, w: string, a: Conv2dAttrs) => string,
): string {
  const geo: ConvGeometry = {
    kernel: attrs.kernel_shape,
    strides: attrs.strides,
    dilations: attrs.dilations,
    pads: attrs.pads,
    group: attrs.group,
    inSpatial,
    outSpatial,
  };
  // Weights change every step: the flipped kernel is built in the graph.
  const weight = (variant: string) => (variant === 'W_flip' ? flippedKernelInGraph(g, W, wDims, attrs.group) : W);
  return convAdjoint(g, dY, { dtype: 'float32', dims: wDims, data: new Float32Array(0) }, geo, weight, { flip, conv });
}

/**
 * dL/dW of a convolution as matrix products: the input's patches (im2col: a Gather where the map's
 * size is known, else one strided Slice per kernel offset) against dY, i.e.
 * dW[o, (c,u,v)] = Σ_{n,p} dY[n,o,p]·x[n,c,p·s+u·d]. Grouped convolutions do this per group.
 * Returns the bias gradient too where it comes free.
 */
export function convWeightGrad(
  g: GraphBuilder,
  x: string,
  dY: ConvOutputGrad,
  attrs: Conv2dAttrs,
  O: number,
  C: number,
  r: number,
  parallel: boolean,
  bias: boolean,
  inSpatial: Shape,
  outSpatial: Shape,
  channelsLast?: () => string,
): { w: string; b?: string } {
  const G = attrs.group;
  const k = attrs.kernel_shape;
  const K = numel(k);
  const spatialAxes = Array.from({ length: r }, (_, i) => i + 2);
  const known = [...inSpatial, ...outSpatial].every((v) => v !== null);
  const padDims = known ? (inSpatial as number[]).map((v, i) => v + attrs.pads[i]! + attrs.pads[r + i]!) : [];
  /** Flat positions in the padded map read by the given kernel offsets, output position major. */
  const patchIndex = (offs: number[][]) => {
    const idx: number[] = [];
    const rowStride = padDims.map((_, i) => numel(padDims.slice(i + 1)));
    const outDims = outSpatial as number[];
    for (let q = 0; q < numel(outDims); q++) {
      const pos = outDims.map((_, i) => Math.floor(q / numel(outDims.slice(i + 1))) % outDims[i]!);
      for (const off of offs) idx.push(pos.reduce((a, pd, i) => a + (pd * attrs.strides[i]! + off[i]! * attrs.dilations[i]!) * rowStride[i]!, 0));
    }
    return g.initializer('patch_index', int64([idx.length], idx));
  };
  if (G === 1 && C > SMALL_INPUT_CHANNELS && known && prod(outSpatial) * K * C <= 2 ** 20) {
    // All patches in one Gather from x channels-last ([N, positions, C], rows of C contiguous
    // floats), then one product dY [O, N·P] × patches [N·P, K·C]: the wide product runs faster
    // than K narrow ones (and spreads over threads), the Gather copies faster than K Slices.
    // (Up to 4 MB of patches per sample; beyond that, one product per kernel offset.)
    const xl = channelsLast?.() ?? g.op('Transpose', [x], { perm: [0, ...spatialAxes, 1] });
    const xp = attrs.pads.some((q) => q > 0) ? g.op('Pad', [xl, g.ints([0, ...attrs.pads.slice(0, r), 0, 0, ...attrs.pads.slice(r), 0])]) : xl;
    const x3 = g.op('Reshape', [xp, g.ints([0, numel(padDims), C])]);
    const I = patchIndex(kernelOffsets(k));
    const gathered = g.op('Gather', [x3, I], { axis: 1 });
    let w: string;
    if (!parallel && prod(outSpatial) >= 128) {
      // One thread, large maps: per-sample products dY[n] [O, P] × patches[n] [P, K·C] summed
      // over samples read dY as it is (no transpose), which runs faster there; on more threads the single
      // wide product spreads better.
      const per = g.op('MatMul', [g.op('Reshape', [dY.nchw(), g.ints([0, O, -1])]), g.op('Reshape', [gathered, g.ints([0, -1, K * C])])]);
      w = g.op('ReduceSum', [per, g.ints([0])], { keepdims: 0 });
    } else if (!parallel) {
      // One thread, small maps: patchesᵀ [K·C, N·P] × dY channels-last [N·P, O] (the transpose
      // fuses into the product) runs faster than dY [O, N·P] × patches (bench/train A/B); on more threads the other order spreads better.
      const dyn = g.op('Reshape', [g.op('Transpose', [dY.nchw()], { perm: [0, ...spatialAxes, 1] }), g.ints([-1, O])]);
      const wt = g.op('MatMul', [g.op('Transpose', [g.op('Reshape', [gathered, g.ints([-1, K * C])])], { perm: [1, 0] }), dyn]); // [K·C, O]
      w = g.op('Transpose', [wt], { perm: [1, 0] });
    } else w = g.op('MatMul', [dY.byChannel(), g.op('Reshape', [gathered, g.ints([-1, K * C])])]); // patches [N·P, K·C], columns (offset, c)
    return { w: g.op('Transpose', [g.op('Reshape', [w, g.ints([O, ...k, C])])], { perm: [0, r + 1, ...spatialAxes.map((a) => a - 1)] }) };
  }
  const anyPad = attrs.pads.some((p) => p > 0);
  const offsets = kernelOffsets(k);
  const span = k.map((kk, i) => (kk - 1) * attrs.dilations[i]!);
  const slice = (t: string, axes: number[]) => (off: number[]) => {
    // Slice ends count from the end of the padded input, so lengths need not be known here.
    const starts = off.map((u, i) => u * attrs.dilations[i]!);
    const ends = starts.map((st, i) => (span[i]! - st > 0 ? -(span[i]! - st) : 2 ** 62));
    return g.op('Slice', [t, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(attrs.strides)]);
  };
  if (G === 1 && C <= SMALL_INPUT_CHANNELS) {
    // Few input channels (an image's first layer): one small product per sample,
    // dY[n] [O, P] × patches[n]ᵀ [P, C·K(+1)], summed over samples. Products with a
    // single-column right operand (C = 1) would be matrix-vector products, and this needs no
    // transposes of x or dY. A row of ones in the patches gives the bias gradient in the same product.
    const padded = anyPad ? g.op('Pad', [x, g.ints([0, 0, ...attrs.pads.slice(0, r), 0, 0, ...attrs.pads.slice(r)])]) : x;
    const rows = offsets.map((off) => g.op('Unsqueeze', [slice(padded, spatialAxes)(off), g.ints([2])]));
    let col = g.op('Reshape', [g.op('Concat', rows, { axis: 2 }), g.ints([0, C * K, -1])]); // [N, C·K, P]
    if (bias) {
      const s = g.op('Shape', [col]);
      const onesShape = g.op('Concat', [g.op('Slice', [s, g.ints([0]), g.ints([1])]), g.ints([1]), g.op('Slice', [s, g.ints([2]), g.ints([3])])], { axis: 0 });
      col = g.op('Concat', [col, g.op('ConstantOfShape', [onesShape], { value: float32([1], [1]) })], { axis: 1 });
    }
    let summed: string; // [O, C·K(+1)]
    if (dY.blocked) {
      // Read the blocked gradient as is: per sample and channel block, patches [C·K, P] × dY [P, B].
      const { t, B, positions } = dY.blocked;
      const dy4 = g.op('Reshape', [t, g.ints([0, O / B, positions, B])]);
      const s = g.op('ReduceSum', [g.op('MatMul', [g.op('Unsqueeze', [col, g.ints([1])]), dy4]), g.ints([0])], { keepdims: 0 }); // [O/B, C·K(+1), B]
      summed = g.op('Reshape', [g.op('Transpose', [s], { perm: [0, 2, 1] }), g.ints([O, -1])]);
    } else {
      const dy3 = g.op('Reshape', [dY.nchw(), g.ints([0, O, -1])]);
      summed = g.op('ReduceSum', [g.op('MatMul', [dy3, g.op('Transpose', [col], { perm: [0, 2, 1] })]), g.ints([0])], { keepdims: 0 });
    }
    if (!bias) return { w: g.op('Reshape', [summed, g.ints([O, C, ...k])]) };
    const [w, b] = g.opN('Split', [summed, g.ints([C * K, 1])], 2, { axis: 1 });
    return { w: g.op('Reshape', [w!, g.ints([O, C, ...k])]), b: g.op('Reshape', [b!, g.ints([O])]) };
  }
  const one = (xs: string, dys: ConvOutputGrad, Cg: number, Og: number, xsLast?: () => string) => {
    // x channels-last ([N, …, Cg]) once: each kernel offset's rows, [N·P, Cg], are a Gather of it
    // (sizes known: it copies faster) or a strided Slice; dY as [Og, N·P] is the left operand of
    // every product. (Padding after the transpose copies longer contiguous runs.)
    const xt = xsLast?.() ?? g.op('Transpose', [xs], { perm: [0, ...spatialAxes, 1] });
    const xl = anyPad ? g.op('Pad', [xt, g.ints([0, ...attrs.pads.slice(0, r), 0, 0, ...attrs.pads.slice(r), 0])]) : xt;
    const dyO = dys.byChannel();
    const x3 = known ? g.op('Reshape', [xl, g.ints([0, numel(padDims), Cg])]) : '';
    const slices = offsets.map((off) =>
      g.op('Reshape', [
        known
          ? g.op('Gather', [x3, patchIndex([off])], { axis: 1 })
          : slice(
              xl,
              spatialAxes.map((a) => a - 1),
            )(off),
        g.ints([-1, Cg]),
      ]),
    );
    if (parallel && slices.length > 1) {
      // One batched product over the kernel offsets ([Og, N·P] × [K, N·P, Cg]): ONNX Runtime
      // spreads its batch over threads, which separate products with a long inner axis do not
      // allow. On one thread the extra copy into the stack costs more than it gains.
      const stacked = g.op(
        'Concat',
        slices.map((sl) => g.op('Unsqueeze', [sl, g.ints([0])])),
        { axis: 0 },
      );
      const kog = g.op('MatMul', [dyO, stacked]); // [K, Og, Cg]
      return g.op('Reshape', [g.op('Transpose', [kog], { perm: [1, 2, 0] }), g.ints([Og, Cg, ...k])]);
    }
    const parts = slices.map((sl) => g.op('Unsqueeze', [g.op('MatMul', [dyO, sl]), g.ints([2])]));
    const ogk = parts.length === 1 ? parts[0]! : g.op('Concat', parts, { axis: 2 }); // [Og, Cg, K]
    return g.op('Reshape', [ogk, g.ints([Og, Cg, ...k])]);
  };
  if (G === 1) return { w: one(x, dY, C, O, channelsLast) };
  const xs = g.opN('Split', [x, g.ints(new Array(G).fill(C / G))], G, { axis: 1 });
  const ds = g.opN('Split', [dY.nchw(), g.ints(new Array(G).fill(O / G))], G, { axis: 1 });
  return {
    w: g.op(
      'Concat',
      xs.map((xi, i) => one(xi, plainGrad(g, ds[i]!, O / G, r), C / G, O / G)),
      { axis: 0 },
    ),
  };
}

/** Kernel offsets in row-major order (the weight layout's). */
export function kernelOffsets(k: number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === k.length) out.push(prefix);
    else for (let u = 0; u < k[prefix.length]!; u++) walk([...prefix, u]);
  };
  walk([]);
  return out;
}

/**
 * Up to this many input channels, a weight gradient is one product per sample (faster for few
 * channels, slower from about 16 on AVX-512; see bench/train).
 */
export const SMALL_INPUT_CHANNELS = 4;
