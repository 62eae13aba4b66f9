/**
 * Compile a canonical model into an explainer graph: the forward graph plus a backward graph
 * carrying relevance (or a gradient) from the target logit to the attribution tensor.
 */
import { GraphBuilder, pruneUnused } from '../onnx/builder.js';
import { cloneGraph, ELEM, encodeModel, type Graph } from '../onnx/model.js';
import { float32, int64 } from '../onnx/tensor.js';
import { buildLayerView, unsupported, type Layer, type LayerView } from '../layers/view.js';
import { probeShapes, type TensorInfo } from '../graph/shapes.js';
import type { Runtime } from '../runtime.js';
import type { CanonInfo } from '../graph/canonize.js';
import type { Unpooled } from '../rules/max-pool.js';
import { layerKind } from '../layers/registry.js';
import type { BackwardContext } from '../layers/types.js';
import { describeRule, type LinearRule, type RuleSpec } from '../rules/spec.js';
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
}

const GRADIENT_LIKE = new Set(['gradient', 'relu_deconvnet', 'relu_guided_backprop']);

export async function compileExplainer(canonical: Graph, info: CanonInfo, inputShape: number[], opts: CompileOptions): Promise<CompiledExplainer> {
  const graph = cloneGraph(canonical);
  const input = graph.inputs[0]!;
  const shapes = await probeShapes(graph, { [input.name]: inputShape }, opts.runtime);
  const view = buildLayerView(graph, shapes);
  let choice: RuleChoice = opts;
  if (opts.inputRange && (opts.params?.low === undefined || opts.params?.high === undefined)) {
    const b = boundsAtFirstLinear(view, graph, opts.inputRange);
    if (!b) throw new Error('cannot carry the input range to the first dense/conv layer (only constant arithmetic and reshapes may come before it); give --low and --high instead');
    choice = { ...opts, params: { ...opts.params, low: opts.params?.low ?? b[0], high: opts.params?.high ?? b[1] } };
  }
  const { rules, warnings } = resolveRules(view, choice, info.merged);
  const g = new GraphBuilder(graph);
  prepareForward(graph, shapes, view, g);
  const dims1 = (t: string) => {
    const s = shapes.get(t);
    if (!s) throw new Error(`internal: no shape for tensor "${t}"`);
    return s.dims;
  };

  const outInfo = shapes.get(info.output);
  if (!outInfo || outInfo.dims.length !== 2 || outInfo.dtype !== 'float32') {
    throw new Error(`the model's output "${info.output}" has shape ${JSON.stringify(outInfo?.dims)}; relprop explains class scores of shape [batch, classes]`);
  }
  const numClasses = outInfo.dims[1]!;

  // Attribution tensor, optionally scaled per sample (integrated gradients on embeddings).
  let attribution = view.attribution;
  let alphaInput: string | undefined;
  const attributionValue = attribution;
  if (opts.scaleAttribution) {
    alphaInput = g.fresh('alpha');
    graph.inputs.push({ name: alphaInput, elemType: ELEM.FLOAT, shape: ['batch'] });
    const rank = dims1(attribution).length;
    const a = g.op('Reshape', [alphaInput, g.ints([-1, ...new Array(rank - 1).fill(1)])]);
    const scaled = g.fresh('scaled_attribution');
    const consumersOf = graph.nodes.filter((n) => n.inputs.includes(attribution));
    graph.nodes.push({ op: 'Mul', name: g.fresh('scale_node'), inputs: [attribution, a], outputs: [scaled], attrs: {} });
    for (const n of consumersOf) n.inputs = n.inputs.map((i) => (i === attribution ? scaled : i));
    for (const l of view.layers) l.inputs = l.inputs.map((i) => (i === attribution ? scaled : i));
    shapes.set(scaled, shapes.get(attribution)!);
    attribution = scaled;
  }

  const nonNeg = nonNegativeTensors(view, graph);
  const zeroAtNonPos = opts.method === 'lrp' ? relevanceVanishesAtNonPositive(view, rules, info.output) : new Set<string>();

  // Seed at the output.
  const seedInput = g.fresh(opts.seed === 'relevance' ? 'relevance_seed' : 'target');
  let seed: string;
  if (opts.seed === 'relevance') {
    graph.inputs.push({ name: seedInput, elemType: ELEM.FLOAT, shape: ['batch', numClasses] });
    seed = seedInput;
  } else {
    graph.inputs.push({ name: seedInput, elemType: ELEM.INT64, shape: ['batch'] });
    const classes = g.initializer('classes', int64([1, numClasses], Array.from({ length: numClasses }, (_, i) => i)));
    // A negative target means "the predicted class".
    const predicted = g.op('ArgMax', [info.output], { axis: 1, keepdims: 0 });
    const target = g.op('Where', [g.op('Less', [seedInput, g.op('Cast', [g.scalar(0)], { to: ELEM.INT64 })]), predicted, seedInput]);
    const eq = g.op('Equal', [g.op('Unsqueeze', [target, g.ints([1])]), classes]);
    const onehot = g.op('Cast', [eq], { to: ELEM.FLOAT }, 'onehot');
    seed = opts.method === 'lrp' ? g.mul(onehot, info.output) : onehot;
  }

  const contrib = new Map<string, string[]>();
  const give = (t: string | null, r: string) => {
    if (!t) return;
    (contrib.get(t) ?? contrib.set(t, []).get(t)!).push(r);
  };
  give(info.output, seed);

  /**
   * Relevance tensors that are a non-overlapping max pool's unpooling of a smaller tensor: nonzero
   * only at the window winners. Layers below can then work at the pooled resolution.
   */
  const unpooled = new Map<string, Unpooled>();

  const bctx: BackwardContext = { g, graph, shapes, dims1, nonNeg, zeroAtNonPos, unpooled };

  const records: LayerRecord[] = [];
  const perSampleSum = (r: string) => g.op('ReduceSum', [g.op('Flatten', [r], { axis: 1 }), g.ints([1])], { keepdims: 0 }, 'audit_sum');
  const lrp = opts.method === 'lrp';

  for (let k = view.layers.length - 1; k >= 0; k--) {
    const l = view.layers[k]!;
    const rule = rules.get(l)!;
    const Rs = l.outputs.map((o) => (contrib.has(o) ? g.sum(contrib.get(o)!) : null));
    const rec: LayerRecord = { name: l.name, op: l.op, kind: l.kind, rule: describeRule(rule) };
    records.unshift(rec);
    if (Rs.every((r) => r === null)) continue; // does not reach the explained output
    const R = Rs[0] ?? Rs.find((r) => r)!;
    const ins = backward(l, rule, R, Rs);
    ins.forEach((r, i) => r && give(l.inputs[i] ?? null, r));
    if (opts.layerRelevance) {
      rec.relevanceOut = R;
      rec.relevanceShape = ['batch', ...dims1(l.outputs[Rs.indexOf(R)] ?? l.outputs[0]!).slice(1)];
    }
    if (opts.audit) {
      rec.auditOut = perSampleSum(R);
      const parts = ins.filter((r): r is string => !!r);
      if (parts.length) rec.auditIn = parts.length === 1 ? perSampleSum(parts[0]!) : g.sum(parts.map(perSampleSum));
    }
  }

  function backward(l: Layer, rule: RuleSpec, R: string, Rs: (string | null)[]): (string | null)[] {
    return layerKind(l.kind).backward(bctx, l, rule, R, Rs);
  }

  // Relevance at the attribution tensor.
  const attrShape = dims1(attribution);
  let rAttr = contrib.has(attribution)
    ? g.sum(contrib.get(attribution)!)
    : g.op('ConstantOfShape', [g.op('Shape', [attribution])], { value: float32([1], [0]) });
  if (opts.method === 'gradient-x-input') rAttr = g.mul(rAttr, attribution);
  const outputs: { name: string; elem: number; shape: (number | string)[] }[] = [
    { name: info.output, elem: ELEM.FLOAT, shape: ['batch', numClasses] },
  ];
  let relevance: string;
  let relevanceEmbedding: string | undefined;
  if (view.embedding) {
    relevanceEmbedding = rAttr;
    relevance = g.op('ReduceSum', [rAttr, g.ints([-1])], { keepdims: 0 }, 'relevance_tokens');
    outputs.push({ name: relevance, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1, -1)] });
    outputs.push({ name: relevanceEmbedding, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
    outputs.push({ name: attributionValue, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
  } else {
    relevance = rAttr;
    outputs.push({ name: relevance, elem: ELEM.FLOAT, shape: ['batch', ...attrShape.slice(1)] });
  }
  for (const r of records) {
    if (r.relevanceOut) outputs.push({ name: r.relevanceOut, elem: ELEM.FLOAT, shape: r.relevanceShape! });
    if (r.auditOut) outputs.push({ name: r.auditOut, elem: ELEM.FLOAT, shape: ['batch'] });
    if (r.auditIn) outputs.push({ name: r.auditIn, elem: ELEM.FLOAT, shape: ['batch'] });
  }
  // A graph output may not be produced twice under one name, and an input may not be an output.
  const seen = new Set<string>();
  const graphInputs = new Set(graph.inputs.map((i) => i.name));
  graph.outputs = [];
  for (const o of outputs) {
    let name = o.name;
    if (seen.has(name) || graphInputs.has(name)) {
      name = g.op('Identity', [o.name]);
      if (o.name === relevance) relevance = name;
      else if (o.name === relevanceEmbedding) relevanceEmbedding = name;
      else for (const r of records) if (r.relevanceOut === o.name && !seen.has(`layer:${r.name}`)) {
        r.relevanceOut = name;
        seen.add(`layer:${r.name}`);
        break;
      }
    }
    seen.add(name);
    graph.outputs.push({ name, elemType: o.elem, shape: o.shape });
  }
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
  };
  // Not enumerable: copying the record's fields must neither encode the model nor keep the graph.
  Object.defineProperty(compiled, 'model', { get: () => encodeModel(graph, 'relprop-explainer'), enumerable: false });
  return compiled as CompiledExplainer;
}

/** Tensors known to be ≥ 0: behind a ReLU, and what pooling/reshaping/adding such tensors gives (each kind says). */
function nonNegativeTensors(view: LayerView, graph: Graph): Set<string> {
  const out = new Set<string>();
  for (const l of view.layers) {
    const ins = l.inputs.filter((i): i is string => !!i);
    const nn = layerKind(l.kind).nonNegativeOutput?.(l, ins.every((i) => out.has(i)), graph, out) ?? false;
    if (nn) for (const o of l.outputs) out.add(o);
  }
  return out;
}

/**
 * Tensors t whose relevance is provably 0 wherever t ≤ 0 (under LRP): t feeds only ReLUs (rule
 * pass) whose outputs r only reach rules that multiply by their input (ε, z+, αβ, γ, the norm
 * rules), possibly through max-pooling and reshaping, so R(r) = 0 where r = 0.
 */
function relevanceVanishesAtNonPositive(view: LayerView, rules: Map<Layer, RuleSpec>, output: string): Set<string> {
  const consumers = new Map<string, Layer[]>();
  for (const l of view.layers) for (const i of l.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(l);
  // P(t): R(t) = 0 where t = 0. Consumers come later in topological order: walk backwards.
  const P = new Set<string>();
  const holds = (t: string): boolean => {
    if (t === output) return false;
    const cs = consumers.get(t) ?? [];
    return cs.length > 0 && cs.every((c) => {
      const rule = rules.get(c)!;
      if (c.kind === 'activation' && c.op === 'Relu' && rule.rule === 'pass') return P.has(c.outputs[0]!);
      const follows = layerKind(c.kind).relevanceFollows?.(rule) ?? null;
      if (follows === 'multiplies') return true;
      if (follows === 'routes') return c.outputs.every((o) => !consumers.has(o) || P.has(o));
      return false;
    });
  };
  const Q = new Set<string>();
  for (let k = view.layers.length - 1; k >= 0; k--) {
    const l = view.layers[k]!;
    for (const o of l.outputs) {
      if (holds(o)) P.add(o);
      const cs = consumers.get(o) ?? [];
      // Q(y): y feeds only ReLUs with P at their outputs, so R(y) = 0 where y ≤ 0.
      if (o !== output && cs.length > 0 && cs.every((c) => c.kind === 'activation' && c.op === 'Relu' && rules.get(c)!.rule === 'pass' && P.has(c.outputs[0]!))) Q.add(o);
    }
  }
  return Q;
}

/** Rewrite nodes whose backward needs something the forward does not give (max-pool indices). */
export function prepareForward(graph: Graph, shapes: Map<string, TensorInfo>, view: LayerView, g: GraphBuilder) {
  for (const l of view.layers) {
    if (l.kind !== 'maxpool') continue;
    const n = l.node;
    if (n.op === 'GlobalMaxPool') {
      const spatial = shapes.get(n.inputs[0]!)!.dims.slice(2);
      n.op = 'MaxPool';
      // One window: its stride is irrelevant, and setting it to the window marks the pool as non-overlapping.
      n.attrs = { kernel_shape: spatial, strides: spatial };
    }
    if (n.attrs.storage_order) throw unsupported(n, 'storage_order=1');
    if (!n.outputs[1]) n.outputs[1] = g.fresh(`${n.name}/indices`);
  }
}
