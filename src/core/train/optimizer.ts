/**
 * The optimizer update inside the training step: SGD with momentum or Adam (decoupled weight
 * decay), per parameter, with one state tensor per parameter and slot ("<param>.<slot>": velocity,
 * or Adam's m_sum and v_sum). The
 * step's graph outputs the updated parameters, optimizer states and batch-norm running statistics.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM } from '../onnx/model.js';
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
  const updated = new Map<string, string>();
  const states: NonNullable<BuiltGraph['states']> = [];
  built.updated = updated;
  built.states = states;
  const wd = opt.weightDecay ?? 0;
  const trained: ParamInfo[] = [];
  for (const p of params) {
    if (p.frozen) continue;
    if (p.buffer) {
      const u = bufferUpdates.get(p.name)!;
      updated.set(p.name, u);
      graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
    } else {
      if (!grads.has(p.name)) throw new Error(`internal: no gradient for ${p.name}`);
      trained.push(p);
    }
  }
  if (!trained.length) return;
  // Per parameter rather than over one concatenated vector: the Concat/Split copies of every
  // parameter, gradient and state each step cost more than the extra (small) nodes.
  const anyDecay = wd > 0 && trained.some((p) => p.decay);
  // Decoupled weight decay (AdamW) reads the plain rate `lr_wd`, since Adam's `lr` arrives bias-corrected.
  let adamDecay: string | undefined;
  if (anyDecay && opt.kind === 'adam') {
    graph.inputs.push({ name: 'lr_wd', elemType: ELEM.FLOAT, shape: [] });
    adamDecay = g.mul('lr_wd', g.scalar(wd));
  }
  let rate: string | undefined;
  for (const p of trained) {
    const P = p.name;
    let gr = grads.get(P)!;
    const state = (slot: string, legacy: { slot: string; scale: number }) => {
      const name = `${P}.${slot}`;
      graph.inputs.push({ name, elemType: ELEM.FLOAT, shape: p.dims });
      states.push({ name, slot, dims: p.dims, params: [P], legacy });
      return name;
    };
    const output = (from: string, to: string) => {
      updated.set(from, to);
      graph.outputs.push({ name: to, elemType: ELEM.FLOAT, shape: p.dims });
    };
    let next: string;
    if (opt.kind === 'sgd') {
      // Weight decay applies to weights only (p.decay), not to biases and batch-norm parameters.
      if (wd > 0 && p.decay) gr = g.add(gr, g.mul(P, g.scalar(wd)));
      const mom = opt.momentum ?? 0.9;
      if (mom > 0) {
        const v = state('velocity', { slot: 'velocity', scale: 1 });
        const v2 = g.add(g.mul(v, g.scalar(mom)), gr);
        output(v, v2);
        gr = v2;
      }
      next = g.sub(P, g.mul(gr, lr));
    } else {
      const b1 = opt.beta1 ?? 0.9;
      const b2 = opt.beta2 ?? 0.999;
      // The moments as exponentially weighted sums, m/(1−β1) and v/(1−β2): two element-wise passes
      // fewer per step than the averages, the constant factors going into the (scalar) rate and ε.
      const m = state('m_sum', { slot: 'm', scale: 1 / (1 - b1) });
      const v = state('v_sum', { slot: 'v', scale: 1 / (1 - b2) });
      const m2 = g.add(g.mul(m, g.scalar(b1)), gr);
      const v2 = g.add(g.mul(v, g.scalar(b2)), g.mul(gr, gr));
      output(m, m2);
      output(v, v2);
      // lr arrives bias-corrected, lr·√(1−β2ᵗ)/(1−β1ᵗ); the update lr·m/(√v + ε) in terms of the sums.
      rate ??= g.mul(lr, g.scalar((1 - b1) / Math.sqrt(1 - b2)));
      next = g.sub(P, g.mul(g.div(m2, g.add(g.op('Sqrt', [v2]), g.scalar((opt.eps ?? 1e-8) / Math.sqrt(1 - b2)))), rate));
      if (adamDecay && p.decay) next = g.sub(next, g.mul(P, adamDecay));
    }
    let u = next;
    // Projected gradient descent: a bias declared non-positive goes back onto b ≤ 0 after each step.
    if (p.nonPositive) u = g.op('Min', [u, g.scalar(0)], {}, `${P}_projected`);
    updated.set(P, u);
    graph.outputs.push({ name: u, elemType: ELEM.FLOAT, shape: p.dims });
  }
}
