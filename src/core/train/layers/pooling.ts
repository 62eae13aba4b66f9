/** Max, average, sum and global pooling. */
import { avgPoolAdjoint, avgPoolGeometry, globalMaxPoolAdjoint, maxPoolBackward, meanAdjoint, reluMaskAtPooled } from '../../backward/pooling.js';
import type { GraphNode } from '../../onnx/model.js';
import { isInput, type Emitter } from '../context.js';

export const poolLayer: Emitter<'maxpool' | 'avgpool'> = (c, l, { x, shape, name, train, where }) => {
  const g = c.g;
  const r = shape.length - 1;
  if (r < 1) throw new Error(`${where} needs a spatial input, got ${JSON.stringify(shape)}`);
  const k = l.size;
  const s = l.stride ?? k;
  const p = l.padding ?? 0;
  const outSpatial = shape.slice(1).map((v) => (v === null ? null : Math.floor((v + 2 * p - k) / s) + 1));
  if (outSpatial.some((v) => v !== null && v < 1)) throw new Error(`${where}: input ${JSON.stringify(shape)} is smaller than the window`);
  const outShape = [shape[0]!, ...outSpatial];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const attrs: GraphNode['attrs'] = { kernel_shape: new Array(r).fill(k), strides: new Array(r).fill(s), pads: new Array(2 * r).fill(p) };
  if (l.type === 'avgpool') attrs.count_include_pad = 0;
  if (l.type === 'maxpool') {
    const [y, idx] = train ? g.opN('MaxPool', [x], 2, attrs, name, name) : [g.layer('MaxPool', [x], attrs, name), ''];
    if (train) {
      const node = { op: 'MaxPool', name, inputs: [x], outputs: [y!, idx!], attrs };
      c.tape.push((grad, give) => {
        const dY = grad(y!);
        if (!dY || isInput(c, x)) return;
        const pre = c.reluOf.get(x);
        if (pre !== undefined && c.uses.get(x) === 1 && !isInput(c, pre)) {
          // ReLU then max-pool: max and ReLU commute, so the ReLU mask applies at the pooled
          // resolution (the winner's value is the pooled value) — fewer elements to mask.
          const masked = reluMaskAtPooled(g, dY, y!);
          give(pre, maxPoolBackward(g, x, node, masked));
        } else give(x, maxPoolBackward(g, x, node, dY));
      });
    }
    return { out: y!, shape: outShape };
  }
  const y = g.layer('AveragePool', [x], attrs, name);
  if (train) {
    if (shape.some((v) => v === null)) throw new Error(`${where}: training needs a fixed input size`);
    const node = { op: 'AveragePool', name, inputs: [x], outputs: [y], attrs };
    const in1 = [1, ...(shape as number[])];
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY || isInput(c, x)) return;
      const geo = avgPoolGeometry(node, in1, [1, ...(outShape as number[])]);
      give(x, avgPoolAdjoint(g, node, dY, geo, in1, name));
    });
  }
  return { out: y, shape: outShape };
};

export const globalPoolLayer: Emitter<'globalavgpool' | 'globalmaxpool'> = (c, l, { x, shape, name, train }) => {
  const g = c.g;
  const outShape = [shape[0]!, ...shape.slice(1).map(() => 1)];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const avg = l.type === 'globalavgpool';
  const y = g.layer(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [x], {}, name);
  if (train) {
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY || isInput(c, x)) return;
      const spatial = shape.slice(1).map((_, i) => i + 2);
      give(x, avg ? meanAdjoint(g, dY, x, spatial, true, null) : globalMaxPoolAdjoint(g, dY, x));
    });
  }
  return { out: y, shape: outShape };
};

/**
 * Sum pooling: an average pool (or, on a flat input, a mean over groups of `size` consecutive
 * features) times the window size, so that the explainer sees pools and a constant factor it
 * knows; LRP's norm rule on the pool splits relevance in proportion to the summed activations.
 */
export const sumPoolLayer: Emitter<'sumpool'> = (c, l, { x, shape, name, train, where }) => {
  const g = c.g;
  const k = l.size;
  if (shape.some((v) => v === null)) throw new Error(`${where} needs a fixed input size, got ${JSON.stringify(shape)}`);
  if (shape.length === 1) {
    const n = shape[0]!;
    if (l.stride !== undefined && l.stride !== k) throw new Error(`${where}: on a flat input the groups do not overlap (stride must equal size)`);
    if (n % k) throw new Error(`${where}: ${n} features do not split into groups of ${k}`);
    const outShape = [n / k];
    if (c.shapesOnly) return { out: x, shape: outShape };
    const grouped = g.op('Reshape', [x, g.ints([-1, n / k, k])], {}, `${name}/groups`);
    const y = g.mul(g.layer('ReduceMean', [grouped], { axes: [2], keepdims: 0 }, name), g.scalar(k));
    if (train)
      c.tape.push((grad, give) => {
        const dY = grad(y);
        if (!dY || isInput(c, x)) return;
        const spread = g.op('Expand', [g.op('Unsqueeze', [dY, g.ints([2])]), g.ints([1, 1, k])]);
        give(x, g.op('Reshape', [spread, g.ints([-1, n])]));
      });
    return { out: y, shape: outShape };
  }
  const r = shape.length - 1;
  const s = l.stride ?? k;
  const outSpatial = shape.slice(1).map((v) => Math.floor((v! - k) / s) + 1);
  if (outSpatial.some((v) => v < 1)) throw new Error(`${where}: input ${JSON.stringify(shape)} is smaller than the window`);
  const outShape = [shape[0]!, ...outSpatial];
  if (c.shapesOnly) return { out: x, shape: outShape };
  const attrs: GraphNode['attrs'] = { kernel_shape: new Array(r).fill(k), strides: new Array(r).fill(s), pads: new Array(2 * r).fill(0) };
  const pooled = g.layer('AveragePool', [x], attrs, name);
  const K = k ** r;
  const y = g.mul(pooled, g.scalar(K));
  if (train) {
    const node = { op: 'AveragePool', name, inputs: [x], outputs: [pooled], attrs };
    const in1 = [1, ...(shape as number[])];
    c.tape.push((grad, give) => {
      const dY = grad(y);
      if (!dY || isInput(c, x)) return;
      const geo = avgPoolGeometry(node, in1, [1, ...(outShape as number[])]);
      give(x, avgPoolAdjoint(g, node, g.mul(dY, g.scalar(K)), geo, in1, name));
    });
  }
  return { out: y, shape: outShape };
};
