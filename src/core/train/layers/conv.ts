/** Convolutions (1-D and 2-D, grouped, dilated): forward, weight and input gradients. */
import { biasParam, isInput, param, type Emitter, type Shape } from '../context.js';
import { adjointConv, convInputGrad, convWeightGrad, giveConvInputGrad, plainGrad } from '../conv-grads.js';
import { nchwcApplies, nchwcConv, nchwcOp, type Conv2dAttrs } from '../nchwc.js';
import type { LayerSpec } from '../spec.js';

export type ConvLayer = Extract<LayerSpec, { type: 'conv1d' | 'conv2d' }>;

export function convGeometry(l: ConvLayer, shape: Shape, where: string) {
  const r = l.type === 'conv1d' ? 1 : 2;
  if (shape.length !== r + 1) throw new Error(`${where} needs input [channels, ${r === 1 ? 'length' : 'height, width'}], got ${JSON.stringify(shape)}`);
  const C = shape[0]!;
  const groups = l.groups ?? 1;
  if (C % groups || l.filters % groups) throw new Error(`${where}: channels ${C} and filters ${l.filters} must be divisible by groups ${groups}`);
  const k = l.kernel;
  const s = l.stride ?? 1;
  const d = l.dilation ?? 1;
  const pad = l.padding === 'same' ? Math.floor(((k - 1) * d) / 2) : (l.padding ?? 0);
  if (l.padding === 'same' && (s !== 1 || ((k - 1) * d) % 2)) throw new Error(`${where}: padding "same" needs stride 1 and an odd kernel span`);
  const outSpatial = shape.slice(1).map((v) => (v === null ? null : Math.floor((v + 2 * pad - (k - 1) * d - 1) / s) + 1));
  if (outSpatial.some((v) => v !== null && v < 1)) throw new Error(`${where}: input ${JSON.stringify(shape)} is too small for the kernel`);
  const attrs: Conv2dAttrs = {
    kernel_shape: new Array(r).fill(k),
    strides: new Array(r).fill(s),
    dilations: new Array(r).fill(d),
    pads: new Array(2 * r).fill(pad),
    group: groups,
  };
  return { r, C, groups, s, attrs, outSpatial };
}

/**
 * Fan-in and fan-out of a convolution's weight [out, in/groups, k, …]: each output reads in/groups
 * channels over the kernel window, each input feeds out/groups channels over it.
 */
export function convFans(C: number, O: number, groups: number, window: number) {
  return { fanIn: (C / groups) * window, fanOut: (O / groups) * window };
}

export const convLayer: Emitter<'conv1d' | 'conv2d'> = (c, l, { x, shape, name, train, where }) => {
  const g = c.g;
  const { r, C, groups, s, attrs, outSpatial } = convGeometry(l, shape, where);
  const k = l.kernel;
  const W = param(c, name, 'weight', [l.filters, C / groups, ...new Array(r).fill(k)], { decay: true, init: convFans(C, l.filters, groups, k ** r) });
  const b = biasParam(c, name, l.bias, l.filters);
  if (c.shapesOnly) return { out: x, shape: [l.filters, ...outSpatial] };
  const blocked = c.mode !== 'infer' && nchwcApplies(c.nchwcBlock, C, l.filters, attrs);
  const y = blocked ? nchwcConv(g, x, W, b, C, l.filters, attrs, c.nchwcBlock, c.blocked.get(x)) : g.layer('Conv', b ? [x, W, b] : [x, W], { ...attrs }, name);
  if (train) {
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY) return;
      if (!c.params.find((p) => p.name === W)!.frozen) {
        const wg = convWeightGrad(
          g,
          x,
          plainGrad(g, dY, l.filters, r),
          attrs,
          l.filters,
          C,
          r,
          c.parallel,
          !!b,
          shape.slice(1),
          outSpatial,
          c.channelsLast.get(x),
        );
        c.grads.set(W, wg.w);
        if (b) c.grads.set(b, wg.b ?? g.op('ReduceSum', [dY, g.ints([0, ...Array.from({ length: r }, (_, i) => i + 2)])], { keepdims: 0 }));
      }
      if (!isInput(c, x)) {
        if (s !== 1 && shape.some((v) => v === null)) throw new Error(`${where}: training a strided convolution needs a fixed input size`);
        // The adjoint is a convolution from the output's channels to the input's.
        let blockedDx: string | undefined;
        const conv = nchwcApplies(c.nchwcBlock, l.filters, C, attrs)
          ? (s: string, w: string, a: Conv2dAttrs) =>
              nchwcOp(
                g,
                'ReorderOutput',
                [(blockedDx = adjointConv(g, l.filters % c.nchwcBlock ? s : nchwcOp(g, 'ReorderInput', [s], {}), W, w, l.filters, C, a, c.nchwcBlock))],
                { channels: C },
              )
          : undefined;
        giveConvInputGrad(
          c,
          x,
          convInputGrad(
            g,
            c.flipAdjoint,
            dY,
            W,
            [l.filters, C / groups, ...attrs.kernel_shape],
            attrs,
            shape.slice(1) as number[],
            outSpatial as number[],
            conv,
          ),
          blockedDx,
          give,
        );
      }
    });
  }
  return { out: y, shape: [l.filters, ...outSpatial] };
};
