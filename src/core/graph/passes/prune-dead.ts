/**
 * Nodes and initializers the explained output does not depend on are removed: branches that fed
 * only the model's other outputs, and the weights canonical Gemm and batch-norm folding replaced.
 * The layer view, the shape probe and the explainer then see only what the output needs.
 */
import type { Graph, GraphNode } from '../../onnx/model.js';

/** Keep only the nodes and initializers `output` depends on. */
export function pruneDead(g: Graph, output: string) {
  const needed = new Set([output]);
  const keep: GraphNode[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const n = g.nodes[k]!;
    if (n.outputs.some((o) => needed.has(o))) {
      keep.push(n);
      for (const i of n.inputs) if (i) needed.add(i);
    }
  }
  g.nodes = keep.reverse();
  for (const k of [...g.initializers.keys()]) if (!needed.has(k)) g.initializers.delete(k);
}
