/**
 * Values carried inside nodes become initializers. Constant nodes turn into initializers, so every
 * later pass, the layer view and the rules find weights, axes and shapes in one place. On opset
 * 11/12 models the attribute forms that opset 13 made inputs (Squeeze/Unsqueeze `axes`, Split
 * `split`) become int64 initializer inputs; the graph is then declared at the explainer's opset,
 * so the backward graph can use operators of that opset.
 */
import type { Graph, GraphNode } from '../../onnx/model.js';
import { float32, int64, type TensorData } from '../../onnx/tensor.js';

function attrInts(n: GraphNode, k: string): number[] | undefined {
  const v = n.attrs[k];
  return Array.isArray(v) ? (v as number[]) : undefined;
}

function constantValue(n: GraphNode): TensorData {
  const a = n.attrs;
  if (a.value && typeof a.value === 'object' && !Array.isArray(a.value)) return a.value as TensorData;
  if (typeof a.value_float === 'number') return float32([], [a.value_float]);
  if (Array.isArray(a.value_floats)) return float32([a.value_floats.length], a.value_floats as number[]);
  if (typeof a.value_int === 'number') return int64([], [a.value_int]);
  if (Array.isArray(a.value_ints)) return int64([a.value_ints.length], a.value_ints as number[]);
  throw new Error(`Constant node "${n.name}" has no supported value attribute (${Object.keys(a).join(', ')})`);
}

/** Attribute `attr` of node `n` (if set) becomes its second input, an int64 initializer. */
function attributeToInput(g: Graph, n: GraphNode, attr: string) {
  const values = attrInts(n, attr);
  if (!values) return;
  const name = `${n.name}/${attr}`;
  g.initializers.set(name, int64([values.length], values));
  n.inputs = [n.inputs[0]!, name];
  delete n.attrs[attr];
}

/** Lift constants and opset-11/12 attribute operands into initializers; then declare `opset` (at least). */
export function liftConstants(g: Graph, opset: number) {
  const upgrade = g.opset < 13;
  const kept: GraphNode[] = [];
  for (const n of g.nodes) {
    if (n.op === 'Constant') {
      g.initializers.set(n.outputs[0]!, constantValue(n));
      continue;
    }
    if (upgrade && (n.op === 'Squeeze' || n.op === 'Unsqueeze')) attributeToInput(g, n, 'axes');
    if (upgrade && n.op === 'Split') attributeToInput(g, n, 'split');
    kept.push(n);
  }
  g.nodes = kept;
  g.opset = Math.max(g.opset, opset);
}
