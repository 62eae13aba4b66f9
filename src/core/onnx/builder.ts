/** Appends nodes and constants to a graph under fresh names; the compiler's only way to write ONNX. */
import type { AttrValue, Graph, GraphNode } from './model.js';
import { float32, int64, type TensorData } from './tensor.js';

export class GraphBuilder {
  private counter = 0;
  private readonly taken: Set<string>;
  private readonly constCache = new Map<string, string>();

  constructor(
    readonly graph: Graph,
    private readonly prefix = 'relprop',
  ) {
    this.taken = new Set<string>([...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]);
    for (const n of graph.nodes) {
      this.taken.add(n.name);
      for (const o of n.outputs) this.taken.add(o);
    }
  }

  fresh(hint: string): string {
    const base = `${this.prefix}/${hint.replace(/[^A-Za-z0-9_./:-]/g, '_')}`;
    let name = base;
    while (this.taken.has(name)) name = `${base}_${++this.counter}`;
    this.taken.add(name);
    return name;
  }

  /** A node named exactly `nodeName` (a model layer users refer to by name), single output. */
  layer(op: string, inputs: string[], attrs: Record<string, AttrValue>, nodeName: string): string {
    return this.opN(op, inputs, 1, attrs, nodeName, nodeName)[0]!;
  }

  /** Add one node with a single output and return the output's name. */
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = op): string {
    return this.opN(op, inputs, 1, attrs, hint)[0]!;
  }

  opN(op: string, inputs: string[], nOut: number, attrs: Record<string, AttrValue> = {}, hint = op, nodeName?: string): string[] {
    const outputs = Array.from({ length: nOut }, (_, k) => this.fresh(`${hint}${nOut > 1 ? `_${k}` : ''}`));
    const name = nodeName && !this.taken.has(nodeName) ? nodeName : this.fresh(`${hint}_node`);
    this.taken.add(name);
    const node: GraphNode = { op, name, inputs, outputs, attrs };
    this.graph.nodes.push(node);
    return outputs;
  }

  initializer(hint: string, t: TensorData): string {
    const name = this.fresh(hint);
    this.graph.initializers.set(name, t);
    return name;
  }

  /** A float32 scalar constant (shape []), shared between uses. */
  scalar(v: number): string {
    return this.cached(`f:${v}`, () => this.initializer(`const_${v}`, float32([], [v])));
  }

  ints(values: number[]): string {
    return this.cached(`i:${values.join(',')}`, () => this.initializer('ints', int64([values.length], values)));
  }

  private cached(key: string, make: () => string): string {
    let name = this.constCache.get(key);
    if (!name) {
      name = make();
      this.constCache.set(key, name);
    }
    return name;
  }

  /**
   * Put the nodes `build` appends in `node`'s place, `node` removed; `build` returns the tensor
   * that takes over the node's output name (it must be an appended node's output that no other
   * appended node reads). The last appended node takes the node's name, so the layer keeps it.
   */
  replaceNode(node: GraphNode, build: () => string): void {
    const nodes = this.graph.nodes;
    const at = nodes.indexOf(node);
    if (at < 0 || node.outputs.length !== 1) throw new Error(`internal: cannot replace node "${node.name}"`);
    const from = nodes.length;
    const out = build();
    const added = nodes.splice(from);
    const producer = added.find((n) => n.outputs.includes(out));
    if (!producer || added.some((n) => n.inputs.includes(out))) throw new Error(`internal: "${out}" cannot take over "${node.name}"`);
    producer.outputs[producer.outputs.indexOf(out)] = node.outputs[0]!;
    added[added.length - 1]!.name = node.name;
    nodes.splice(at, 1, ...added);
  }

  // Small helpers for the arithmetic every rule needs.
  add(a: string, b: string) {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string) {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string) {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string) {
    return this.op('Div', [a, b]);
  }
  relu(a: string) {
    return this.op('Relu', [a]);
  }
  /** min(a, 0) */
  negPart(a: string) {
    return this.op('Neg', [this.relu(this.op('Neg', [a]))]);
  }

  /**
   * d + eps·sgn(d) with sgn(0) = +1: never a zero denominator (Zennit's stabiliser). When the sign
   * of d is known at compile time ('nonneg': d ≥ 0; 'nonpos': d ≤ 0 and the numerators vanish where
   * d = 0) it is one Add.
   */
  stabilize(d: string, eps: number, sign?: 'nonneg' | 'nonpos'): string {
    if (sign === 'nonneg') return this.add(d, this.scalar(eps));
    if (sign === 'nonpos') return this.sub(d, this.scalar(eps));
    const nonNeg = this.op('GreaterOrEqual', [d, this.scalar(0)]);
    return this.add(d, this.op('Where', [nonNeg, this.scalar(eps), this.scalar(-eps)], {}, 'stab_sign'));
  }

  /** Sum of several tensors (relevance arriving from several consumers). */
  sum(parts: string[]): string {
    if (parts.length === 1) return parts[0]!;
    return this.op('Sum', parts);
  }
}

/**
 * Drop nodes none of whose outputs is read by another node or the graph, repeatedly (ONNX Runtime
 * runs them anyway): fragments a cheaper path made unnecessary, e.g. dense relevance below a max
 * pool whose consumer works at the pooled resolution, or NCHW copies of blocked tensors.
 */
export function pruneUnused(graph: Graph) {
  for (;;) {
    const read = new Set(graph.outputs.map((o) => o.name));
    for (const n of graph.nodes) for (const i of n.inputs) if (i) read.add(i);
    const kept = graph.nodes.filter((n) => n.outputs.some((o) => o && read.has(o)));
    if (kept.length === graph.nodes.length) return;
    graph.nodes = kept;
  }
}
