/** conv2d → relu → max pool kept in ONNX Runtime's blocked layout in training and evaluation graphs. */
import { reluMaskAtPooled } from '../backward/pooling.js';
import { ELEM } from '../onnx/model.js';
import { float32, numel, type TensorData } from '../onnx/tensor.js';
import { biasParam, isInput, layerName, param, type Ctx, type Shape } from './context.js';
import { adjointConv, blockedGrad, convInputGrad, convWeightGrad, giveConvInputGrad } from './conv-grads.js';
import { convFans, convGeometry } from './layers/conv.js';
import { nchwcApplies, nchwcConvBlocked, nchwcOp, type Conv2dAttrs } from './nchwc.js';
import type { LayerSpec } from './spec.js';

/**
 * conv2d → relu → max pool in training and evaluation graphs, kept in ONNX Runtime's blocked
 * NCHWc layout from the convolution to the pooled output: the ReLU runs inside the convolution
 * kernel and the pool is the fast blocked one (a max pool that also returns indices has only a
 * slow generic kernel). Its backward pass needs no indices: the window's maxima are where the
 * input equals the upsampled output, and where several tie, the first in row-major order gets
 * the gradient (a max over a fixed descending rank picks it) — the convention of the plain
 * MaxPool's indices, of PyTorch and of the explainer. Returns null where it does not apply.
 */
export function blockedConvReluMaxPool(
  c: Ctx,
  x: string,
  shape: Shape,
  conv: LayerSpec,
  relu: LayerSpec,
  pool: LayerSpec,
): { out: string; shape: Shape } | null {
  const B = c.nchwcBlock;
  if (c.mode === 'infer' || c.shapesOnly || !B || conv.type !== 'conv2d' || relu.type !== 'relu' || pool.type !== 'maxpool') return null;
  const where = `layer "${conv.name ?? `conv2d_${c.counter.get('conv2d') ?? 0}`}" (conv2d)`; // the name emitLayer would give
  const { C, attrs, outSpatial } = convGeometry(conv, shape, where);
  const O = conv.filters;
  const k = pool.size;
  if (!nchwcApplies(B, C, O, attrs) || (pool.padding ?? 0) !== 0 || (pool.stride ?? k) !== k) return null;
  if (outSpatial.some((v) => v === null || v % k)) return null; // windows must tile the map exactly
  c.uses.set(x, (c.uses.get(x) ?? 0) + 1);
  const name = layerName(c, conv);
  layerName(c, relu);
  layerName(c, pool);
  const g = c.g;
  const W = param(c, name, 'weight', [O, C, conv.kernel, conv.kernel], { decay: true, init: convFans(C, O, 1, conv.kernel ** 2) });
  const b = biasParam(c, name, conv.bias, O);
  const xin = C % B ? x : (c.blocked.get(x) ?? nchwcOp(g, 'ReorderInput', [x], {}));
  const yb = nchwcConvBlocked(g, xin, W, b, C, O, attrs, B, { activation: 'Relu' });
  const window = { kernel_shape: [k, k], strides: [k, k] };
  const pb = nchwcOp(g, 'MaxPool', [yb], window);
  const p = nchwcOp(g, 'ReorderOutput', [pb], { channels: O });
  // A following blocked convolution reads pb itself, and its weight gradient reads the
  // channels-last copy: no transposes of p. (An NCHW copy nobody reads is pruned at the end.)
  c.blocked.set(p, pb);
  let nhwc: string | undefined;
  c.channelsLast.set(p, () => (nhwc ??= nchwcOp(g, 'ReorderOutput', [pb], { channels: O, channels_last: 1 })));
  const outShape = [O, ...outSpatial.map((v) => v! / k)];
  if (c.mode === 'train') {
    c.tape.push((grad, give) => {
      // Gradients from blocked readers (the next blocked convolution's input gradient) and plain ones.
      const dP = grad(p);
      const parts = [...(c.blockedGrads.get(p) ?? []), ...(dP ? [nchwcOp(g, 'ReorderInput', [dP], {})] : [])];
      if (!parts.length) return;
      // ReLU at the pooled resolution (max and ReLU commute), then the windows' maxima.
      const dPb = reluMaskAtPooled(g, g.sum(parts), pb);
      const up = (t: string) => nchwcOp(g, 'Upsample', [t], { scales: [1, 1, k, k], mode: 'nearest' });
      const winner = g.op('Cast', [g.op('Equal', [yb, up(pb)])], { to: ELEM.FLOAT });
      // Rank k²…1 in row-major order within each window: the highest-ranked winner is the first.
      const ranked = g.mul(winner, g.initializer(`${name}/window_rank`, windowRank(outSpatial as number[], k, O, B)));
      const first = g.op('Cast', [g.op('Equal', [ranked, up(nchwcOp(g, 'MaxPool', [ranked], window))])], { to: ELEM.FLOAT });
      const dYb = g.mul(first, up(dPb)); // [N, O/B, H, W, B]
      const dY = blockedGrad(g, dYb, O, B, numel(outSpatial as number[]));
      if (!c.params.find((q) => q.name === W)!.frozen) {
        const wg = convWeightGrad(g, x, dY, attrs, O, C, 2, c.parallel, !!b, shape.slice(1), outSpatial, c.channelsLast.get(x));
        c.grads.set(W, wg.w);
        if (b) c.grads.set(b, wg.b ?? g.op('ReduceSum', [dY.nchw(), g.ints([0, 2, 3])], { keepdims: 0 }));
      }
      if (!isInput(c, x)) {
        const flips = attrs.strides.every((v) => v === 1) && attrs.pads.every((q) => q <= (conv.kernel - 1) * (conv.dilation ?? 1)) && c.flipAdjoint;
        let blockedDx: string | undefined;
        const adj =
          flips && nchwcApplies(B, O, C, attrs)
            ? (_: string, w: string, a: Conv2dAttrs) => nchwcOp(g, 'ReorderOutput', [(blockedDx = adjointConv(g, dYb, W, w, O, C, a, B))], { channels: C })
            : undefined;
        giveConvInputGrad(
          c,
          x,
          convInputGrad(
            g,
            c.flipAdjoint,
            adj ? dYb : dY.nchw(),
            W,
            [O, C, ...attrs.kernel_shape],
            attrs,
            shape.slice(1) as number[],
            outSpatial as number[],
            adj,
          ),
          blockedDx,
          give,
        );
      }
    });
  }
  return { out: p, shape: outShape };
}

/**
 * Rank k² − (position in its k×k window), for every element of one sample of a blocked tensor:
 * its logical shape is [1, C padded to blocks, H, W] but its memory is [C/B, H, W, B], which is
 * what element-wise broadcasting reads.
 */
function windowRank(spatial: number[], k: number, channels: number, B: number): TensorData {
  const [H, W] = spatial as [number, number];
  const blocks = Math.ceil(channels / B);
  const t = float32([1, blocks * B, H, W]);
  const d = t.data as Float32Array;
  for (let cb = 0; cb < blocks; cb++)
    for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) d.fill(k * k - ((h % k) * k + (w % k)), ((cb * H + h) * W + w) * B, ((cb * H + h) * W + w + 1) * B);
  return t;
}
