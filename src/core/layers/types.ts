/**
 * The layer view's vocabulary: a Layer is a node (or a few merged nodes) that carries relevance
 * from the attribution tensor to the output; a LayerKindDef says how a kind of layer is
 * recognised, which rules it accepts, its default rule and how relevance or gradient goes back
 * through it. A new layer kind is one file in this folder plus a line in registry.ts.
 */
import type { LrnParts } from '../backward/lrn.js';
import type { Method } from '../explain/resolve.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { Graph, GraphNode } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import type { TensorInfo } from '../graph/shapes.js';
import type { Unpooled } from '../rules/max-pool.js';
import type { RuleSpec } from '../rules/spec.js';

export type LayerKind =
  | 'dense'
  | 'conv'
  | 'affine'
  | 'activation'
  | 'maxpool'
  | 'avgpool'
  | 'globalavgpool'
  | 'add'
  | 'const-arith'
  | 'reshape'
  | 'transpose'
  | 'pad'
  | 'slice'
  | 'split'
  | 'concat'
  | 'lrn';

export interface Layer {
  kind: LayerKind;
  /** Name of the node the layer is known by (rule mappings use it). */
  name: string;
  /** Other node names merged into this layer (the Add of a MatMul+Add, folded BNs). */
  aliases: string[];
  op: string;
  node: GraphNode;
  /** Relevance-carrying input tensors, in operand order (null where the operand carries none). */
  inputs: (string | null)[];
  outputs: string[];
  /** Dense: W [in, out] and b [out]. Conv: W as in ONNX and b [O]. Affine: per-channel scale/shift. */
  W?: TensorData;
  b?: TensorData;
  scale?: Float32Array;
  shift?: Float32Array;
  /** const-arith: the constant operand and its position. */
  constOperand?: { name: string; index: number };
  /** Mean layers (GlobalAveragePool, ReduceMean): averaged axes and whether they are kept. */
  meanAxes?: number[];
  keepdims?: boolean;
  /** Index of this layer among dense/conv layers (0 = first layer at the input side). */
  linearIndex?: number;
  /** LRN: the forward in parts (window sum, denominator, its power), for the backward to reuse. */
  lrnParts?: LrnParts;
}

export interface LayerView {
  layers: Layer[];
  /** The tensor relevance is read at: the model input, or an embedding lookup's output. */
  attribution: string;
  /** Set when the model input is token ids: the Gather node and its table. */
  embedding?: { node: GraphNode; table: TensorData };
  carrying: Set<string>;
}

/** What recognising a node may look at. */
export interface RecogniseContext {
  graph: Graph;
  shapes: Map<string, TensorInfo>;
  consumers: Map<string, GraphNode[]>;
  /** The node's operands that carry relevance (null where not). */
  carried: (string | null)[];
  /** The fields every layer of this node starts from. */
  base: Pick<Layer, 'name' | 'aliases' | 'op' | 'node' | 'inputs' | 'outputs'>;
  /** Throws unless only the first operand depends on the input. */
  onlyFirst(): void;
  /** Nodes merged into this layer (e.g. the bias Add of a MatMul): skipped by the view. */
  absorb(n: GraphNode): void;
  /** The index of the next dense/conv layer. */
  nextLinearIndex(): number;
}

/** What emitting a layer's backward fragment may use. */
export interface BackwardContext {
  g: GraphBuilder;
  graph: Graph;
  shapes: Map<string, TensorInfo>;
  /** Static shape of a tensor for batch 1. */
  dims1(t: string): number[];
  /** Tensors known to be ≥ 0. */
  nonNeg: Set<string>;
  /** Tensors whose relevance vanishes wherever they are ≤ 0 (LRP). */
  zeroAtNonPos: Set<string>;
  /** Relevance tensors that are a non-overlapping max pool's unpooling (nonzero at winners only). */
  unpooled: Map<string, Unpooled>;
}

export interface LayerKindDef {
  kind: LayerKind;
  /** ONNX operators recognised as this kind. */
  ops: readonly string[];
  /** The layer for a node whose operands carry relevance (throws `unsupported` where it cannot). */
  recognise(n: GraphNode, c: RecogniseContext): Layer;
  /** Dense/conv layers: rules come from composites, `--rule` and the LINEAR_RULES set. */
  linear?: true;
  /** Rules a mapping may give this kind (linear kinds: LINEAR_RULES). */
  rules: readonly string[];
  /** The rule when no mapping names the layer (non-linear kinds; linear ones use the composite). */
  defaultRule(method: Method, l: Layer): RuleSpec;
  /**
   * Rewrite the layer's forward node where its backward needs something the forward does not give
   * (max pool: its indices). Runs on the explainer's copy of the graph before any backward.
   */
  prepareForward?(l: Layer, c: { g: GraphBuilder; shapes: Map<string, TensorInfo> }): void;
  /** Relevance (or gradient) at the layer's relevance-carrying inputs, in operand order. */
  backward(c: BackwardContext, l: Layer, rule: RuleSpec, R: string, Rs: (string | null)[]): (string | null)[];
  /** The output is ≥ 0 given whether all relevance-carrying inputs are (absent: never known). */
  nonNegativeOutput?(l: Layer, inputsNonNeg: boolean, graph: Graph, nonNeg: Set<string>): boolean;
  /**
   * For the "relevance vanishes where t ≤ 0" analysis: 'multiplies' if, under `rule`, the layer's
   * input relevance is proportional to its input; 'routes' if values only move.
   */
  relevanceFollows?(rule: RuleSpec): 'multiplies' | 'routes' | null;
  /** Further checks of a rule on a particular layer (e.g. ReLU-only rules). */
  checkRule?(l: Layer, rule: RuleSpec): void;
}

/** Human-readable list of what the importer supports (for error messages). */
export const SUPPORTED_OPS = [
  'Gemm',
  'MatMul (+Add)',
  'Conv',
  'MaxPool',
  'AveragePool',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'ReduceMean',
  'Relu',
  'LeakyRelu',
  'Clip',
  'Tanh',
  'Sigmoid',
  'Softmax/LogSoftmax (at the output)',
  'BatchNormalization',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Concat',
  'LRN',
  'Flatten',
  'Reshape',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Dropout',
  'Identity',
  'Pad',
  'Split',
  'Slice',
  'Gather (embedding)',
  'Shape/Constant arithmetic',
];

export function unsupported(n: GraphNode, why = ''): Error {
  return new Error(`unsupported operator ${n.op} at node "${n.name}"${why ? ` (${why})` : ''}; relprop supports: ${SUPPORTED_OPS.join(', ')}`);
}

/** The epsilon of a rule that has one, else the default stabiliser (norm rules on pools and sums). */
export function ruleEpsilon(rule: RuleSpec): number {
  return 'epsilon' in rule && rule.epsilon !== undefined ? rule.epsilon : 1e-6;
}
