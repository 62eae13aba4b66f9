/**
 * The state shared while a model spec becomes a graph: the graph builder, the parameters met so
 * far, the backward tape (closures run in reverse order to build the gradients) and the layout
 * bookkeeping of blocked convolutions. Layer emitters (train/layers/) read and extend it.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import type { LayerSpec } from './spec.js';

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
  /** Projected onto ≤ 0 after every optimizer step (biases declared "nonpositive"). */
  nonPositive?: boolean;
  /** Embedding tables: the padding token's row, kept at zero. */
  padRow?: number;
  /**
   * How the parameter is initialised: `fan` for dense/conv weights (He or Glorot from the inputs
   * each output reads and the outputs each input feeds, which only the layer knows from its
   * layout), `embedding` for lookup tables, `one` (batch-norm scale and running variance);
   * anything else starts at zero.
   */
  init?: { fanIn: number; fanOut: number } | 'embedding' | 'one';
}

export type Shape = (number | null)[];

export interface Ctx {
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
export function setGrad(c: Ctx, name: string, make: () => string) {
  if (!c.params.find((p) => p.name === name)?.frozen) c.grads.set(name, make());
}

export function param(
  c: Ctx,
  layer: string,
  suffix: string,
  dims: number[],
  opts: { decay?: boolean; buffer?: boolean; padRow?: number; init?: ParamInfo['init']; nonPositive?: boolean } = {},
): string {
  const name = `${layer}.${suffix}`;
  const frozen = c.mode === 'train' && c.frozen.has(layer);
  c.params.push({
    name,
    dims,
    decay: opts.decay ?? false,
    buffer: opts.buffer ?? false,
    layer,
    frozen,
    padRow: opts.padRow,
    init: opts.init,
    nonPositive: opts.nonPositive,
  });
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

export function layerName(c: Ctx, l: LayerSpec): string {
  if (l.name) return l.name;
  const k = c.counter.get(l.type) ?? 0;
  c.counter.set(l.type, k + 1);
  return `${l.type}_${k}`;
}

export const prod = (s: Shape) => s.reduce<number>((a, b) => a * (b ?? NaN), 1);

/** t needs no gradient: a data input, or computed from data inputs alone (the input normalisation). */
export function isInput(c: Ctx, t: string): boolean {
  if (c.inputGradient && t === 'input') return false;
  return c.dataOnly.has(t) || (c.g.graph.inputs.some((i) => i.name === t) && !c.params.some((p) => p.name === t));
}

/** What every layer emitter gets besides the context: its input, the input's shape (no batch axis), its name. */
export interface EmitArgs {
  x: string;
  shape: Shape;
  name: string;
  /** Building a training step (not evaluation or inference). */
  train: boolean;
  /** "layer "<name>" (<type>)", for messages. */
  where: string;
  /** Emit a nested sequence of layers (residual and concat blocks). */
  emit(x: string, shape: Shape, layers: LayerSpec[]): { out: string; shape: Shape };
}

/** The spec of the layer types T (members whose type admits every type in T). */
export type SpecOf<T extends LayerSpec['type']> = LayerSpec extends infer S ? (S extends { type: infer U } ? (T extends U ? S : never) : never) : never;

export type Emitter<T extends LayerSpec['type']> = (c: Ctx, l: SpecOf<T>, a: EmitArgs) => { out: string; shape: Shape };

/** A dense/conv layer's bias parameter as its spec declares it (none, free, or kept ≤ 0). */
export function biasParam(c: Ctx, layer: string, bias: boolean | 'nonpositive' | undefined, units: number): string | null {
  return bias === false ? null : param(c, layer, 'bias', [units], { nonPositive: bias === 'nonpositive' });
}
