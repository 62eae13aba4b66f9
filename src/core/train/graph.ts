/**
 * Graphs from a model spec: the inference graph (what is saved and explained), an evaluation
 * graph (the same with parameters as inputs), and the training-step graph: forward in training
 * mode (batch statistics, dropout), backward by the gradient rules, weight gradients, loss and
 * optimizer update, all run by ONNX Runtime in one call per mini-batch.
 */
import { GraphBuilder, pruneUnused } from '../onnx/builder.js';
import { ELEM, type Graph } from '../onnx/model.js';
import { float32, type TensorData } from '../onnx/tensor.js';
import { blockedConvReluMaxPool } from './blocked.js';
import { layerName, type Ctx, type Emitter, type Mode, type ParamInfo, type Shape } from './context.js';
import { LAYER_EMITTERS } from './layers/index.js';
import { emitLoss, type LossSpec } from './loss.js';
import { emitOptimizer } from './optimizer.js';
import type { LayerSpec, ModelSpec } from './spec.js';

export type { Mode, ParamInfo } from './context.js';
export type { LossSpec } from './loss.js';
export { initParams } from './init.js';

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
  /**
   * Optimizer state: one tensor per trained parameter and slot ("<param>.<slot>"), in parameter
   * order. `legacy`: older checkpoints kept it as slot `legacy.slot`, `scale` times smaller.
   */
  states?: { name: string; slot: string; dims: number[]; params: string[]; legacy: { slot: string; scale: number } }[];
}

/** Emit a sequence of layers; conv → relu → max pool runs blocked where it can (blocked.ts). */
function emit(c: Ctx, x: string, shape: Shape, layers: LayerSpec[]): { out: string; shape: Shape } {
  for (let i = 0; i < layers.length; i++) {
    const fused = i + 2 < layers.length ? blockedConvReluMaxPool(c, x, shape, layers[i]!, layers[i + 1]!, layers[i + 2]!) : null;
    if (fused) i += 2;
    ({ out: x, shape } = fused ?? emitLayer(c, x, shape, layers[i]!));
  }
  return { out: x, shape };
}

function emitLayer(c: Ctx, x: string, shape: Shape, l: LayerSpec): { out: string; shape: Shape } {
  c.uses.set(x, (c.uses.get(x) ?? 0) + 1);
  const name = layerName(c, l);
  const args = {
    x,
    shape,
    name,
    train: c.mode === 'train',
    where: `layer "${name}" (${l.type})`,
    emit: (x2: string, s2: Shape, ls: LayerSpec[]) => emit(c, x2, s2, ls),
  };
  return (LAYER_EMITTERS[l.type] as Emitter<typeof l.type>)(c, l, args);
}

export function buildGraph(spec: ModelSpec, mode: Mode, opts: BuildOptions = {}): BuiltGraph {
  const built = emitGraph(spec, mode, opts);
  // Nodes nobody reads (NCHW copies of blocked tensors whose readers took the blocked one).
  if (!opts.shapesOnly) pruneUnused(built.graph);
  return built;
}

export interface BuildOptions {
  values?: Map<string, TensorData>;
  shapesOnly?: boolean;
  loss?: LossSpec;
  optimizer?: OptimizerSpec;
  dropoutSeed?: number;
  frozen?: string[];
  nchwcBlock?: number;
  inputGradient?: boolean;
  threads?: number /** Default true: see Ctx.flipAdjoint. */;
  flipAdjoint?: boolean;
}

function emitGraph(spec: ModelSpec, mode: Mode, opts: BuildOptions): BuiltGraph {
  const graph: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
  const g = new GraphBuilder(graph, 'm');
  const ints = spec.input.dtype === 'int64';
  graph.inputs.push({ name: 'input', elemType: ints ? ELEM.INT64 : ELEM.FLOAT, shape: ['batch', ...spec.input.shape.map((d, i) => d ?? `dim${i}`)] });
  const c: Ctx = {
    g,
    mode,
    params: [],
    values: opts.values,
    shapesOnly: !!opts.shapesOnly,
    tape: [],
    grads: new Map(),
    bufferUpdates: new Map(),
    counter: new Map(),
    dropoutSeed: opts.dropoutSeed ?? 1,
    reluOf: new Map(),
    uses: new Map(),
    frozen: new Set(opts.frozen ?? []),
    blocked: new Map(),
    channelsLast: new Map(),
    blockedGrads: new Map(),
    nchwcBlock: opts.nchwcBlock ?? 0,
    dataOnly: new Set(),
    inputGradient: !!opts.inputGradient && mode === 'train',
    parallel: opts.threads !== 1,
    flipAdjoint: opts.flipAdjoint ?? true,
  };
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
  if (shape.length !== 1 || shape[0] === null)
    throw new Error(`the model's output must be [batch, outputs] for training; it is ${JSON.stringify(['batch', ...shape])} (add flatten/dense layers)`);
  const K = shape[0]!;
  const { lossValue, dLogits, labels, mask } = emitLoss(g, logits, K, loss);
  built.labels = labels;
  built.mask = mask;
  built.loss = lossValue;
  graph.outputs.push({ name: lossValue, elemType: ELEM.FLOAT, shape: [] });

  const grads = new Map<string, string[]>([
    [logits, [dLogits]],
    [out, [dLogits]],
  ]);
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

  emitOptimizer(g, built, c.params, c.grads, c.bufferUpdates, opts.optimizer ?? { kind: 'adam' });
  return built;
}
