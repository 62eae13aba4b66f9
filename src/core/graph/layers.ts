/**
 * The layer view: which nodes carry relevance from the attribution tensor to the output, and what
 * kind of layer each is. Nodes that only compute shapes or constants stay in the forward graph
 * and get no backward treatment.
 */
import type { Graph, GraphNode } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import { bnAffine, intValues, toF32 } from './canonize.js';
import type { TensorInfo } from './shapes.js';

export type LayerKind =
  | 'dense' | 'conv' | 'affine' | 'activation' | 'maxpool' | 'avgpool' | 'globalavgpool' | 'add'
  | 'const-arith' | 'reshape' | 'transpose' | 'pad' | 'slice' | 'split' | 'concat' | 'lrn';

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
}

export interface LayerView {
  layers: Layer[];
  /** The tensor relevance is read at: the model input, or an embedding lookup's output. */
  attribution: string;
  /** Set when the model input is token ids: the Gather node and its table. */
  embedding?: { node: GraphNode; table: TensorData };
  carrying: Set<string>;
}

const ACTIVATIONS = new Set(['Relu', 'LeakyRelu', 'Tanh', 'Sigmoid', 'Clip', 'Elu', 'Selu', 'Softplus', 'HardSigmoid', 'HardSwish', 'PRelu']);
const RESHAPES = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

export const SUPPORTED_OPS = [
  'Gemm', 'MatMul (+Add)', 'Conv', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'Relu', 'LeakyRelu',
  'Clip', 'Tanh', 'Sigmoid', 'Softmax/LogSoftmax (at the output)', 'BatchNormalization', 'Add', 'Sub', 'Mul', 'Div',
  'Concat', 'LRN', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze', 'Dropout', 'Identity', 'Pad', 'Split', 'Slice',
  'Gather (embedding)', 'Shape/Constant arithmetic',
];

export function unsupported(n: GraphNode, why = ''): Error {
  return new Error(
    `unsupported operator ${n.op} at node "${n.name}"${why ? ` (${why})` : ''}; relprop supports: ${SUPPORTED_OPS.join(', ')}`,
  );
}

export function buildLayerView(g: Graph, shapes: Map<string, TensorInfo>): LayerView {
  if (g.inputs.length !== 1) throw new Error(`the model has ${g.inputs.length} inputs (${g.inputs.map((i) => i.name).join(', ')}); relprop explains single-input models`);
  const input = g.inputs[0]!.name;
  const isFloat = (t: string) => shapes.get(t)?.dtype === 'float32';
  const carrying = new Set<string>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);

  let attribution = input;
  let embedding: LayerView['embedding'];
  const inputInfo = shapes.get(input)!;
  if (inputInfo.dtype === 'int64' || inputInfo.dtype === 'int32') {
    const cons = consumers.get(input) ?? [];
    const gathers = cons.filter((n) => n.op === 'Gather' && n.inputs[1] === input && g.initializers.has(n.inputs[0]!));
    if (gathers.length !== 1 || cons.length !== 1) {
      throw new Error(`the model input "${input}" holds integer ids, so relprop needs exactly one embedding lookup (Gather of a constant table by these ids) reading it; found ${cons.map((n) => `${n.op} "${n.name}"`).join(', ') || 'none'}`);
    }
    const gather = gathers[0]!;
    if (((gather.attrs.axis as number | undefined) ?? 0) !== 0) throw unsupported(gather, 'embedding lookup must gather along axis 0');
    embedding = { node: gather, table: g.initializers.get(gather.inputs[0]!)! };
    attribution = gather.outputs[0]!;
  } else if (inputInfo.dtype !== 'float32') {
    throw new Error(`the model input "${input}" has type ${inputInfo.dtype}; relprop explains float32 inputs and int64 token ids`);
  }
  carrying.add(attribution);

  const layers: Layer[] = [];
  const absorbed = new Set<GraphNode>();
  let linearIndex = 0;
  for (const n of g.nodes) {
    if (absorbed.has(n) || n === embedding?.node) continue;
    const carried = n.inputs.map((i) => (i && carrying.has(i) ? i : null));
    if (!carried.some((c) => c)) continue;
    if (n.op === 'Shape' || n.op === 'Size') continue; // shapes carry no relevance
    const base = { name: n.name, aliases: [] as string[], op: n.op, node: n, inputs: carried, outputs: [...n.outputs] };
    const mark = (l: Layer) => {
      layers.push(l);
      for (const o of l.outputs) if (isFloat(o)) carrying.add(o);
    };
    const onlyFirst = () => {
      if (carried.slice(1).some((c) => c)) throw unsupported(n, 'only its first operand may depend on the input');
    };
    switch (n.op) {
      case 'Gemm': {
        onlyFirst();
        const Wt = g.initializers.get(n.inputs[1]!)!; // canonical [out, in]
        const [out, inp] = Wt.dims as [number, number];
        const w = toF32(Wt, 'Gemm weight');
        const W = new Float32Array(inp * out);
        for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) W[i * out + o] = w[o * inp + i]!;
        mark({ ...base, kind: 'dense', W: { dtype: 'float32', dims: [inp, out], data: W }, b: g.initializers.get(n.inputs[2]!)!, linearIndex: linearIndex++ });
        break;
      }
      case 'MatMul': {
        const Wt = g.initializers.get(n.inputs[1]!);
        if (!Wt || carried[1] || Wt.dims.length !== 2) throw unsupported(n, 'MatMul needs a constant 2-D weight as its second operand');
        const out = Wt.dims[1]!;
        let b: TensorData = { dtype: 'float32', dims: [out], data: new Float32Array(out) };
        let outputs = [...n.outputs];
        const aliases: string[] = [];
        const cons = consumers.get(n.outputs[0]!) ?? [];
        const add = cons.length === 1 && cons[0]!.op === 'Add' ? cons[0]! : undefined;
        const biasName = add?.inputs.find((i) => i !== n.outputs[0] && g.initializers.has(i));
        if (add && biasName && !g.outputs.some((o) => o.name === n.outputs[0])) {
          const bt = g.initializers.get(biasName)!;
          const bd = toF32(bt, 'bias');
          if (bd.length === out && bt.dims[bt.dims.length - 1] === out) {
            b = { dtype: 'float32', dims: [out], data: Float32Array.from(bd) };
            outputs = [...add.outputs];
            aliases.push(add.name);
            absorbed.add(add);
          }
        }
        mark({ ...base, aliases, outputs, kind: 'dense', W: { dtype: 'float32', dims: [...Wt.dims], data: toF32(Wt, 'MatMul weight') }, b, linearIndex: linearIndex++ });
        break;
      }
      case 'Conv': {
        onlyFirst();
        const W = g.initializers.get(n.inputs[1]!);
        if (!W) throw unsupported(n, 'its weight is not a constant');
        const O = W.dims[0]!;
        const bt = n.inputs[2] ? g.initializers.get(n.inputs[2]) : undefined;
        if (n.inputs[2] && !bt) throw unsupported(n, 'its bias is not a constant');
        const b: TensorData = bt ? { dtype: 'float32', dims: [O], data: toF32(bt, 'Conv bias') } : { dtype: 'float32', dims: [O], data: new Float32Array(O) };
        mark({ ...base, kind: 'conv', W: { ...W, data: toF32(W, 'Conv weight') }, b, linearIndex: linearIndex++ });
        break;
      }
      case 'BatchNormalization': {
        onlyFirst();
        const { scale, shift } = bnAffine(g, n);
        mark({ ...base, outputs: [n.outputs[0]!], kind: 'affine', scale, shift });
        break;
      }
      case 'MaxPool':
      case 'GlobalMaxPool':
        mark({ ...base, outputs: [n.outputs[0]!], kind: 'maxpool' });
        break;
      case 'AveragePool':
        mark({ ...base, kind: 'avgpool' });
        break;
      case 'GlobalAveragePool':
        mark({ ...base, kind: 'globalavgpool' });
        break;
      case 'ReduceMean': {
        onlyFirst();
        const rank = shapes.get(carried[0]!)!.dims.length;
        const axesT = n.inputs[1] ? g.initializers.get(n.inputs[1]) : undefined;
        if (n.inputs[1] && !axesT) throw unsupported(n, 'its axes are not constant');
        const axes = (axesT ? intValues(axesT) : (n.attrs.axes as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
        if (axes.includes(0)) throw unsupported(n, 'averaging over the batch axis');
        mark({ ...base, inputs: [carried[0]!], kind: 'globalavgpool', meanAxes: axes.sort(), keepdims: ((n.attrs.keepdims as number | undefined) ?? 1) !== 0 });
        break;
      }
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div': {
        const nCarry = carried.filter((c) => c).length;
        if (nCarry === 2) {
          if (n.op !== 'Add') throw unsupported(n, `${n.op} of two input-dependent tensors`);
          const [a, b] = n.inputs.map((i) => shapes.get(i!)!.dims.join(','));
          if (a !== b) throw unsupported(n, 'residual Add of tensors with different shapes (broadcasting)');
          mark({ ...base, kind: 'add' });
        } else {
          const idx = carried[0] ? 1 : 0;
          if (n.op === 'Div' && !carried[0]) throw unsupported(n, 'division by an input-dependent tensor');
          const xShape = shapes.get(carried[0] ?? carried[1]!)!.dims.join(',');
          if (shapes.get(n.outputs[0]!)!.dims.join(',') !== xShape) throw unsupported(n, 'the constant operand broadcasts the input to a larger shape');
          mark({ ...base, kind: 'const-arith', constOperand: { name: n.inputs[idx]!, index: idx } });
        }
        break;
      }
      case 'Concat':
        mark({ ...base, kind: 'concat' });
        break;
      case 'LRN':
        mark({ ...base, kind: 'lrn' });
        break;
      case 'Split':
        onlyFirst();
        mark({ ...base, kind: 'split' });
        break;
      case 'Transpose':
        mark({ ...base, kind: 'transpose' });
        break;
      case 'Pad': {
        onlyFirst();
        const mode = (n.attrs.mode as string | undefined) ?? 'constant';
        if (mode !== 'constant') throw unsupported(n, `Pad mode "${mode}"; only constant padding is supported`);
        mark({ ...base, kind: 'pad' });
        break;
      }
      case 'Slice':
        onlyFirst();
        mark({ ...base, kind: 'slice' });
        break;
      default:
        if (RESHAPES.has(n.op)) {
          onlyFirst();
          mark({ ...base, kind: 'reshape' });
        } else if (ACTIVATIONS.has(n.op) && n.op !== 'PRelu' && n.op !== 'Elu' && n.op !== 'Selu' && n.op !== 'Softplus' && n.op !== 'HardSigmoid' && n.op !== 'HardSwish') {
          onlyFirst();
          mark({ ...base, kind: 'activation' });
        } else if (n.op === 'Softmax' || n.op === 'LogSoftmax') {
          throw unsupported(n, 'Softmax is supported only as the last node');
        } else {
          throw unsupported(n);
        }
    }
  }
  return { layers, attribution, embedding, carrying };
}

export { intValues };
