/**
 * ONNX Runtime's blocked-layout ("NCHWc") convolutions for training graphs.
 *
 * ONNX Runtime runs 2-D convolutions fastest in its NCHWc layout, but it only switches to it
 * for weights it can reorder once, when the session is created — never for a training step,
 * whose weights are graph inputs. Its NCHWc kernels (domain com.microsoft.nchwc) read the
 * reordered weights at run time, though, so the training graph reorders them itself (a Reshape
 * and a Transpose per step, tiny next to the convolution) and calls those kernels directly.
 * The block size depends on the CPU (8 with AVX2, 16 with AVX-512); it is probed once. Where the
 * kernels are missing (other builds or CPUs), the probe gives 0 and plain Conv is used.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { encodeModel } from '../onnx/model.js';
import { resolveRuntime, type Runtime } from '../runtime.js';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

const probed = new WeakMap<Runtime, Promise<number>>();

/** The NCHWc channel block size of a runtime on this machine, or 0 if it has no NCHWc kernels. */
export function nchwcBlockSize(runtime?: Runtime): Promise<number> {
  const rt = resolveRuntime(runtime);
  let p = probed.get(rt);
  if (p) return p;
  p = (async () => {
    try {
      // ReorderInput pads the channel axis up to a whole block: 4 channels come out as one block.
      const model = encodeModel({
        nodes: [{ op: 'ReorderInput', domain: NCHWC_DOMAIN, name: 'probe', inputs: ['x'], outputs: ['y'], attrs: {} }],
        initializers: new Map(),
        inputs: [{ name: 'x', elemType: 1, shape: [1, 4, 1, 1] }],
        outputs: [{ name: 'y', elemType: 1, shape: [1, null, 1, 1] }],
        opset: 17,
        irVersion: 8,
        producer: 'relprop',
      });
      const s = await rt.createSession(model);
      const out = await s.run({ x: { dtype: 'float32', dims: [1, 4, 1, 1], data: new Float32Array(4) } });
      await s.release();
      const block = out.y!.dims[1]!;
      return block >= 4 && block % 4 === 0 ? block : 0;
    } catch {
      return 0;
    }
  })();
  probed.set(rt, p);
  return p;
}

export interface Conv2dAttrs {
  kernel_shape: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  group: number;
}

/** Can this convolution run as an NCHWc kernel with block size B? */
export function nchwcApplies(B: number, C: number, O: number, attrs: Conv2dAttrs): boolean {
  return B > 0 && attrs.kernel_shape.length === 2 && attrs.group === 1 && O % B === 0 && (C % B === 0 || C < B);
}

/**
 * y = Conv(x, W, b) through the NCHWc kernels: x is reordered to blocks (unless it has fewer
 * channels than a block, which those kernels read as is; or xBlocked, when x is already at hand
 * in blocks), W to the blocked filter layout, and y back to NCHW.
 */
export function nchwcConv(
  g: GraphBuilder,
  x: string,
  W: string,
  b: string | null,
  C: number,
  O: number,
  attrs: Conv2dAttrs,
  B: number,
  xBlocked?: string,
): string {
  const xin = C % B === 0 ? (xBlocked ?? nchwcOp(g, 'ReorderInput', [x], {})) : x;
  return nchwcOp(g, 'ReorderOutput', [nchwcConvBlocked(g, xin, W, b, C, O, attrs, B)], { channels: O });
}

/**
 * The NCHWc convolution on blocked tensors: xin is blocked ([N, C/B, H, W, B]) unless C < B (then
 * NCHW), and so is the result. W is reordered to OIHWBiBo (or OIHWBo for a small input) in the
 * graph, unless `preblocked` says it already is. `activation` fuses a ReLU into the kernel.
 */
export function nchwcConvBlocked(
  g: GraphBuilder,
  xin: string,
  W: string,
  b: string | null,
  C: number,
  O: number,
  attrs: Conv2dAttrs,
  B: number,
  opts: { activation?: 'Relu'; preblocked?: boolean } = {},
): string {
  const { activation, preblocked } = opts;
  const [kh, kw] = attrs.kernel_shape as [number, number];
  const blockedInput = C % B === 0;
  // OIHWBiBo: [O/B][C/B][kh][kw][bi][bo]; OIHWBo: [O/B][C][kh][kw][bo].
  const split = blockedInput ? [O / B, B, C / B, B, kh, kw] : [O / B, B, C, kh, kw];
  const perm = blockedInput ? [0, 2, 4, 5, 3, 1] : [0, 2, 3, 4, 1];
  const Wb = preblocked ? W : g.op('Reshape', [g.op('Transpose', [g.op('Reshape', [W, g.ints(split)])], { perm }), g.ints([O, C, kh, kw])]);
  const { kernel_shape, strides, dilations, pads } = attrs;
  return nchwcOp(g, 'Conv', b ? [xin, Wb, b] : [xin, Wb], { kernel_shape, strides, dilations, pads, group: 1, ...(activation ? { activation } : {}) });
}

/**
 * The blocked (OIHWBiBo) weights of a stride-1 convolution's adjoint straight from W [O, C, kh, kw]
 * (both channel counts whole blocks): the adjoint maps O channels to C with the kernel flipped,
 * W'[c, o, i, j] = W[o, c, kh−1−i, kw−1−j]. One Transpose and one reversing Slice, where swapping,
 * flipping and then blocking would take two Transposes.
 */
export function nchwcAdjointWeights(g: GraphBuilder, W: string, O: number, C: number, kh: number, kw: number, B: number): string {
  // [O/B][bi][C/B][bo][kh][kw] → [C/B][O/B][kh][kw][bi][bo], then reverse kh and kw.
  const t = g.op('Transpose', [g.op('Reshape', [W, g.ints([O / B, B, C / B, B, kh, kw])])], { perm: [2, 0, 4, 5, 1, 3] });
  const flipped = g.op('Slice', [t, g.ints([-1, -1]), g.ints([-(2 ** 62), -(2 ** 62)]), g.ints([2, 3]), g.ints([-1, -1])]);
  return g.op('Reshape', [flipped, g.ints([C, O, kh, kw])]);
}

export function nchwcOp(g: GraphBuilder, op: string, inputs: string[], attrs: Record<string, number | number[] | string>): string {
  const out = g.fresh(`nchwc_${op}`);
  g.graph.nodes.push({ op, domain: NCHWC_DOMAIN, name: g.fresh(`nchwc_${op}_node`), inputs, outputs: [out], attrs });
  return out;
}
