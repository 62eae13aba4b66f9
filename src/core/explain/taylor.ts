/**
 * The two baselines of deep Taylor decomposition (Montavon et al. 2017, §2.2–2.3), driven from a
 * gradient Explainer: sensitivity analysis, R_p = (∂f/∂x_p)², and the one-shot Taylor
 * decomposition at a nearest root, R_p = ∂f/∂x_p|x̃ · (x_p − x̃_p) with f(x̃) = 0.
 *
 * The root is sought inside the input box [low, high] by projected Newton steps along the
 * gradient: x̃ ← clip(x̃ − f(x̃)·g/‖g‖², low, high), g the gradient with the components that are at
 * a bound and point out of the box removed (the nearest root of the local linear piece within
 * the box). For a ReLU network a step that lands where f ≤ 0 is pulled back by bisection on the
 * segment to the last point with f > 0, so that the gradient is the active side's (at f = 0 it
 * would be the dead side's, zero). Search stops once f(x̃) ≤ tolerance·f(x).
 */
import type { TensorData } from '../onnx/tensor.js';
import type { Explainer, Target } from './explainer.js';

export interface TaylorOptions {
  target?: Target;
  /** The input box the root must stay in (raw input values, e.g. 0 and 1 for pixels). */
  low: number;
  high: number;
  /** Stop once f(x̃) ≤ tolerance · f(x) (default 1e-3). */
  tolerance?: number;
  /** Newton steps per sample (default 50). */
  maxSteps?: number;
}

export interface TaylorResult {
  /** Logits at x, relevance with the input's shape, the explained classes. */
  logits: TensorData;
  relevance: TensorData;
  targets: number[];
  /** The root points x̃, f(x̃) per sample, and whether f(x̃) ≤ tolerance·f(x) was reached. */
  roots: TensorData;
  rootScores: number[];
  reached: boolean[];
}

/** The deep Taylor baselines, run on a gradient explainer (not graph methods of their own). */
export const TAYLOR_BASELINES = ['sensitivity', 'taylor'] as const;
export type TaylorBaseline = (typeof TAYLOR_BASELINES)[number];

function checkGradient(e: Explainer) {
  if (e.method !== 'gradient') throw new Error(`the Taylor baselines need an Explainer with method "gradient", not "${e.method}"`);
}

/** Sensitivity analysis: the squared gradient of the target logit (sums to ‖∇f‖², not to f). */
export async function sensitivity(explainer: Explainer, x: TensorData, opts: { target?: Target } = {}) {
  checkGradient(explainer);
  const e = await explainer.explain(x, opts);
  const r = e.relevance.data as Float32Array;
  return { ...e, relevance: { ...e.relevance, data: r.map((v) => v * v) } };
}

/** One-shot Taylor decomposition at a nearest root inside [low, high] (see the file comment). */
export async function nearestRootTaylor(explainer: Explainer, x: TensorData, opts: TaylorOptions): Promise<TaylorResult> {
  checkGradient(explainer);
  const { low, high } = opts;
  if (!(Number.isFinite(low) && Number.isFinite(high) && low <= high)) throw new Error(`the input box needs finite low ≤ high, got ${low}, ${high}`);
  const tol = opts.tolerance ?? 1e-3;
  const maxSteps = opts.maxSteps ?? 50;
  if (!(tol > 0 && tol < 1)) throw new Error(`tolerance must be in (0, 1), got ${tol}`);
  if (!(Number.isInteger(maxSteps) && maxSteps >= 1)) throw new Error(`maxSteps must be a positive integer, got ${maxSteps}`);
  const N = x.dims[0]!;
  const per = (x.data as Float32Array).length / N;
  const x0 = Float32Array.from(x.data as Float32Array);
  for (const v of x0) if (v < low || v > high) throw new Error(`the input has a value ${v} outside the box [${low}, ${high}]`);
  const first = await explainer.explain(x, { target: opts.target });
  const targets = first.targets;
  const K = first.logits.dims[1]!;
  const fx = targets.map((t, i) => (first.logits.data as Float32Array)[i * K + t]!);
  // Per sample: the current point, its score and gradient (the last point with f > 0).
  const xi = Float32Array.from(x0);
  const f = [...fx];
  const grad = Float32Array.from(first.relevance.data as Float32Array);
  const reached = fx.map((v) => v <= 0);
  const done = [...reached];
  /** Scores and gradients at the rows `idx` of `pts` (each a whole sample). */
  const at = async (idx: number[], pts: Float32Array[]) => {
    const data = new Float32Array(idx.length * per);
    pts.forEach((p, k) => data.set(p, k * per));
    const e = await explainer.explain({ dtype: 'float32', dims: [idx.length, ...x.dims.slice(1)], data }, { target: idx.map((i) => targets[i]!) });
    return idx.map((i, k) => ({
      f: (e.logits.data as Float32Array)[k * K + targets[i]!]!,
      g: (e.relevance.data as Float32Array).subarray(k * per, (k + 1) * per),
    }));
  };
  for (let step = 0; step < maxSteps; step++) {
    const active = targets.map((_, i) => i).filter((i) => !done[i]);
    if (!active.length) break;
    const proposals = active.map((i) => {
      const p = xi.subarray(i * per, (i + 1) * per);
      const g = grad.subarray(i * per, (i + 1) * per);
      // Components at a bound that the step would push out of the box do not move.
      const free = g.map((v, k) => ((p[k]! <= low && v > 0) || (p[k]! >= high && v < 0) ? 0 : v));
      const gg = free.reduce((a, v) => a + v * v, 0);
      if (gg === 0) return null;
      const t = f[i]! / gg;
      return p.map((v, k) => Math.min(high, Math.max(low, v - t * free[k]!)));
    });
    const moving = active.filter((_, k) => proposals[k]);
    // No direction left inside the box: the search ends here without a root.
    active.forEach((i, k) => {
      if (!proposals[k]) done[i] = true;
    });
    if (!moving.length) break;
    const props = proposals.flatMap((p) => (p ? [p] : []));
    const results = await at(moving, props);
    const overshot: number[] = [];
    moving.forEach((i, k) => {
      const r = results[k]!;
      if (r.f > 0) {
        xi.set(props[k]!, i * per);
        f[i] = r.f;
        grad.set(r.g, i * per);
      } else overshot.push(k);
      if (r.f <= tol * fx[i]!) reached[i] = true;
    });
    // Bisection between the current point (f > 0) and the overshooting proposal (f ≤ 0).
    if (overshot.length) {
      const lo = overshot.map((k) => Float32Array.from(xi.subarray(moving[k]! * per, (moving[k]! + 1) * per)));
      const hi = overshot.map((k) => props[k]!);
      for (let b = 0; b < 30; b++) {
        const mids = lo.map((l, j) => l.map((v, k) => (v + hi[j]![k]!) / 2));
        const rs = await at(
          overshot.map((k) => moving[k]!),
          mids,
        );
        rs.forEach((r, j) => {
          const i = moving[overshot[j]!]!;
          if (r.f > 0) {
            lo[j] = mids[j]!;
            xi.set(mids[j]!, i * per);
            f[i] = r.f;
            grad.set(r.g, i * per);
          } else hi[j] = mids[j]!;
        });
        if (overshot.every((k) => f[moving[k]!]! <= tol * fx[moving[k]!]!)) break;
      }
      for (const k of overshot) reached[moving[k]!] = f[moving[k]!]! <= tol * fx[moving[k]!]! || reached[moving[k]!]!;
    }
    for (const i of moving) done[i] = reached[i]!;
  }
  const rel = new Float32Array(N * per);
  for (let i = 0; i < N; i++) {
    // f(x) ≤ 0: x is its own root and nothing is explained.
    if (fx[i]! <= 0) continue;
    for (let k = 0; k < per; k++) rel[i * per + k] = grad[i * per + k]! * (x0[i * per + k]! - xi[i * per + k]!);
  }
  return {
    logits: first.logits,
    relevance: { dtype: 'float32', dims: [...x.dims], data: rel },
    targets,
    roots: { dtype: 'float32', dims: [...x.dims], data: xi },
    rootScores: f.map((v, i) => (fx[i]! <= 0 ? fx[i]! : v)),
    reached,
  };
}
