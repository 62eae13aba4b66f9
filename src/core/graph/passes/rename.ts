/**
 * Tensor renames shared by the passes that delete a node (Identity/Dropout removal, Softmax
 * stripping). Not a pass itself.
 */
import type { Graph } from '../../onnx/model.js';

/** Consumers and graph outputs of `from` read `to` instead (a deleted node's output becomes its input). */
export function renameTensor(g: Graph, from: string, to: string) {
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === from ? to : i));
  for (const o of g.outputs) if (o.name === from) o.name = to;
}

/**
 * `from` is called `to` wherever a node produces or reads it: a deleted node's output name passes
 * to the producer of its input, so the graph output keeps its name.
 */
export function renameProduced(g: Graph, from: string, to: string) {
  for (const m of g.nodes) m.outputs = m.outputs.map((o) => (o === from ? to : o));
  for (const m of g.nodes) m.inputs = m.inputs.map((i) => (i === from ? to : i));
}
