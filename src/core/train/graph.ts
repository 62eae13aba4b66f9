/**
 * Graphs from a model spec: the inference graph (what is saved and explained), an evaluation
 * graph (the same with parameters as inputs), and the training-step graph: forward in training
 * mode (batch statistics, dropout), backward by the gradient rules, weight gradients, loss and
 * optimizer update, all run by ONNX Runtime in one call per mini-batch.
 */
import { GraphBuilder, pruneUnused } from '../onnx/builder.js';
import { ELEM, type Graph, type GraphNode } from '../onnx/model.js';
import { float32, int64, numel, type TensorData } from '../onnx/tensor.js';
import { convAdjoint, type ConvGeometry } from '../backward/conv.js';
import { avgPoolAdjoint, avgPoolGeometry, maxPoolBackward } from '../backward/pooling.js';
import { lrnGradient } from '../backward/lrn.js';
import { gaussian, mulberry32 } from '../math/random.js';
import { nchwcAdjointWeights, nchwcApplies, nchwcConv, nchwcConvBlocked, nchwcOp, type Conv2dAttrs } from './nchwc.js';
import type { LayerSpec, ModelSpec } from './spec.js';

export type Mode = 'train' | 'eval' | 'infer';

export interface ParamInfo {
  name: string;
  dims: number[];
  /** Weight decay applies to weights, not to biases and batch-norm parameters. */
  decay: boolean;
  /** Running statistics are updated by the forward pass, not by the optimizer. */
  buffer: boolean;
  layer: string;
  /** Frozen (transfer learning): a constant of the training graph, never updated. */
  frozen?: boolean;
  /** Embedding tables: the padding token's row, kept at zero. */
  padRow?: number;
}

export interface LossSpec {
  kind: 'cross-entropy' | 'mse' | 'multitask-mse' | 'multitask-mae';
  /** Multi-task: weight per output. */
  weights?: number[];
}

export interface OptimizerSpec {
  kind: 'sgd' | 'adam';
  momentum?: number;
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface BuiltGraph {
  graph: Graph;
  params: ParamInfo[];
  input: string;
  output: string;
  outputShape: (number | null)[];
  /** Training step only. */
  labels?: string;
  mask?: string;
  lr?: string;
  /** Adam: lr·√(1−β2ᵗ)/(1−β1ᵗ) is fed as `lr`. */
  loss?: string;
  /** dL/d(input), when built with inputGradient. */
  inputGrad?: string;
  /** Param name → output name of its updated value (and of each optimizer state). */
  updated?: Map<string, string>;
  /** Optimizer state: one flat vector per slot over the trained parameters, in this order. */
  states?: { name: string; slot: string; dims: number[]; params: string[] }[];
}

type Shape = (number | null)[];

/** Seeded uniform [0,1): initialisation is reproducible from the seed alone. */
export const rngFrom = mulberry32;

/** Initial values for every parameter of a spec. */
export function initParams(spec: ModelSpec, seed: number): Map<string, TensorData> {
  const rng = rngFrom(seed);
  const normal = () => gaussian(rng);
  const values = new Map<string, TensorData>();
  const built = buildGraph(spec, 'infer', { shapesOnly: true });
  for (const p of built.params) {
    const n = numel(p.dims);
    const t = float32(p.dims);
    const d = t.data as Float32Array;
    if (p.name.endsWith('.weight')) {
      const fanIn = p.dims.length > 1 ? numel(p.dims.slice(1)) : 1;
      const fanOut = p.dims[0]! * (p.dims.length > 2 ? numel(p.dims.slice(2)) : 1);
      if (p.name.includes('embedding')) for (let i = 0; i < n; i++) d[i] = 0.1 * normal();
      else if (spec.init === 'glorot') {
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < n; i++) d[i] = (2 * rng() - 1) * lim;
      } else {
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < n; i++) d[i] = std * normal();
      }
    } else if (p.name.endsWith('.gamma') || p.name.endsWith('.running_var')) d.fill(1);
    if (p.padRow !== undefined) d.fill(0, p.padRow * p.dims[1]!, (p.padRow + 1) * p.dims[1]!);
    values.set(p.name, t);
  }
  return values;
}

interface Ctx {
  g: GraphBuilder;
  mode: Mode;
  params: ParamInfo[];
  values?: Map<string, TensorData>;
  shapesOnly: boolean;
  /** Backward closures, in forward order. */
  tape: ((grad: (t: string) => string | null, give: (t: string, d: string) => void) => void)[];
  /** Param name → gradient tensor. */
  grads: Map<string, string>;
  /** Buffer name → updated value (batch-norm running statistics). */
  bufferUpdates: Map<string, string>;
  counter: Map<string, number>;
  dropoutSeed: number;
  /** ReLU output → its input, and how many layers read each tensor (for the ReLU→MaxPool shortcut). */
  reluOf: Map<string, string>;
  uses: Map<string, number>;
  frozen: Set<string>;
  /** NCHW tensor → the same values in ONNX Runtime's blocked layout, and channels-last (on demand). */
  blocked: Map<string, string>;
  channelsLast: Map<string, () => string>;
  /** Gradients of such tensors computed in the blocked layout, summed by their reader. */
  blockedGrads: Map<string, string[]>;
  /** NCHWc block size for ONNX Runtime's blocked convolutions in train/eval graphs (0: plain Conv). */
  nchwcBlock: number;
  /** Tensors computed from the data input alone: no gradient flows into them. */
  dataOnly: Set<string>;
  /** Also compute dL/d(input) (float inputs). */
  inputGradient: boolean;
  /** ONNX Runtime will run with more than one thread: prefer ops it can spread over them. */
  parallel: boolean;
  /** Stride-1 input gradients as a Conv with the flipped kernel (else ConvTranspose). */
  flipAdjoint: boolean;
}

/** Record a parameter gradient, unless the parameter is frozen (then it is never computed). */
function setGrad(c: Ctx, name: string, make: () => string) {
  if (!c.params.find((p) => p.name === name)?.frozen) c.grads.set(name, make());
}

function param(c: Ctx, layer: string, suffix: string, dims: number[], opts: { decay?: boolean; buffer?: boolean; padRow?: number } = {}): string {
  const name = `${layer}.${suffix}`;
  const frozen = c.mode === 'train' && c.frozen.has(layer);
  c.params.push({ name, dims, decay: opts.decay ?? false, buffer: opts.buffer ?? false, layer, frozen, padRow: opts.padRow });
  if (c.shapesOnly) return name;
  if (c.mode === 'infer' || frozen) {
    const v = c.values?.get(name);
    if (!v) throw new Error(`no value for parameter ${name}`);
    if (v.dims.join() !== dims.join()) throw new Error(`parameter ${name} has shape ${JSON.stringify(v.dims)}, the spec needs ${JSON.stringify(dims)}`);
    c.g.graph.initializers.set(name, v);
  } else {
    c.g.graph.inputs.push({ name, elemType: ELEM.FLOAT, shape: dims });
  }
  return name;
}

function layerName(c: Ctx, l: LayerSpec): string {
  if (l.name) return l.name;
  const k = c.counter.get(l.type) ?? 0;
  c.counter.set(l.type, k + 1);
  return `${l.type}_${k}`;
}

const prod = (s: Shape) => s.reduce<number>((a, b) => a * (b ?? NaN), 1);

function emit(c: Ctx, x: string, shape: Shape, layers: LayerSpec[]): { out: string; shape: Shape } {
  for (let i = 0; i < layers.length; i++) {
    const fused = i + 2 < layers.length ? blockedConvReluMaxPool(c, x, shape, layers[i]!, layers[i + 1]!, layers[i + 2]!) : null;
    if (fused) i += 2;
    ({ out: x, shape } = fused ?? emitLayer(c, x, shape, layers[i]!));
  }
  return { out: x, shape };
}

type ConvLayer = Extract<LayerSpec, { type: 'conv1d' | 'conv2d' }>;

function convGeometry(l: ConvLayer, shape: Shape, where: string) {
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
  const attrs: Conv2dAttrs = { kernel_shape: new Array(r).fill(k), strides: new Array(r).fill(s), dilations: new Array(r).fill(d), pads: new Array(2 * r).fill(pad), group: groups };
  return { r, C, groups, s, attrs, outSpatial };
}

/**
 * conv2d → relu → max pool in training and evaluation graphs, kept in ONNX Runtime's blocked
 * NCHWc layout from the convolution to the pooled output: the ReLU runs inside the convolution
 * kernel and the pool is the fast blocked one (a max pool that also returns indices has only a
 * slow generic kernel). Its backward pass needs no indices: the window's maxima are where the
 * input equals the upsampled output, and tied maxima share the window's gradient equally (a
 * valid subgradient; PyTorch gives it all to the first). Returns null where it does not apply.
 */
function blockedConvReluMaxPool(c: Ctx, x: string, shape: Shape, conv: LayerSpec, relu: LayerSpec, pool: LayerSpec): { out: string; shape: Shape } | null {
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
  const W = param(c, name, 'weight', [O, C, conv.kernel, conv.kernel], { decay: true });
  const b = conv.bias === false ? null : param(c, name, 'bias', [O]);
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
      const dPb = g.mul(g.sum(parts), positive(g, pb));
      const up = (t: string) => nchwcOp(g, 'Upsample', [t], { scales: [1, 1, k, k], mode: 'nearest' });
      const winner = g.op('Cast', [g.op('Equal', [yb, up(pb)])], { to: ELEM.FLOAT });
      const share = g.div(dPb, g.mul(nchwcOp(g, 'AveragePool', [winner], window), g.scalar(k * k)));
      const dYb = g.mul(winner, up(share)); // [N, O/B, H, W, B]
      const dY = blockedGrad(g, dYb, O, B, numel(outSpatial as number[]));
      if (!c.params.find((q) => q.name === W)!.frozen) {
        const wg = convWeightGrad(g, x, dY, attrs, O, C, 2, c.parallel, !!b, shape.slice(1), outSpatial, c.channelsLast.get(x));
        c.grads.set(W, wg.w);
        if (b) c.grads.set(b, wg.b ?? g.op('ReduceSum', [dY.nchw(), g.ints([0, 2, 3])], { keepdims: 0 }));
      }
      if (!isInput(c, x)) {
        const flips = attrs.strides.every((v) => v === 1) && attrs.pads.every((q) => q <= (conv.kernel - 1) * (conv.dilation ?? 1)) && c.flipAdjoint;
        let blockedDx: string | undefined;
        const adj = flips && nchwcApplies(B, O, C, attrs)
          ? (_: string, w: string, a: Conv2dAttrs) => nchwcOp(g, 'ReorderOutput', [(blockedDx = adjointConv(g, dYb, W, w, O, C, a, B))], { channels: C })
          : undefined;
        giveConvInputGrad(c, x, convInputGrad(g, c.flipAdjoint, adj ? dYb : dY.nchw(), W, [O, C, ...attrs.kernel_shape], attrs, shape.slice(1) as number[], outSpatial as number[], adj), blockedDx, give);
      }
    });
  }
  return { out: p, shape: outShape };
}

/**
 * A stride-1 convolution's input gradient as a blocked convolution of the (blocked, unless O < B)
 * output gradient. Wflip is the flipped kernel convAdjoint built; with whole blocks on both sides
 * the blocked flipped kernel comes straight from W instead (the other is then pruned).
 */
function adjointConv(g: GraphBuilder, dYin: string, W: string, Wflip: string, O: number, C: number, a: Conv2dAttrs, B: number): string {
  if (O % B || C % B) return nchwcConvBlocked(g, dYin, Wflip, null, O, C, a, B);
  const [kh, kw] = a.kernel_shape as [number, number];
  return nchwcConvBlocked(g, dYin, nchwcAdjointWeights(g, W, O, C, kh, kw, B), null, O, C, a, B, { preblocked: true });
}

/** The ReLU gradient's mask, 1 where t > 0 else 0 (multiplying by it runs faster here than Where). */
function positive(g: GraphBuilder, t: string): string {
  return g.op('Cast', [g.op('Greater', [t, g.scalar(0)])], { to: ELEM.FLOAT });
}

/**
 * Hand a convolution's input gradient to its input: in the blocked layout when it was computed so
 * and the input has a blocked twin (a blocked conv → relu → maxpool's output, which sums it there;
 * the NCHW copy is then never read and is pruned), else in NCHW.
 */
function giveConvInputGrad(c: Ctx, x: string, dx: string, blockedDx: string | undefined, give: (t: string, d: string) => void) {
  if (blockedDx && c.blocked.has(x)) (c.blockedGrads.get(x) ?? c.blockedGrads.set(x, []).get(x)!).push(blockedDx);
  else give(x, dx);
}

/** A gradient at a convolution's output, in the layouts its weight gradient reads (built on demand). */
interface ConvOutputGrad {
  /** [N, O, …spatial]. */
  nchw(): string;
  /** [O, N·P]: output channels as rows. */
  byChannel(): string;
  /** The blocked original, [N, O/B, P, B] in memory, where there is one. */
  blocked?: { t: string; B: number; positions: number };
}

function plainGrad(g: GraphBuilder, dY: string, O: number, r: number): ConvOutputGrad {
  let byChannel: string | undefined;
  return {
    nchw: () => dY,
    byChannel: () => (byChannel ??= g.op('Reshape', [g.op('Transpose', [dY], { perm: [1, 0, ...Array.from({ length: r }, (_, i) => i + 2)] }), g.ints([O, -1])])),
  };
}

function blockedGrad(g: GraphBuilder, dYb: string, O: number, B: number, positions: number): ConvOutputGrad {
  // Transposing the blocked layout directly (its block axis is innermost) is several times slower
  // than reordering to NCHW first.
  let plain: ConvOutputGrad | undefined;
  const get = () => (plain ??= plainGrad(g, nchwcOp(g, 'ReorderOutput', [dYb], { channels: O }), O, 2));
  return { nchw: () => get().nchw(), byChannel: () => get().byChannel(), blocked: { t: dYb, B, positions } };
}

function emitLayer(c: Ctx, x: string, shape: Shape, l: LayerSpec): { out: string; shape: Shape } {
  const g = c.g;
  c.uses.set(x, (c.uses.get(x) ?? 0) + 1);
  const name = layerName(c, l);
  const train = c.mode === 'train';
  const where = `layer "${name}" (${l.type})`;
  switch (l.type) {
    case 'conv1d':
    case 'conv2d': {
      const { r, C, groups, s, attrs, outSpatial } = convGeometry(l, shape, where);
      const k = l.kernel;
      const W = param(c, name, 'weight', [l.filters, C / groups, ...new Array(r).fill(k)], { decay: true });
      const b = l.bias === false ? null : param(c, name, 'bias', [l.filters]);
      if (c.shapesOnly) return { out: x, shape: [l.filters, ...outSpatial] };
      const blocked = c.mode !== 'infer' && nchwcApplies(c.nchwcBlock, C, l.filters, attrs);
      const y = blocked ? nchwcConv(g, x, W, b, C, l.filters, attrs, c.nchwcBlock, c.blocked.get(x)) : g.layer('Conv', b ? [x, W, b] : [x, W], { ...attrs }, name);
      if (train) {
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (!dY) return;
          if (!c.params.find((p) => p.name === W)!.frozen) {
            const wg = convWeightGrad(g, x, plainGrad(g, dY, l.filters, r), attrs, l.filters, C, r, c.parallel, !!b, shape.slice(1), outSpatial, c.channelsLast.get(x));
            c.grads.set(W, wg.w);
            if (b) c.grads.set(b, wg.b ?? g.op('ReduceSum', [dY, g.ints([0, ...Array.from({ length: r }, (_, i) => i + 2)])], { keepdims: 0 }));
          }
          if (!isInput(c, x)) {
            if (s !== 1 && shape.some((v) => v === null)) throw new Error(`${where}: training a strided convolution needs a fixed input size`);
            // The adjoint is a convolution from the output's channels to the input's.
            let blockedDx: string | undefined;
            const conv = nchwcApplies(c.nchwcBlock, l.filters, C, attrs)
              ? (s: string, w: string, a: Conv2dAttrs) => nchwcOp(g, 'ReorderOutput', [(blockedDx = adjointConv(g, l.filters % c.nchwcBlock ? s : nchwcOp(g, 'ReorderInput', [s], {}), W, w, l.filters, C, a, c.nchwcBlock))], { channels: C })
              : undefined;
            giveConvInputGrad(c, x, convInputGrad(g, c.flipAdjoint, dY, W, [l.filters, C / groups, ...attrs.kernel_shape], attrs, shape.slice(1) as number[], outSpatial as number[], conv), blockedDx, give);
          }
        });
      }
      return { out: y, shape: [l.filters, ...outSpatial] };
    }
    case 'dense': {
      const inF = shape[shape.length - 1];
      if (inF === null || inF === undefined) throw new Error(`${where} needs a fixed last dimension, got ${JSON.stringify(shape)} (add a flatten layer)`);
      const W = param(c, name, 'weight', [inF, l.units], { decay: true });
      const b = l.bias === false ? null : param(c, name, 'bias', [l.units]);
      const outShape = [...shape.slice(0, -1), l.units];
      if (c.shapesOnly) return { out: x, shape: outShape };
      const mm = g.layer('MatMul', [x, W], {}, name);
      const y = b ? g.add(mm, b) : mm;
      if (train) {
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (!dY) return;
          const dY2 = g.op('Reshape', [dY, g.ints([-1, l.units])]);
          const x2 = g.op('Reshape', [x, g.ints([-1, inF])]);
          setGrad(c, W, () => g.op('MatMul', [g.op('Transpose', [x2], { perm: [1, 0] }), dY2]));
          if (b) setGrad(c, b, () => g.op('ReduceSum', [dY2, g.ints([0])], { keepdims: 0 }));
          if (!isInput(c, x)) give(x, g.op('MatMul', [dY, g.op('Transpose', [W], { perm: [1, 0] })]));
        });
      }
      return { out: y, shape: outShape };
    }
    case 'relu':
    case 'tanh':
    case 'sigmoid':
    case 'leakyrelu': {
      if (c.shapesOnly) return { out: x, shape };
      const op = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', leakyrelu: 'LeakyRelu' }[l.type];
      const alpha = l.type === 'leakyrelu' ? (l.alpha ?? 0.01) : undefined;
      const y = g.layer(op, [x], alpha !== undefined ? { alpha } : {}, name);
      if (l.type === 'relu') c.reluOf.set(y, x);
      if (train) {
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (!dY || isInput(c, x)) return;
          const zero = g.scalar(0);
          const one = g.scalar(1);
          if (l.type === 'relu') give(x, g.mul(dY, positive(g, y)));
          else if (l.type === 'leakyrelu') give(x, g.op('Where', [g.op('Greater', [x, zero]), dY, g.mul(dY, g.scalar(alpha!))]));
          else if (l.type === 'tanh') give(x, g.mul(dY, g.sub(one, g.mul(y, y))));
          else give(x, g.mul(dY, g.mul(y, g.sub(one, y))));
        });
      }
      return { out: y, shape };
    }
    case 'maxpool':
    case 'avgpool': {
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
              const masked = g.mul(dY, positive(g, y!));
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
          const inDims = shape.slice(1) as number[];
          const outDims = outShape.slice(1) as number[];
          if (numel(inDims) * numel(outDims) <= 2 ** 18) {
            // Small maps: the pool is a fixed linear map of each channel's positions, so its
            // adjoint is one product dY [N·C, P_out] × A [P_out, P_in] — much faster here than
            // the general depthwise transposed convolution, and no padding afterwards.
            const A = float32([numel(outDims), numel(inDims)]);
            const a = A.data as Float32Array;
            for (let q = 0; q < numel(outDims); q++) {
              const qPos = outDims.map((_, i) => Math.floor(q / numel(outDims.slice(i + 1))) % outDims[i]!);
              const window = qPos.map((v, i) => [Math.max(v * s - p, 0), Math.min(v * s - p + k, inDims[i]!)] as const);
              const cells: number[] = [];
              const walk = (i: number, flat: number) => {
                if (i === r) cells.push(flat);
                else for (let v = window[i]![0]; v < window[i]![1]; v++) walk(i + 1, flat * inDims[i]! + v);
              };
              walk(0, 0);
              for (const cell of cells) a[q * numel(inDims) + cell] = 1 / cells.length; // padding is not counted
            }
            const flat = g.op('MatMul', [g.op('Reshape', [dY, g.ints([-1, numel(outDims)])]), g.initializer(`${name}_adjoint`, A)]);
            give(x, g.op('Reshape', [flat, g.ints([-1, ...(shape as number[])])]));
          } else {
            const geo = avgPoolGeometry(node, in1, [1, ...(outShape as number[])]);
            give(x, avgPoolAdjoint(g, node, dY, geo, in1, name));
          }
        });
      }
      return { out: y, shape: outShape };
    }
    case 'globalavgpool':
    case 'globalmaxpool': {
      const outShape = [shape[0]!, ...shape.slice(1).map(() => 1)];
      if (c.shapesOnly) return { out: x, shape: outShape };
      const avg = l.type === 'globalavgpool';
      const y = g.layer(avg ? 'GlobalAveragePool' : 'GlobalMaxPool', [x], {}, name);
      if (train) {
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (!dY || isInput(c, x)) return;
          if (avg) {
            const ones = g.op('ConstantOfShape', [g.op('Shape', [x])], { value: float32([1], [1]) });
            const K = g.op('ReduceSum', [ones, g.ints(shape.slice(1).map((_, i) => i + 2))], { keepdims: 1 });
            give(x, g.div(g.op('Expand', [dY, g.op('Shape', [x])]), K));
          } else {
            // First maximum over the flattened spatial positions gets the gradient.
            const xf = g.op('Reshape', [x, g.ints([0, 0, -1])]);
            const am = g.op('ArgMax', [xf], { axis: 2, keepdims: 1 });
            const S = g.op('Gather', [g.op('Shape', [xf]), g.ints([2])], { axis: 0 });
            const range = g.op('Range', [g.op('Cast', [g.scalar(0)], { to: ELEM.INT64 }), g.op('Squeeze', [S, g.ints([0])]), g.op('Cast', [g.scalar(1)], { to: ELEM.INT64 })]);
            const mask = g.op('Cast', [g.op('Equal', [range, am])], { to: ELEM.FLOAT });
            give(x, g.op('Reshape', [g.mul(mask, g.op('Reshape', [dY, g.ints([0, 0, 1])])), g.op('Shape', [x])]));
          }
        });
      }
      return { out: y, shape: outShape };
    }
    case 'dropout': {
      if (c.shapesOnly || c.mode !== 'train' || l.rate === 0) return { out: x, shape };
      const ratio = g.scalar(l.rate);
      const on = g.initializer('training_mode', { dtype: 'bool', dims: [], data: new Uint8Array([1]) });
      if (l.per === 'position') {
        // One kept/dropped draw per sample and position, shared by all channels: dropout of a
        // ones tensor [N, 1, …] (already scaled by 1/(1−rate)) multiplies x by broadcasting.
        const xs = g.op('Shape', [x]);
        const oneShape = g.op('Concat', [g.op('Slice', [xs, g.ints([0]), g.ints([1])]), g.ints([1]), g.op('Slice', [xs, g.ints([2]), g.ints([2 ** 62])])], { axis: 0 });
        const ones = g.op('ConstantOfShape', [oneShape], { value: float32([1], [1]) });
        // The factor is built from the mask output: ONNX Runtime drops a Dropout whose mask is unused.
        const [, kept] = g.opN('Dropout', [ones, ratio, on], 2, { seed: c.dropoutSeed++ }, name);
        const m = g.mul(g.op('Cast', [kept!], { to: ELEM.FLOAT }), g.scalar(1 / (1 - l.rate)));
        const y = g.mul(x, m);
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (dY && !isInput(c, x)) give(x, g.mul(dY, m));
        });
        return { out: y, shape };
      }
      const [y, mask] = g.opN('Dropout', [x, ratio, on], 2, { seed: c.dropoutSeed++ }, name);
      c.tape.push((grad, give) => {
        const dY = grad(y!);
        if (dY && !isInput(c, x)) give(x, g.mul(g.mul(dY, g.op('Cast', [mask!], { to: ELEM.FLOAT })), g.scalar(1 / (1 - l.rate))));
      });
      return { out: y!, shape };
    }
    case 'batchnorm': {
      const C = shape[0]!;
      const gamma = param(c, name, 'gamma', [C]);
      const beta = param(c, name, 'beta', [C]);
      const rm = param(c, name, 'running_mean', [C], { buffer: true });
      const rv = param(c, name, 'running_var', [C], { buffer: true });
      if (c.shapesOnly) return { out: x, shape };
      const eps = l.epsilon ?? 1e-5;
      if (!train) return { out: g.layer('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: eps }, name), shape };
      if (c.frozen.has(name)) {
        // A frozen batch norm stays in inference form: a fixed per-channel affine map.
        const y = g.layer('BatchNormalization', [x, gamma, beta, rm, rv], { epsilon: eps }, name);
        const gv = c.values!.get(gamma)!.data as Float32Array;
        const vv = c.values!.get(rv)!.data as Float32Array;
        const scale = g.initializer(`${name}/scale`, float32([C, ...new Array(shape.length - 1).fill(1)], gv.map((v, i) => v / Math.sqrt(vv[i]! + eps))));
        c.tape.push((grad, give) => {
          const dY = grad(y);
          if (dY && !isInput(c, x)) give(x, g.mul(dY, scale));
        });
        return { out: y, shape };
      }
      const m = l.momentum ?? 0.1;
      const rank = shape.length + 1;
      const axisList = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
      const axes = g.ints(axisList);
      // ReduceMean takes its axes as an attribute up to opset 17.
      const reduceMean = (t: string) => g.op('ReduceMean', [t], { axes: axisList, keepdims: 1 });
      const perC = (t: string) => g.op('Reshape', [t, g.ints([C, ...new Array(rank - 2).fill(1)])]);
      const mean = reduceMean(x);
      const xc = g.sub(x, mean);
      const v = reduceMean(g.mul(xc, xc));
      const invstd = g.div(g.scalar(1), g.op('Sqrt', [g.add(v, g.scalar(eps))]));
      const xhat = g.mul(xc, invstd);
      const y = g.add(g.mul(xhat, perC(gamma)), perC(beta));
      // Running statistics (unbiased variance), as PyTorch keeps them.
      const count = g.op('Div', [g.op('Cast', [g.op('Size', [x])], { to: ELEM.FLOAT }), g.scalar(C)]);
      const unbias = g.div(count, g.op('Max', [g.sub(count, g.scalar(1)), g.scalar(1)]));
      const flat = (t: string) => g.op('Reshape', [t, g.ints([C])]);
      c.bufferUpdates.set(rm, g.add(g.mul(rm, g.scalar(1 - m)), g.mul(flat(mean), g.scalar(m))));
      c.bufferUpdates.set(rv, g.add(g.mul(rv, g.scalar(1 - m)), g.mul(g.mul(flat(v), unbias), g.scalar(m))));
      c.tape.push((grad, give) => {
        const dY = grad(y);
        if (!dY) return;
        setGrad(c, beta, () => g.op('ReduceSum', [dY, axes], { keepdims: 0 }));
        setGrad(c, gamma, () => g.op('ReduceSum', [g.mul(dY, xhat), axes], { keepdims: 0 }));
        if (isInput(c, x)) return;
        const dxhat = g.mul(dY, perC(gamma));
        const meanD = reduceMean(dxhat);
        const meanDX = reduceMean(g.mul(dxhat, xhat));
        give(x, g.mul(invstd, g.sub(g.sub(dxhat, meanD), g.mul(xhat, meanDX))));
      });
      return { out: y, shape };
    }
    case 'lrn': {
      if (c.shapesOnly) return { out: x, shape };
      const a = { size: l.size, alpha: l.alpha ?? 1e-4, beta: l.beta ?? 0.75, bias: l.bias ?? 1 };
      const y = g.layer('LRN', [x], { ...a }, name);
      if (train) c.tape.push((grad, give) => {
        const dY = grad(y);
        if (dY && !isInput(c, x)) give(x, lrnGradient(g, x, dY, shape[0]!, a));
      });
      return { out: y, shape };
    }
    case 'flatten': {
      const outShape = [prod(shape)];
      if (c.shapesOnly) return { out: x, shape: [Number.isNaN(outShape[0]) ? null : outShape[0]!] };
      const y = g.layer('Flatten', [x], { axis: 1 }, name);
      if (train) c.tape.push((grad, give) => {
        const dY = grad(y);
        if (dY && !isInput(c, x)) give(x, g.op('Reshape', [dY, g.op('Shape', [x])]));
      });
      return { out: y, shape: [Number.isNaN(outShape[0]) ? null : outShape[0]!] };
    }
    case 'embedding': {
      if (shape.length !== 1) throw new Error(`${where} reads token ids [length], got ${JSON.stringify(shape)}`);
      if (l.padId !== undefined && !(Number.isInteger(l.padId) && l.padId >= 0 && l.padId < l.vocab)) throw new Error(`${where}: padId must be a token id below vocab ${l.vocab}`);
      const table = param(c, name, 'weight', [l.vocab, l.dim], { decay: false, padRow: l.padId });
      const outShape = [l.dim, shape[0]!];
      if (c.shapesOnly) return { out: x, shape: outShape };
      const E = g.layer('Gather', [table, x], { axis: 0 }, name);
      const y = g.op('Transpose', [E], { perm: [0, 2, 1] }, `${name}/channels_first`);
      if (train) c.tape.push((grad) => {
        const dY = grad(y);
        if (!dY) return;
        let dE = g.op('Reshape', [g.op('Transpose', [dY], { perm: [0, 2, 1] }), g.ints([-1, l.dim])]);
        const ids = g.op('Reshape', [x, g.ints([-1, 1])]);
        if (l.padId !== undefined) {
          const notPad = g.op('Not', [g.op('Equal', [ids, g.ints([l.padId])])]);
          dE = g.mul(dE, g.op('Cast', [notPad], { to: ELEM.FLOAT }));
        }
        const idx = g.op('Expand', [ids, g.op('Shape', [dE])]);
        const zeros = g.op('ConstantOfShape', [g.ints([l.vocab, l.dim])], { value: float32([1], [0]) });
        setGrad(c, table, () => g.op('ScatterElements', [zeros, idx, dE], { axis: 0, reduction: 'add' }));
      });
      return { out: y, shape: outShape };
    }
    case 'residual': {
      // Both branches read x: the body f and the shortcut (a projection such as a strided 1×1
      // convolution, or none: the identity).
      const body = emit(c, x, shape, l.layers);
      const skip = emit(c, x, shape, l.shortcut ?? []);
      if (body.shape.join() !== skip.shape.join()) {
        const what = l.shortcut?.length ? `its shortcut to ${JSON.stringify(skip.shape)}` : 'the identity shortcut keeps it';
        throw new Error(`${where}: the block maps ${JSON.stringify(shape)} to ${JSON.stringify(body.shape)} but ${what}; both branches must give the same shape`);
      }
      if (c.shapesOnly) return { out: x, shape: body.shape };
      const y = g.add(skip.out, body.out);
      if (train) c.tape.push((grad, give) => {
        const dY = grad(y);
        if (!dY) return;
        // Each branch output gets dY; where both reach x, `give` sums the two contributions.
        for (const t of [body.out, skip.out]) if (!isInput(c, t)) give(t, dY);
      });
      return { out: y, shape: body.shape };
    }
    case 'concat': {
      const outs = l.branches.map((b) => emit(c, x, shape, b));
      const rest = outs[0]!.shape.slice(1).join();
      if (outs.some((o) => o.shape.slice(1).join() !== rest)) throw new Error(`${where}: branches must agree on all but the channel axis: ${outs.map((o) => JSON.stringify(o.shape)).join(' vs ')}`);
      const outShape = [outs.reduce((a, o) => a + o.shape[0]!, 0), ...outs[0]!.shape.slice(1)];
      if (c.shapesOnly) return { out: x, shape: outShape };
      const y = g.layer('Concat', outs.map((o) => o.out), { axis: 1 }, name);
      if (train) c.tape.push((grad, give) => {
        const dY = grad(y);
        if (!dY) return;
        const parts = g.opN('Split', [dY, g.ints(outs.map((o) => o.shape[0]!))], outs.length, { axis: 1 });
        outs.forEach((o, i) => give(o.out, parts[i]!));
      });
      return { out: y, shape: outShape };
    }
  }
}

/** t needs no gradient: a data input, or computed from data inputs alone (the input normalisation). */
function isInput(c: Ctx, t: string): boolean {
  if (c.inputGradient && t === 'input') return false;
  return c.dataOnly.has(t) || (c.g.graph.inputs.some((i) => i.name === t) && !c.params.some((p) => p.name === t));
}

/** dL/dx of a convolution: the transposed convolution with the current (input) weights. */
function convInputGrad(g: GraphBuilder, flip: boolean, dY: string, W: string, wDims: number[], attrs: Conv2dAttrs, inSpatial: number[], outSpatial: number[], conv?: (s: string, w: string, a: Conv2dAttrs) => string): string {
  const geo: ConvGeometry = { kernel: attrs.kernel_shape, strides: attrs.strides, dilations: attrs.dilations, pads: attrs.pads, group: attrs.group, inSpatial, outSpatial };
  const weight = (variant: string) => {
    if (variant !== 'W_flip') return W;
    // Flip the kernel and swap its channel axes per group, in the graph (weights change every step).
    const [O, Cg, ...ks] = wDims as [number, number, ...number[]];
    const G = attrs.group;
    const grouped = g.op('Reshape', [W, g.ints([G, O / G, Cg, ...ks])]);
    const swapped = g.op('Transpose', [grouped], { perm: [0, 2, 1, ...ks.map((_, i) => i + 3)] });
    const merged = g.op('Reshape', [swapped, g.ints([G * Cg, O / G, ...ks])]);
    const axes = ks.map((_, i) => i + 2);
    return g.op('Slice', [merged, g.ints(axes.map(() => -1)), g.ints(axes.map(() => -(2 ** 62))), g.ints(axes), g.ints(axes.map(() => -1))]);
  };
  return convAdjoint(g, dY, { dtype: 'float32', dims: wDims, data: new Float32Array(0) }, geo, weight, { flip, conv });
}

/**
 * dL/dW of a convolution as matrix products: the input's patches (im2col: a Gather where the map's
 * size is known, else one strided Slice per kernel offset) against dY, i.e.
 * dW[o, (c,u,v)] = Σ_{n,p} dY[n,o,p]·x[n,c,p·s+u·d]. Grouped convolutions do this per group.
 * Returns the bias gradient too where it comes free.
 */
function convWeightGrad(g: GraphBuilder, x: string, dY: ConvOutputGrad, attrs: Conv2dAttrs, O: number, C: number, r: number, parallel: boolean, bias: boolean, inSpatial: Shape, outSpatial: Shape, channelsLast?: () => string): { w: string; b?: string } {
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
    // Measured per fmnist-cnn step: 25.5 → 22.7 ms on 2 threads, ≈0.7-1.2 ms less on 1 thread.
    // (Up to 4 MB of patches per sample; beyond that, one product per kernel offset.)
    const xl = channelsLast?.() ?? g.op('Transpose', [x], { perm: [0, ...spatialAxes, 1] });
    const xp = attrs.pads.some((q) => q > 0) ? g.op('Pad', [xl, g.ints([0, ...attrs.pads.slice(0, r), 0, 0, ...attrs.pads.slice(r), 0])]) : xl;
    const x3 = g.op('Reshape', [xp, g.ints([0, numel(padDims), C])]);
    const I = patchIndex(kernelOffsets(k));
    const gathered = g.op('Gather', [x3, I], { axis: 1 });
    let w: string;
    if (!parallel && prod(outSpatial) >= 128) {
      // One thread, large maps: per-sample products dY[n] [O, P] × patches[n] [P, K·C] summed
      // over samples read dY as it is (no transpose); measured 4.44 → 4.04 ms for a 14×14 map
      // with 32 → 64 channels. On more threads the single wide product spreads better.
      const per = g.op('MatMul', [g.op('Reshape', [dY.nchw(), g.ints([0, O, -1])]), g.op('Reshape', [gathered, g.ints([0, -1, K * C])])]);
      w = g.op('ReduceSum', [per, g.ints([0])], { keepdims: 0 });
    } else if (!parallel) {
      // One thread, small maps: patchesᵀ [K·C, N·P] × dY channels-last [N·P, O] (the transpose
      // fuses into the product) runs faster than dY [O, N·P] × patches (A/B: -0.5 to -1 ms per
      // fmnist-cnn step); on more threads the other order spreads better.
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
    const slices = offsets.map((off) => g.op('Reshape', [known ? g.op('Gather', [x3, patchIndex([off])], { axis: 1 }) : slice(xl, spatialAxes.map((a) => a - 1))(off), g.ints([-1, Cg])]));
    if (parallel && slices.length > 1) {
      // One batched product over the kernel offsets ([Og, N·P] × [K, N·P, Cg]): ONNX Runtime
      // spreads its batch over threads, which separate products with a long inner axis do not
      // allow. On one thread the extra copy into the stack costs more than it gains.
      const stacked = g.op('Concat', slices.map((sl) => g.op('Unsqueeze', [sl, g.ints([0])])), { axis: 0 });
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
  return { w: g.op('Concat', xs.map((xi, i) => one(xi, plainGrad(g, ds[i]!, O / G, r), C / G, O / G)), { axis: 0 }) };
}

/** Kernel offsets in row-major order (the weight layout's). */
function kernelOffsets(k: number[]): number[][] {
  const out: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === k.length) out.push(prefix);
    else for (let u = 0; u < k[prefix.length]!; u++) walk([...prefix, u]);
  };
  walk([]);
  return out;
}

/**
 * Up to this many input channels, a weight gradient is one product per sample (measured on
 * 2 cores, AVX-512: 2.8× faster at 1 channel, 2.2× at 3, even at 8, slower at 16).
 */
const SMALL_INPUT_CHANNELS = 4;

export function buildGraph(spec: ModelSpec, mode: Mode, opts: BuildOptions = {}): BuiltGraph {
  const built = emitGraph(spec, mode, opts);
  // Nodes nobody reads (NCHW copies of blocked tensors whose readers took the blocked one).
  if (!opts.shapesOnly) pruneUnused(built.graph);
  return built;
}

export interface BuildOptions { values?: Map<string, TensorData>; shapesOnly?: boolean; loss?: LossSpec; optimizer?: OptimizerSpec; dropoutSeed?: number; frozen?: string[]; nchwcBlock?: number; inputGradient?: boolean; threads?: number; /** Default true: see Ctx.flipAdjoint. */ flipAdjoint?: boolean }

function emitGraph(spec: ModelSpec, mode: Mode, opts: BuildOptions): BuiltGraph {
  const graph: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
  const g = new GraphBuilder(graph, 'm');
  const ints = spec.input.dtype === 'int64';
  graph.inputs.push({ name: 'input', elemType: ints ? ELEM.INT64 : ELEM.FLOAT, shape: ['batch', ...spec.input.shape.map((d, i) => d ?? `dim${i}`)] });
  const c: Ctx = { g, mode, params: [], values: opts.values, shapesOnly: !!opts.shapesOnly, tape: [], grads: new Map(), bufferUpdates: new Map(), counter: new Map(), dropoutSeed: opts.dropoutSeed ?? 1, reluOf: new Map(), uses: new Map(), frozen: new Set(opts.frozen ?? []), blocked: new Map(), channelsLast: new Map(), blockedGrads: new Map(), nchwcBlock: opts.nchwcBlock ?? 0, dataOnly: new Set(), inputGradient: !!opts.inputGradient && mode === 'train', parallel: opts.threads !== 1, flipAdjoint: opts.flipAdjoint ?? true };
  if (c.inputGradient && ints) throw new Error('an input gradient needs float inputs (token ids have none)');
  let x = 'input';
  if (spec.normalize && !c.shapesOnly) {
    const std = spec.normalize.std;
    const xn = g.div(g.sub(x, g.scalar(spec.normalize.mean)), g.scalar(std));
    if (c.inputGradient) {
      c.tape.push((grad, give) => {
        const d = grad(xn);
        if (d) give('input', g.div(d, g.scalar(std)));
      });
    } else c.dataOnly.add(xn);
    x = xn;
  }
  const { out, shape } = emit(c, x, spec.input.shape, spec.layers);
  const built: BuiltGraph = { graph, params: c.params, input: 'input', output: out, outputShape: shape };
  if (c.shapesOnly) return built;
  // The output keeps a stable name.
  const logits = 'logits';
  graph.nodes.push({ op: 'Identity', name: 'logits_identity', inputs: [out], outputs: [logits], attrs: {} });
  built.output = logits;
  graph.outputs.push({ name: logits, elemType: ELEM.FLOAT, shape: ['batch', ...shape.map((d) => d ?? 'n')] });
  if (mode !== 'train') return built;

  // Loss and its gradient at the logits.
  const loss = opts.loss ?? { kind: 'cross-entropy' };
  if (shape.length !== 1 || shape[0] === null) throw new Error(`the model's output must be [batch, outputs] for training; it is ${JSON.stringify(['batch', ...shape])} (add flatten/dense layers)`);
  const K = shape[0]!;
  const { lossValue, dLogits, labels, mask } = emitLoss(g, logits, K, loss);
  built.labels = labels;
  built.mask = mask;
  built.loss = lossValue;
  graph.outputs.push({ name: lossValue, elemType: ELEM.FLOAT, shape: [] });

  const grads = new Map<string, string[]>([[logits, [dLogits]], [out, [dLogits]]]);
  const grad = (t: string) => {
    const parts = grads.get(t);
    return parts ? g.sum(parts) : null;
  };
  const give = (t: string, d: string) => (grads.get(t) ?? grads.set(t, []).get(t)!).push(d);
  for (let i = c.tape.length - 1; i >= 0; i--) c.tape[i]!(grad, give);
  if (c.inputGradient) {
    const d = grad('input') ?? g.op('ConstantOfShape', [g.op('Shape', ['input'])], { value: float32([1], [0]) });
    built.inputGrad = g.op('Identity', [d], {}, 'input_grad');
    graph.outputs.push({ name: built.inputGrad, elemType: ELEM.FLOAT, shape: ['batch', ...spec.input.shape.map((v, i) => v ?? `dim${i}`)] });
  }

  // Optimizer.
  const opt = opts.optimizer ?? { kind: 'adam' };
  const lr = 'lr';
  graph.inputs.push({ name: lr, elemType: ELEM.FLOAT, shape: [] });
  built.lr = lr;
  built.updated = new Map();
  built.states = [];
  const wd = opt.weightDecay ?? 0;
  const trained: ParamInfo[] = [];
  for (const p of c.params) {
    if (p.frozen) continue;
    if (p.buffer) {
      const u = c.bufferUpdates.get(p.name)!;
      built.updated.set(p.name, u);
      graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
    } else {
      if (!c.grads.has(p.name)) throw new Error(`internal: no gradient for ${p.name}`);
      trained.push(p);
    }
  }
  if (!trained.length) return built;
  // One update over all parameters as a single flat vector: a dozen element-wise ops instead of
  // a dozen per parameter, and one tensor per optimizer slot to feed and fetch.
  const sizes = trained.map((p) => numel(p.dims));
  const total = sizes.reduce((a, b) => a + b, 0);
  const flat = (names: string[]) => (names.length === 1 ? g.op('Reshape', [names[0]!, g.ints([-1])]) : g.op('Concat', names.map((n) => g.op('Reshape', [n, g.ints([-1])])), { axis: 0 }));
  const P = flat(trained.map((p) => p.name));
  let gr = flat(trained.map((p) => c.grads.get(p.name)!));
  const state = (slot: string) => {
    const name = `optimizer.${slot}`;
    graph.inputs.push({ name, elemType: ELEM.FLOAT, shape: [total] });
    built.states!.push({ name, slot, dims: [total], params: trained.map((p) => p.name) });
    return name;
  };
  const output = (from: string, to: string) => {
    built.updated!.set(from, to);
    graph.outputs.push({ name: to, elemType: ELEM.FLOAT, shape: [total] });
  };
  // Weight decay applies to weights only: a per-element 0/1 mask when some parameters are exempt.
  const decayed = trained.map((p) => p.decay);
  const decayOf = (t: string) => {
    if (decayed.every(Boolean)) return t;
    const mask = float32([total]);
    let at = 0;
    trained.forEach((p, i) => {
      if (p.decay) (mask.data as Float32Array).fill(1, at, at + sizes[i]!);
      at += sizes[i]!;
    });
    return g.mul(t, g.initializer('decay_mask', mask));
  };
  const anyDecay = wd > 0 && decayed.some(Boolean);
  let next: string;
  if (opt.kind === 'sgd') {
    if (anyDecay) gr = g.add(gr, decayOf(g.mul(P, g.scalar(wd))));
    const mom = opt.momentum ?? 0.9;
    if (mom > 0) {
      const v = state('velocity');
      const v2 = g.add(g.mul(v, g.scalar(mom)), gr);
      output(v, v2);
      gr = v2;
    }
    next = g.sub(P, g.mul(gr, lr));
  } else {
    const b1 = opt.beta1 ?? 0.9;
    const b2 = opt.beta2 ?? 0.999;
    const m = state('m');
    const v = state('v');
    const m2 = g.add(g.mul(m, g.scalar(b1)), g.mul(gr, g.scalar(1 - b1)));
    const v2 = g.add(g.mul(v, g.scalar(b2)), g.mul(g.mul(gr, gr), g.scalar(1 - b2)));
    output(m, m2);
    output(v, v2);
    // lr arrives bias-corrected: lr·√(1−β2ᵗ)/(1−β1ᵗ); decoupled weight decay (AdamW) uses the plain rate in `lr_wd`.
    next = g.sub(P, g.mul(g.div(m2, g.add(g.op('Sqrt', [v2]), g.scalar(opt.eps ?? 1e-8))), lr));
    if (anyDecay) {
      graph.inputs.push({ name: 'lr_wd', elemType: ELEM.FLOAT, shape: [] });
      next = g.sub(next, decayOf(g.mul(P, g.mul('lr_wd', g.scalar(wd)))));
    }
  }
  const parts = trained.length === 1 ? [next] : g.opN('Split', [next, g.ints(sizes)], trained.length, { axis: 0 });
  trained.forEach((p, i) => {
    const u = g.op('Reshape', [parts[i]!, g.ints(p.dims)], {}, `${p.name}_next`);
    built.updated!.set(p.name, u);
    graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
  });
  return built;
}

function emitLoss(g: GraphBuilder, logits: string, K: number, loss: LossSpec): { lossValue: string; dLogits: string; labels: string; mask?: string } {
  const graph = g.graph;
  const labels = 'labels';
  if (loss.kind === 'cross-entropy') {
    graph.inputs.push({ name: labels, elemType: ELEM.INT64, shape: ['batch'] });
    const N = g.op('Cast', [g.op('Gather', [g.op('Shape', [logits]), g.ints([0])], { axis: 0 })], { to: ELEM.FLOAT });
    const logp = g.op('LogSoftmax', [logits], { axis: 1 });
    const classes = g.initializer('classes', int64([1, K], Array.from({ length: K }, (_, i) => i)));
    const onehot = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [labels, g.ints([1])]), classes])], { to: ELEM.FLOAT });
    const lossValue = g.op('ReduceSum', [g.div(g.op('Neg', [g.mul(onehot, logp)]), N)], { keepdims: 0 }, 'loss');
    const dLogits = g.div(g.sub(g.op('Exp', [logp]), onehot), N);
    return { lossValue, dLogits, labels };
  }
  graph.inputs.push({ name: labels, elemType: ELEM.FLOAT, shape: ['batch', K] });
  const diff = g.sub(logits, labels);
  if (loss.kind === 'mse') {
    const count = g.op('Cast', [g.op('Size', [logits])], { to: ELEM.FLOAT });
    const lossValue = g.op('ReduceSum', [g.div(g.mul(diff, diff), count)], { keepdims: 0 }, 'loss');
    return { lossValue, dLogits: g.div(g.mul(diff, g.scalar(2)), count), labels };
  }
  // Multi-task: per output, the mean over samples where it is present (mask 1), weighted.
  const mask = 'mask';
  graph.inputs.push({ name: mask, elemType: ELEM.FLOAT, shape: ['batch', K] });
  const w = g.initializer('task_weights', float32([1, K], loss.weights ?? new Array(K).fill(1)));
  const count = g.op('Max', [g.op('ReduceSum', [mask, g.ints([0])], { keepdims: 1 }), g.scalar(1)]);
  const scale = g.div(g.mul(mask, w), count);
  const mdiff = g.op('Where', [g.op('Greater', [mask, g.scalar(0)]), diff, g.scalar(0)]);
  if (loss.kind === 'multitask-mse') {
    const lossValue = g.op('ReduceSum', [g.mul(g.mul(mdiff, mdiff), scale)], { keepdims: 0 }, 'loss');
    return { lossValue, dLogits: g.mul(g.mul(mdiff, g.scalar(2)), scale), labels, mask };
  }
  const lossValue = g.op('ReduceSum', [g.mul(g.op('Abs', [mdiff]), scale)], { keepdims: 0 }, 'loss');
  return { lossValue, dLogits: g.mul(g.op('Sign', [mdiff]), scale), labels, mask };
}
