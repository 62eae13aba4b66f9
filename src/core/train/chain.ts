/**
 * k training steps in one session run: the training-step graph repeated k times, step i reading
 * the parameters, optimizer states and batch-norm buffers step i − 1 wrote. Feeds are each step's
 * batch (exactly `batch` rows; the model input, labels and mask as `<name>~<i>`, separate inputs so
 * that nothing is copied to cut them apart), the learning rates per step (`lr`, and `lr_wd` where
 * the step reads it) as vectors of k, and the state before the first step; outputs the state after
 * the last step, the k losses and the k batches' outputs stacked. The host round trip, and the
 * fresh output buffers each run hands back, are paid once per k steps.
 */
import { ELEM, type Graph, type GraphNode } from '../onnx/model.js';
import { int64 } from '../onnx/tensor.js';
import type { BuiltGraph } from './graph.js';

export interface ChainedGraph {
  graph: Graph;
  steps: number;
  batch: number;
  /** Per-step data inputs (the model input, labels, mask, where the step has them): name → the k inputs. */
  data: Map<string, string[]>;
  /** Learning-rate inputs, each [steps]. */
  rates: string[];
  /** Parameter, state or buffer name → the output holding its value after the last step. */
  updated: Map<string, string>;
  /** [steps]: the loss of each step. */
  losses: string;
  /** [steps·batch, outputs]: the model's outputs of each step, stacked. */
  outputs: string;
}

export function chainSteps(built: BuiltGraph, steps: number, batch: number): ChainedGraph {
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error(`steps per run must be an integer ≥ 2, got ${steps}`);
  const src = built.graph;
  const updated = built.updated!;
  const graph: Graph = { ...src, nodes: [], initializers: new Map(src.initializers), inputs: [], outputs: [] };
  const inputNames = new Set(src.inputs.map((i) => i.name));
  const data = new Map<string, string[]>();
  for (const n of [built.input, built.labels, built.mask])
    if (n && inputNames.has(n))
      data.set(
        n,
        Array.from({ length: steps }, (_, i) => `${n}~${i}`),
      );
  const rates = ['lr', 'lr_wd'].filter((n) => inputNames.has(n));
  const carried = new Set(updated.keys());
  const unique = (hint: string) => {
    let name = hint;
    for (let k = 1; graph.initializers.has(name) || inputNames.has(name); k++) name = `${hint}_${k}`;
    return name;
  };
  const node = (op: string, inputs: string[], outputs: string[], attrs: GraphNode['attrs'] = {}) =>
    graph.nodes.push({ op, name: `chain_${graph.nodes.length}_${op}`, inputs, outputs, attrs });

  // Data: each step's own inputs; rates: one Gather per step.
  const perStep: Map<string, string>[] = Array.from({ length: steps }, () => new Map());
  for (const v of src.inputs) {
    const parts = data.get(v.name);
    if (parts) {
      parts.forEach((p, i) => {
        graph.inputs.push({ ...v, name: p, shape: [batch, ...v.shape.slice(1)] });
        perStep[i]!.set(v.name, p);
      });
    } else if (rates.includes(v.name)) {
      graph.inputs.push({ ...v, shape: [steps] });
      perStep.forEach((m, i) => {
        const at = unique(`chain_step_${i}`);
        graph.initializers.set(at, int64([], [i]));
        node('Gather', [v.name, at], [`${v.name}~${i}`], { axis: 0 });
        m.set(v.name, `${v.name}~${i}`);
      });
    } else graph.inputs.push(v);
  }

  // Step i's copy of the step graph: its own tensor and node names; the carried state comes from step i − 1.
  for (let i = 0; i < steps; i++) {
    const own = perStep[i]!;
    if (i > 0) for (const name of carried) own.set(name, perStep[i - 1]!.get(updated.get(name)!)!);
    const name = (t: string) => (t === '' ? t : (own.get(t) ?? t));
    for (const n of src.nodes) {
      const outputs = n.outputs.map((o) => (o === '' || i === 0 ? o : `${o}~${i}`));
      n.outputs.forEach((o, k) => {
        if (o !== '') own.set(o, outputs[k]!);
      });
      graph.nodes.push({
        ...n,
        name: i === 0 ? n.name : `${n.name}~${i}`,
        inputs: n.inputs.map(name),
        outputs,
        // Each step's dropout draws its own masks.
        attrs: n.op === 'Dropout' && typeof n.attrs.seed === 'number' ? { ...n.attrs, seed: n.attrs.seed + 7919 * i } : n.attrs,
      });
    }
  }
  const last = perStep[steps - 1]!;
  const out = new Map<string, string>();
  for (const [name, u] of updated) {
    const o = last.get(u)!;
    out.set(name, o);
    const info = src.outputs.find((x) => x.name === u);
    graph.outputs.push({ name: o, elemType: ELEM.FLOAT, shape: info?.shape ?? [] });
  }
  const axes = unique('chain_axes');
  graph.initializers.set(axes, int64([1], [0]));
  const lossParts = perStep.map((m, i) => {
    const u = `chain_loss~${i}`;
    node('Unsqueeze', [m.get(built.loss!)!, axes], [u]);
    return u;
  });
  const losses = 'losses';
  node('Concat', lossParts, [losses], { axis: 0 });
  graph.outputs.push({ name: losses, elemType: ELEM.FLOAT, shape: [steps] });
  const outputs = 'chain_outputs';
  node(
    'Concat',
    perStep.map((m) => m.get(built.output)!),
    [outputs],
    { axis: 0 },
  );
  const K = built.outputShape[0] ?? 'n';
  graph.outputs.push({ name: outputs, elemType: ELEM.FLOAT, shape: [steps * batch, K] });
  return { graph, steps, batch, data, rates, updated: out, losses, outputs };
}
