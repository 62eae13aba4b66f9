/**
 * Compile a canonical model into an explainer graph: the forward graph plus a backward graph
 * carrying relevance (or a gradient) from the target logit to the attribution tensor. The steps
 * are written here in order (scale the attribution, seed the output, walk the layers backwards,
 * declare the outputs); what a layer emits is its kind's business (layers/), what a rule emits
 * the rule's (rules/).
 */
import { GraphBuilder, pruneUnused } from '../onnx/builder.js';
import { cloneGraph, ELEM, encodeModel, type Graph } from '../onnx/model.js';
import { float32, int64 } from '../onnx/tensor.js';
import { buildLayerView, type Layer, type LayerView } from '../layers/view.js';
import { probeShapes, type TensorInfo } from '../graph/shapes.js';
import type { Runtime } from '../runtime.js';
import type { CanonInfo } from '../graph/canonize.js';
import { layerKind } from '../layers/registry.js';
import type { BackwardContext } from '../layers/types.js';
import { BoxBoundsError, describeRule, type RuleSpec } from '../rules/spec.js';
import { nonNegativeTensors, relevanceVanishesAtNonPositive } from './analyses.js';
import { resolveRules, type Method, type RuleChoice } from './resolve.js';
import { boundsAtFirstLinear } from './input-range.js';

export interface CompileOptions extends RuleChoice {
  /** 'target': an int64 `target` input; 'relevance': an explicit float [N, classes] `relevance_seed` input. */
  seed?: 'target' | 'relevance';
  /** Add a float [N] `alpha` input scaling the attribution tensor (integrated gradients on embeddings). */
  scaleAttribution?: boolean;
  /** Range of the raw input values; sets zB/box bounds (unless given) through in-graph normalisation. */
  inputRange?: [number, number];
  /** Add per-sample relevance sums of every layer's input and output (the conservation audit). */
  audit?: boolean;
  /** Also output the relevance tensor at every layer's output. */
  layerRelevance?: boolean;
  /** Runs the shape probe (default: the registered default runtime). */
  runtime?: Runtime;
}

export interface LayerRecord {
  name: string;
  op: string;
  kind: string;
  rule: string;
  /** Output names of the per-sample relevance sums at the layer's output and inputs (audit only). */
  auditOut?: string;
  auditIn?: string;
  /** Output name of the relevance at the layer's output (layerRelevance only). */
  relevanceOut?: string;
  relevanceShape?: (number | string)[];
}

export interface CompiledExplainer {
  /** The explainer as ONNX bytes, encoded on each access (not kept: for large models it is a full copy of the weights). */
  readonly model: Uint8Array;
  graph: Graph;
  input: string;
  inputDtype: 'float32' | 'int64';
  /** Model input shape with batch 1 (the shape the explainer was specialised to). */
  inputShape1: number[];
  seedInput: string;
  alphaInput?: string;
  logits: string;
  relevance: string;
  /** Token models: relevance at the embedding output [N, L, D] and the embedding values. */
  relevanceEmbedding?: string;
  attributionValue?: string;
  numClasses: number;
  vocabSize?: number;
  layers: LayerRecord[];
  warnings: string[];
  method: Method;
  /** zB/box bounds at the first dense/conv layer carried from `inputRange`, when a box rule uses them. */
  boxBounds?: [number, number];
}

type Dims1 = (t: string) => number[];

interface Output {
  name: string;
  elem: number;
  shape: (number | string)[];
}

/** The explainer of a canonical model for inputs of `inputShape` (its batch axis becomes symbolic). */
export async function compileExplainer(canonical: Graph, info: CanonInfo, inputShape: number[], opts: CompileOptions): Promise<CompiledExplainer> {
  const graph = cloneGraph(canonical);
  const input = graph.inputs[0]!;
  const shapes = await probeShapes(graph, { [input.name]: inputShape }, opts.runtime);
  const view = buildLayerView(graph, shapes);
  const { rules, warnings, boxBounds } = resolveWithBounds(view, graph, opts, info);
  const g = new GraphBuilder(graph);
  for (const l of view.layers) layerKind(l.kind).prepareForward?.(l, { g, shapes });
  const dims1: Dims1 = (t) => {
    const s = shapes.get(t);
    if (!s) throw new Error(`internal: no shape for tensor "${t}"`);
    return s.dims;
  };
  const numClasses = classCount(shapes, info.output);

  const attributionValue = view.attribution;
  const { attribution, alphaInput } = opts.scaleAttribution
    ? scaleAttribution(graph, g, view, shapes, dims1)
    : { attribution: attributionValue, alphaInput: undefined };
  const nonNeg = nonNegativeTensors(view, graph);
  const zeroAtNonPos = opts.method === 'lrp' ? relevanceVanishesAtNonPositive(view, rules, info.output) : new Set<string>();
  const ctx: BackwardContext = { g, graph, shapes, dims1, nonNeg, zeroAtNonPos, unpooled: new Map() };
  const { seedInput, seed } = seedAtOutput(graph, g, info.output, numClasses, opts);
  const { contrib, records } = walkBackward(ctx, view, rules, info.output, seed, opts);

  const rAttr = relevanceAtAttribution(g, contrib, attribution, opts.method);
  const { outputs, names } = explainerOutputs(g, view, info.output, numClasses, rAttr, attributionValue, dims1(attribution), records);
  const { relevance, relevanceEmbedding } = declareOutputs(graph, g, outputs, names, records);
  graph.inputs[0] = { ...input, shape: ['batch', ...inputShape.slice(1)] };
  pruneUnused(graph);

  const compiled = {
    graph,
    input: input.name,
    inputDtype: view.embedding ? 'int64' : 'float32',
    inputShape1: [1, ...inputShape.slice(1)],
    seedInput,
    alphaInput,
    logits: info.output,
    relevance,
    relevanceEmbedding,
    attributionValue: view.embedding ? attributionValue : undefined,
    numClasses,
    vocabSize: view.embedding?.table.dims[0],
    layers: records,
    warnings,
    method: opts.method,
    boxBounds,
  };
  // Not enumerable: copying the record's fields must neither encode the model nor keep the graph.
  Object.defineProperty(compiled, 'model', { get: () => encodeModel(graph, 'relprop-explainer'), enumerable: false });
  return compiled as CompiledExplainer;
}

/**
 * The rule choice with zB/box bounds carried from the raw input range to the first dense/conv
 * layer (unless given), and those bounds. A range that cannot be carried is an error only where
 * a box rule needs it.
 */
function withInputBounds(view: LayerView, graph: Graph, opts: CompileOptions): { choice: RuleChoice; bounds?: [number, number]; uncarried: boolean } {
  if (!opts.inputRange || (opts.params?.low !== undefined && opts.params?.high !== undefined)) return { choice: opts, uncarried: false };
  const b = boundsAtFirstLinear(view, graph, opts.inputRange);
  if (!b) return { choice: opts, uncarried: true };
  return { choice: { ...opts, params: { ...opts.params, low: opts.params?.low ?? b[0], high: opts.params?.high ?? b[1] } }, bounds: b, uncarried: false };
}

/** Rules of every layer; `boxBounds`: the bounds carried from the input range, when a box rule uses them. */
function resolveWithBounds(view: LayerView, graph: Graph, opts: CompileOptions, info: CanonInfo) {
  const { choice, bounds, uncarried } = withInputBounds(view, graph, opts);
  try {
    const res = resolveRules(view, choice, info.merged, info.nodeNames);
    const p = choice.params!;
    const used = bounds && [...res.rules.values()].some((r) => r.rule === 'zbox' && r.low === p.low && r.high === p.high);
    return { ...res, boxBounds: used ? ([p.low!, p.high!] as [number, number]) : undefined };
  } catch (e) {
    if (e instanceof BoxBoundsError && uncarried)
      throw new Error(
        'cannot carry the input range to the first dense/conv layer for the zB/box rule (only constant arithmetic and reshapes may come before it); give --low and --high instead',
      );
    throw e;
  }
}

/** Number of classes of the explained output, which must be float class scores [batch, classes]. */
function classCount(shapes: Map<string, TensorInfo>, output: string): number {
  const outInfo = shapes.get(output);
  if (outInfo?.dims.length !== 2 || outInfo.dtype !== 'float32') {
    throw new Error(`the model's output "${output}" has shape ${JSON.stringify(outInfo?.dims)}; relprop explains class scores of shape [batch, classes]`);
  }
  return outInfo.dims[1]!;
}

/**
 * Integrated gradients on embeddings: a float [N] `alpha` input scales the attribution tensor per
 * sample (the path from the zero baseline runs in embedding space, not over token ids). Every
 * consumer, in the graph and in the layer view, then reads the scaled tensor.
 */
function scaleAttribution(
  graph: Graph,
  g: GraphBuilder,
  view: LayerView,
  shapes: Map<string, TensorInfo>,
  dims1: Dims1,
): { attribution: string; alphaInput: string } {
  const attribution = view.attribution;
  const alphaInput = g.fresh('alpha');
  graph.inputs.push({ name: alphaInput, elemType: ELEM.FLOAT, shape: ['batch'] });
  const rank = dims1(attribution).length;
  const a = g.op('Reshape', [alphaInput, g.ints([-1, ...new Array(rank - 1).fill(1)])]);
  const scaled = g.fresh('scaled_attribution');
  const consumersOf = graph.nodes.filter((n) => n.inputs.includes(attribution));
  graph.nodes.push({ op: 'Mul', name: g.fresh('scale_node'), inputs: [attribution, a], outputs: [scaled], attrs: {} });
  for (const n of consumersOf) n.inputs = n.inputs.map((i) => (i === attribution ? scaled : i));
  for (const l of view.layers) l.inputs = l.inputs.map((i) => (i === attribution ? scaled : i));
  shapes.set(scaled, shapes.get(attribution)!);
  return { attribution: scaled, alphaInput };
}

/**
 * The relevance at the output (DESIGN §3) and the input it comes from: an explicit float
 * [N, classes] `relevance_seed`, or an int64 `target` per sample (negative: the predicted class)
 * turned into a one-hot, times the logits under LRP.
 */
function seedAtOutput(graph: Graph, g: GraphBuilder, output: string, numClasses: number, opts: CompileOptions): { seedInput: string; seed: string } {
  const seedInput = g.fresh(opts.seed === 'relevance' ? 'relevance_seed' : 'target');
  if (opts.seed === 'relevance') {
    graph.inputs.push({ name: seedInput, elemType: ELEM.FLOAT, shape: ['batch', numClasses] });
    return { seedInput, seed: seedInput };
  }
  graph.inputs.push({ name: seedInput, elemType: ELEM.INT64, shape: ['batch'] });
  const classes = g.initializer(
    'classes',
    int64(
      [1, numClasses],
      Array.from({ length: numClasses }, (_, i) => i),
    ),
  );
  // A negative target means "the predicted class".
  const predicted = g.op('ArgMax', [output], { axis: 1, keepdims: 0 });
  const target = g.op('Where', [g.op('Less', [seedInput, g.op('Cast', [g.scalar(0)], { to: ELEM.INT64 })]), predicted, seedInput]);
  const eq = g.op('Equal', [g.op('Unsqueeze', [target, g.ints([1])]), classes]);
  const onehot = g.op('Cast', [eq], { to: ELEM.FLOAT }, 'onehot');
  return { seedInput, seed: opts.method === 'lrp' ? g.mul(onehot, output) : onehot };
}

/**
 * From the output down, each layer's kind emits the relevance at its inputs from the sum of what
 * reached its outputs. Returns what reached each tensor (`contrib`: the parts, summed where read)
 * and a record per layer, with its audit sums and relevance outputs when asked.
 */
function walkBackward(
  ctx: BackwardContext,
  view: LayerView,
  rules: Map<Layer, RuleSpec>,
  output: string,
  seed: string,
  opts: CompileOptions,
): { contrib: Map<string, string[]>; records: LayerRecord[] } {
  const { g } = ctx;
  const contrib = new Map<string, string[]>();
  const give = (t: string | null, r: string) => {
    if (!t) return;
    (contrib.get(t) ?? contrib.set(t, []).get(t)!).push(r);
  };
  give(output, seed);
  const records: LayerRecord[] = [];
  const perSampleSum = (r: string) => g.op('ReduceSum', [g.op('Flatten', [r], { axis: 1 }), g.ints([1])], { keepdims: 0 }, 'audit_sum');
  for (let k = view.layers.length - 1; k >= 0; k--) {
    const l = view.layers[k]!;
    const rule = rules.get(l)!;
    const Rs = l.outputs.map((o) => (contrib.has(o) ? g.sum(contrib.get(o)!) : null));
    const rec: LayerRecord = { name: l.name, op: l.op, kind: l.kind, rule: l.kind === 'lrn' && rule.rule === 'pass' ? 'identity' : describeRule(rule) };
    records.unshift(rec);
    if (Rs.every((r) => r === null)) continue; // does not reach the explained output
    const R = Rs[0] ?? Rs.find((r) => r)!;
    const ins = layerKind(l.kind).backward(ctx, l, rule, R, Rs);
    ins.forEach((r, i) => r && give(l.inputs[i] ?? null, r));
    if (opts.layerRelevance) {
      rec.relevanceOut = R;
      rec.relevanceShape = ['batch', ...ctx.dims1(l.outputs[Rs.indexOf(R)] ?? l.outputs[0]!).slice(1)];
    }
    if (opts.audit) {
      rec.auditOut = perSampleSum(R);
      const parts = ins.filter((r): r is string => !!r);
      if (parts.length) rec.auditIn = parts.length === 1 ? perSampleSum(parts[0]!) : g.sum(parts.map(perSampleSum));
    }
  }
  return { contrib, records };
}

/** Relevance at the attribution tensor (zero where none arrives); gradient × input multiplies by it. */
function relevanceAtAttribution(g: GraphBuilder, contrib: Map<string, string[]>, attribution: string, method: Method): string {
  const rAttr = contrib.has(attribution)
    ? g.sum(contrib.get(attribution)!)
    : g.op('ConstantOfShape', [g.op('Shape', [attribution])], { value: float32([1], [0]) });
  return method === 'gradient-x-input' ? g.mul(rAttr, attribution) : rAttr;
}

/**
 * The explainer's outputs in order: logits; the relevance (token models: per token, then per
 * embedding dimension, then the embedding values); each layer's relevance and audit sums.
 */
function explainerOutputs(
  g: GraphBuilder,
  view: LayerView,
  logits: string,
  numClasses: number,
  rAttr: string,
  attributionValue: string,
  attrShape: number[],
  records: LayerRecord[],
): { outputs: Output[]; names: { relevance: string; relevanceEmbedding?: string } } {
  const outputs: Output[] = [{ name: logits, elem: ELEM.FLOAT, shape: ['batch', numClasses] }];
  let names: { relevance: string; relevanceEmbedding?: string };
  if (view.embedding) {
    names = { relevance: g.op('ReduceSum', [rAttr, g.ints([-1])], { keepdims: 0 }, 'relevance_tokens'), relevanceEmbedding: rAttr };
    outputs.push({ name: names.relevance, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1, -1)] });
    outputs.push({ name: rAttr, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
    outputs.push({ name: attributionValue, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
  } else {
    names = { relevance: rAttr };
    outputs.push({ name: rAttr, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
  }
  for (const r of records) {
    if (r.relevanceOut) outputs.push({ name: r.relevanceOut, elem: ELEM.FLOAT, shape: r.relevanceShape! });
    if (r.auditOut) outputs.push({ name: r.auditOut, elem: ELEM.FLOAT, shape: ['batch'] });
    if (r.auditIn) outputs.push({ name: r.auditIn, elem: ELEM.FLOAT, shape: ['batch'] });
  }
  return { outputs, names };
}

/**
 * Set the graph's outputs. A graph output may not be produced twice under one name, and an input
 * may not be an output: such an output goes out through an Identity, and the relevance names and
 * layer records that referred to it are updated.
 */
function declareOutputs(
  graph: Graph,
  g: GraphBuilder,
  outputs: Output[],
  names: { relevance: string; relevanceEmbedding?: string },
  records: LayerRecord[],
): { relevance: string; relevanceEmbedding?: string } {
  let { relevance, relevanceEmbedding } = names;
  const seen = new Set<string>();
  const graphInputs = new Set(graph.inputs.map((i) => i.name));
  graph.outputs = [];
  for (const o of outputs) {
    let name = o.name;
    if (seen.has(name) || graphInputs.has(name)) {
      name = g.op('Identity', [o.name]);
      if (o.name === relevance) relevance = name;
      else if (o.name === relevanceEmbedding) relevanceEmbedding = name;
      else
        for (const r of records)
          if (r.relevanceOut === o.name && !seen.has(`layer:${r.name}`)) {
            r.relevanceOut = name;
            seen.add(`layer:${r.name}`);
            break;
          }
    }
    seen.add(name);
    graph.outputs.push({ name, elemType: o.elem, shape: o.shape });
  }
  return { relevance, relevanceEmbedding };
}
