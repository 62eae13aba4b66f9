/**
 * The layer view: which nodes carry relevance from the attribution tensor to the output, and what
 * kind of layer each is (the registry recognises them). Nodes that only compute shapes or
 * constants stay in the forward graph and get no backward treatment.
 */
import type { TensorInfo } from '../graph/shapes.js';
import type { Graph, GraphNode } from '../onnx/model.js';
import { kindForOp } from './registry.js';
import { type Layer, type LayerView, type RecogniseContext, unsupported } from './types.js';

export type { Layer, LayerKind, LayerView } from './types.js';
export { unsupported } from './types.js';

export function buildLayerView(g: Graph, shapes: Map<string, TensorInfo>): LayerView {
  if (g.inputs.length !== 1)
    throw new Error(`the model has ${g.inputs.length} inputs (${g.inputs.map((i) => i.name).join(', ')}); relprop explains single-input models`);
  const input = g.inputs[0]!.name;
  const isFloat = (t: string) => shapes.get(t)?.dtype === 'float32';
  const carrying = new Set<string>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  const { attribution, embedding } = attributionOf(g, input, shapes, consumers);
  carrying.add(attribution);

  const layers: Layer[] = [];
  const absorbed = new Set<GraphNode>();
  let linearIndex = 0;
  for (const n of g.nodes) {
    if (absorbed.has(n) || n === embedding?.node) continue;
    const carried = n.inputs.map((i) => (i && carrying.has(i) ? i : null));
    if (!carried.some((c) => c)) continue;
    if (n.op === 'Shape' || n.op === 'Size') continue; // shapes carry no relevance
    const def = kindForOp(n.op);
    if (!def) {
      if (n.op === 'Softmax' || n.op === 'LogSoftmax') throw unsupported(n, 'Softmax is supported only as the last node');
      throw unsupported(n);
    }
    const ctx: RecogniseContext = {
      graph: g,
      shapes,
      consumers,
      carried,
      base: { name: n.name, aliases: [], op: n.op, node: n, inputs: carried, outputs: [...n.outputs] },
      onlyFirst() {
        if (carried.slice(1).some((c) => c)) throw unsupported(n, 'only its first operand may depend on the input');
      },
      absorb: (m) => void absorbed.add(m),
      nextLinearIndex: () => linearIndex++,
    };
    const l = def.recognise(n, ctx);
    layers.push(l);
    for (const o of l.outputs) if (isFloat(o)) carrying.add(o);
  }
  return { layers, attribution, embedding, carrying };
}

/** The tensor relevance is read at: the float input, or the output of the embedding lookup of token ids. */
function attributionOf(
  g: Graph,
  input: string,
  shapes: Map<string, TensorInfo>,
  consumers: Map<string, GraphNode[]>,
): Pick<LayerView, 'attribution' | 'embedding'> {
  const inputInfo = shapes.get(input)!;
  if (inputInfo.dtype === 'int64' || inputInfo.dtype === 'int32') {
    const cons = consumers.get(input) ?? [];
    const gathers = cons.filter((n) => n.op === 'Gather' && n.inputs[1] === input && g.initializers.has(n.inputs[0]!));
    if (gathers.length !== 1 || cons.length !== 1) {
      throw new Error(
        `the model input "${input}" holds integer ids, so relprop needs exactly one embedding lookup (Gather of a constant table by these ids) reading it; found ${cons.map((n) => `${n.op} "${n.name}"`).join(', ') || 'none'}`,
      );
    }
    const gather = gathers[0]!;
    if (((gather.attrs.axis as number | undefined) ?? 0) !== 0) throw unsupported(gather, 'embedding lookup must gather along axis 0');
    return { attribution: gather.outputs[0]!, embedding: { node: gather, table: g.initializers.get(gather.inputs[0]!)! } };
  }
  if (inputInfo.dtype !== 'float32')
    throw new Error(`the model input "${input}" has type ${inputInfo.dtype}; relprop explains float32 inputs and int64 token ids`);
  return { attribution: input };
}
