/**
 * One-vs-rest linear SVMs with the squared hinge loss (L2-SVM), trained in the primal:
 *   L(W, b) = (1/n) Σ_i Σ_c max(0, 1 − y_ic (x_iᵀ w_c + b_c))² + (λ/2) ‖W‖²,  y_ic = ±1,
 * by Nesterov's accelerated gradient (the loss is smooth). The data pass (scores, loss and the
 * gradient (1/n) Xᵀ G, G = −2 y ⊙ max(0, 1 − y f)) is a graph; the update of the [F, C] weights is
 * TypeScript. Step 1/L with L = 2 λmax([X 1]ᵀ[X 1] / n) + λ ≤ 2·(1 + max ‖x‖²) + λ, which for
 * L2-normalised FVs is 4 + λ: no step size to tune.
 */
import { float32 } from '../onnx/tensor.js';
import type { Runtime } from '../runtime.js';
import { FvGraph } from './graph.js';

export function buildSvmGradientGraph(F: number, C: number) {
  const fg = new FvGraph();
  const { b } = fg;
  const x = fg.input('x', ['N', F]);
  const y = fg.input('y', ['N', C]);
  const W = fg.input('W', [F, C]);
  const bias = fg.input('b', [C]);
  const n = fg.input('n', []);
  const f = b.add(b.op('MatMul', [x, W]), bias);
  const h = b.relu(b.sub(b.scalar(1), b.mul(y, f)));
  const G = b.div(b.mul(b.mul(y, h), b.scalar(-2)), n);
  fg.output('loss', b.div(b.op('ReduceSum', [b.mul(h, h)], { keepdims: 0 }), n), []);
  fg.output('gW', b.op('MatMul', [b.op('Transpose', [x], { perm: [1, 0] }), G]), [F, C]);
  fg.output('gb', b.op('ReduceSum', [G, b.ints([0])], { keepdims: 0 }), [C]);
  return fg;
}

export interface SvmOptions {
  lambda: number;
  iterations: number;
  runtime?: Runtime;
  threads?: number;
  onIteration?: (iteration: number, objective: number) => void;
  /** Continue from a state saved by onState. */
  start?: SvmState;
  /** Called every `stateEvery` iterations (default 50) with the state to resume from. */
  onState?: (state: SvmState) => Promise<void> | void;
  stateEvery?: number;
}

/** Weights then biases after `iteration` steps, the previous iterate (for the momentum) and the objectives so far. */
export interface SvmState {
  iteration: number;
  w: Float64Array;
  prevW: Float64Array;
  objective: number[];
}

/** Train on features x [n, F] (rows L2-normalised or smaller) with labels 0..C−1. */
export async function trainSvm(x: Float32Array, labels: Int32Array, F: number, C: number, o: SvmOptions) {
  const n = labels.length;
  let maxNorm = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let f = 0; f < F; f++) s += x[i * F + f]! ** 2;
    maxNorm = Math.max(maxNorm, s);
  }
  const step = 1 / (2 * (1 + maxNorm) + o.lambda);
  const y = new Float32Array(n * C).fill(-1);
  for (let i = 0; i < n; i++) y[i * C + labels[i]!] = 1;
  const session = await buildSvmGradientGraph(F, C).session(o.runtime, 'the SVM gradient graph', o.threads);
  const P = F * C + C; // weights then biases, one vector
  if (o.start && o.start.w.length !== P) throw new Error(`cannot resume: the saved SVM has ${o.start.w.length} parameters, not ${P}`);
  let w = o.start ? Float64Array.from(o.start.w) : new Float64Array(P);
  let prevW = o.start ? Float64Array.from(o.start.prevW) : new Float64Array(P);
  const objective: number[] = [...(o.start?.objective ?? [])];
  const feedX = float32([n, F], x);
  const feedY = float32([n, C], y);
  try {
    for (let it = o.start?.iteration ?? 0; it < o.iterations; it++) {
      const mom = it / (it + 3);
      const v = w.map((wi, i) => wi + mom * (wi - prevW[i]!));
      const out = await session.run({ x: feedX, y: feedY, W: float32([F, C], v.subarray(0, F * C)), b: float32([C], v.subarray(F * C)), n: float32([], [n]) });
      const gW = out.gW!.data as Float32Array;
      const gb = out.gb!.data as Float32Array;
      let reg = 0;
      for (let i = 0; i < F * C; i++) reg += v[i]! * v[i]!;
      const obj = (out.loss!.data as Float32Array)[0]! + 0.5 * o.lambda * reg;
      objective.push(obj);
      o.onIteration?.(it, obj);
      const next = new Float64Array(P);
      for (let i = 0; i < F * C; i++) next[i] = v[i]! - step * (gW[i]! + o.lambda * v[i]!);
      for (let c = 0; c < C; c++) next[F * C + c] = v[F * C + c]! - step * gb[c]!;
      prevW = w;
      w = next;
      if (o.onState && ((it + 1) % (o.stateEvery ?? 50) === 0 || it + 1 === o.iterations))
        await o.onState({ iteration: it + 1, w, prevW, objective: [...objective] });
    }
  } finally {
    await session.release();
  }
  return { weights: Float32Array.from(w.subarray(0, F * C)), bias: Float32Array.from(w.subarray(F * C)), objective };
}
