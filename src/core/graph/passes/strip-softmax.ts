/**
 * A Softmax or LogSoftmax producing the explained output is removed: relprop explains logits
 * (the relevance at the output is the target's logit, DESIGN §3). The logits take over the
 * output's name.
 */
import type { Graph } from '../../onnx/model.js';
import { renameProduced } from './rename.js';

/** Strip the softmax producing `output`; returns the stripped node's name, or null if there was none. */
export function stripSoftmax(g: Graph, output: string): string | null {
  const producer = g.nodes.find((n) => n.outputs.includes(output));
  if (!producer || (producer.op !== 'Softmax' && producer.op !== 'LogSoftmax')) return null;
  g.nodes.splice(g.nodes.indexOf(producer), 1);
  renameProduced(g, producer.inputs[0]!, output);
  return producer.name;
}
