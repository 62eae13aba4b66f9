/**
 * Identity and Dropout nodes disappear: at inference both pass their input through, and a layer
 * view without them has fewer layers to recognise and to carry relevance through. Consumers read
 * the node's input instead; where the node produces the graph output, the producer of its input
 * takes over the output's name, so the model's output keeps its name.
 */
import type { Graph } from '../../onnx/model.js';
import { renameProduced, renameTensor } from './rename.js';

export function removeIdentities(g: Graph) {
  for (const n of [...g.nodes]) {
    if (n.op !== 'Identity' && n.op !== 'Dropout') continue;
    g.nodes.splice(g.nodes.indexOf(n), 1);
    if (g.outputs.some((o) => o.name === n.outputs[0])) renameProduced(g, n.inputs[0]!, n.outputs[0]!);
    else renameTensor(g, n.outputs[0]!, n.inputs[0]!);
  }
}
