/**
 * The optimizer update inside the training step: SGD with momentum or Adam (decoupled weight
 * decay), over all trained parameters as one flat vector. The step's graph outputs the updated
 * parameters, optimizer states and batch-norm running statistics.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM } from '../onnx/model.js';
import { float32, numel } from '../onnx/tensor.js';
import type { ParamInfo } from './context.js';
import type { BuiltGraph, OptimizerSpec } from './graph.js';

export function emitOptimizer(
  g: GraphBuilder,
  built: BuiltGraph,
  params: ParamInfo[],
  grads: Map<string, string>,
  bufferUpdates: Map<string, string>,
  opt: OptimizerSpec,
): void {
  const graph = g.graph;
  const lr = 'lr';
  graph.inputs.push({ name: lr, elemType: ELEM.FLOAT, shape: [] });
  built.lr = lr;
  built.updated = new Map();
  built.states = [];
  const wd = opt.weightDecay ?? 0;
  const trained: ParamInfo[] = [];
  for (const p of params) {
    if (p.frozen) continue;
    if (p.buffer) {
      const u = bufferUpdates.get(p.name)!;
      built.updated.set(p.name, u);
      graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
    } else {
      if (!grads.has(p.name)) throw new Error(`internal: no gradient for ${p.name}`);
      trained.push(p);
    }
  }
  if (!trained.length) return;
  // One update over all parameters as a single flat vector: a dozen element-wise ops instead of
  // a dozen per parameter, and one tensor per optimizer slot to feed and fetch.
  const sizes = trained.map((p) => numel(p.dims));
  const total = sizes.reduce((a, b) => a + b, 0);
  const flat = (names: string[]) =>
    names.length === 1
      ? g.op('Reshape', [names[0]!, g.ints([-1])])
      : g.op(
          'Concat',
          names.map((n) => g.op('Reshape', [n, g.ints([-1])])),
          { axis: 0 },
        );
  const P = flat(trained.map((p) => p.name));
  let gr = flat(trained.map((p) => grads.get(p.name)!));
  const state = (slot: string) => {
    const name = `optimizer.${slot}`;
    graph.inputs.push({ name, elemType: ELEM.FLOAT, shape: [total] });
    built.states!.push({ name, slot, dims: [total], params: trained.map((p) => p.name) });
    return name;
  };
  const output = (from: string, to: string) => {
    built.updated!.set(from, to);
    graph.outputs.push({ name: to, elemType: ELEM.FLOAT, shape: [total] });
  };
  // Weight decay applies to weights only: a per-element 0/1 mask when some parameters are exempt.
  const decayed = trained.map((p) => p.decay);
  const decayOf = (t: string) => {
    if (decayed.every(Boolean)) return t;
    const mask = float32([total]);
    let at = 0;
    trained.forEach((p, i) => {
      if (p.decay) (mask.data as Float32Array).fill(1, at, at + sizes[i]!);
      at += sizes[i]!;
    });
    return g.mul(t, g.initializer('decay_mask', mask));
  };
  const anyDecay = wd > 0 && decayed.some(Boolean);
  let next: string;
  if (opt.kind === 'sgd') {
    if (anyDecay) gr = g.add(gr, decayOf(g.mul(P, g.scalar(wd))));
    const mom = opt.momentum ?? 0.9;
    if (mom > 0) {
      const v = state('velocity');
      const v2 = g.add(g.mul(v, g.scalar(mom)), gr);
      output(v, v2);
      gr = v2;
    }
    next = g.sub(P, g.mul(gr, lr));
  } else {
    const b1 = opt.beta1 ?? 0.9;
    const b2 = opt.beta2 ?? 0.999;
    const m = state('m');
    const v = state('v');
    const m2 = g.add(g.mul(m, g.scalar(b1)), g.mul(gr, g.scalar(1 - b1)));
    const v2 = g.add(g.mul(v, g.scalar(b2)), g.mul(g.mul(gr, gr), g.scalar(1 - b2)));
    output(m, m2);
    output(v, v2);
    // lr arrives bias-corrected: lr·√(1−β2ᵗ)/(1−β1ᵗ); decoupled weight decay (AdamW) uses the plain rate in `lr_wd`.
    next = g.sub(P, g.mul(g.div(m2, g.add(g.op('Sqrt', [v2]), g.scalar(opt.eps ?? 1e-8))), lr));
    if (anyDecay) {
      graph.inputs.push({ name: 'lr_wd', elemType: ELEM.FLOAT, shape: [] });
      next = g.sub(next, decayOf(g.mul(P, g.mul('lr_wd', g.scalar(wd)))));
    }
  }
  const parts = trained.length === 1 ? [next] : g.opN('Split', [next, g.ints(sizes)], trained.length, { axis: 0 });
  trained.forEach((p, i) => {
    let u = g.op('Reshape', [parts[i]!, g.ints(p.dims)], {}, `${p.name}_next`);
    // Projected gradient descent: a bias declared non-positive goes back onto b ≤ 0 after each step.
    if (p.nonPositive) u = g.op('Min', [u, g.scalar(0)], {}, `${p.name}_projected`);
    built.updated!.set(p.name, u);
    graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
  });
}
