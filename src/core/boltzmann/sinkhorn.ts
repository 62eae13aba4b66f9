/**
 * Entropy-regularised optimal transport between two weighted point sets by log-domain Sinkhorn
 * iterations on ONNX Runtime (graphs in wasserstein-graphs.ts), with the cost matrices behind it:
 * Hamming, or a user's quadratic form (x − y)ᵀC(x − y) between binary vectors. A run that does
 * not reach the tolerance, or produces a non-finite potential, is an error, never a silent result.
 */
import { encodeModel } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { buildCostGraph, buildSinkhornGraph } from './wasserstein-graphs.js';

export interface SinkhornOptions {
  /** Entropic smoothing γ > 0 (in the units of the cost). */
  gamma: number;
  /** Stop when Σ_i |p_i − Σ_j π_ij| < tol (column sums are exact after every iteration; default 1e-5). */
  tol?: number;
  /** Give up (an error) after this many iterations (default 10,000). */
  maxIter?: number;
  /** Iterations per graph run; the tolerance is checked between blocks (default 10). */
  block?: number;
  runtime?: Runtime;
  threads?: number;
}

export interface SinkhornResult {
  /** Data-side potential α [n]. */
  f: Float32Array;
  /** Model-side potential β [m]: the derivative of W_γ with respect to q (up to a constant). */
  g: Float32Array;
  /** W_γ(p, q) = ⟨π, M⟩ + γ Σ π (log π − 1), by the dual. */
  value: number;
  /** ⟨π, M⟩, the transport cost of the smoothed plan. */
  cost: number;
  iterations: number;
  /** The final row-marginal violation. */
  err: number;
}

export class SinkhornError extends Error {}

export function checkGamma(gamma: number): void {
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new Error(`the Sinkhorn smoothing γ must be a finite number > 0, got ${gamma}`);
}

/** Throw unless M has n·m finite entries ≥ 0. */
export function checkCostMatrix(M: ArrayLike<number>, n: number, m: number): void {
  if (M.length !== n * m) throw new Error(`the cost matrix has ${M.length} entries; ${n} × ${m} points need ${n * m}`);
  for (let k = 0; k < M.length; k++) {
    const v = M[k]!;
    if (!(v >= 0) || !Number.isFinite(v)) {
      throw new Error(`the cost matrix must be finite and ≥ 0, but entry (${Math.floor(k / m)}, ${k % m}) is ${v}`);
    }
  }
}

/** Log-weights of a distribution given as weights (≥ 0, renormalised) or, when absent, uniform over n points. */
function logWeights(w: ArrayLike<number> | undefined, n: number, what: string): Float32Array {
  const out = new Float32Array(n);
  if (!w) return out.fill(-Math.log(n));
  if (w.length !== n) throw new Error(`${what} weights have ${w.length} values for ${n} points`);
  let s = 0;
  for (let i = 0; i < n; i++) {
    if (!(w[i]! > 0) || !Number.isFinite(w[i]!)) throw new Error(`${what} weights must be finite and > 0, but weight ${i} is ${w[i]}`);
    s += w[i]!;
  }
  for (let i = 0; i < n; i++) out[i] = Math.log(w[i]! / s);
  return out;
}

/** A Sinkhorn solver holding one session, reused for every problem of any size. */
export class Sinkhorn {
  private constructor(
    private readonly session: Session,
    private readonly opts: SinkhornOptions,
  ) {}

  static async create(opts: SinkhornOptions): Promise<Sinkhorn> {
    checkGamma(opts.gamma);
    const tol = opts.tol ?? 1e-5;
    if (!(tol > 0)) throw new Error(`the Sinkhorn tolerance must be > 0, got ${tol}`);
    const maxIter = opts.maxIter ?? 10000;
    if (!Number.isInteger(maxIter) || maxIter < 1) throw new Error(`the Sinkhorn iteration limit must be an integer ≥ 1, got ${maxIter}`);
    const graph = buildSinkhornGraph(opts.block ?? 10);
    const session = await openSession(opts.runtime, encodeModel(graph, 'relprop-sinkhorn'), { threads: opts.threads ?? 1 }, 'the Sinkhorn graph');
    return new Sinkhorn(session, opts);
  }

  /**
   * Solve for the cost M [n, m] (row-major) between p (n points) and q (m points); weights default
   * to uniform, log-weights may be given instead (`logq`, e.g. an enumerated model's log p_θ).
   */
  async solve(M: Float32Array, n: number, m: number, w: { p?: ArrayLike<number>; q?: ArrayLike<number>; logq?: Float32Array } = {}): Promise<SinkhornResult> {
    checkCostMatrix(M, n, m);
    const { gamma } = this.opts;
    const tol = this.opts.tol ?? 1e-5;
    const maxIter = this.opts.maxIter ?? 10000;
    const block = this.opts.block ?? 10;
    const logp = logWeights(w.p, n, 'data');
    const logq = w.logq ?? logWeights(w.q, m, 'model');
    if (logq.length !== m) throw new Error(`model log-weights have ${logq.length} values for ${m} points`);
    const fixed = { M: float32([n, m], M), logp: float32([n], logp), logq: float32([m], logq), gamma: float32([], [gamma]) };
    let g: Float32Array = new Float32Array(m);
    let iterations = 0;
    for (;;) {
      const out = await this.session.run({ ...fixed, g: float32([m], g) });
      iterations += block;
      const scalar = (k: string) => (out[k]!.data as Float32Array)[0]!;
      const err = scalar('err');
      g = out.g_new!.data as Float32Array;
      const f = out.f!.data as Float32Array;
      if (!Number.isFinite(err) || !g.every(Number.isFinite) || !f.every(Number.isFinite)) {
        throw new SinkhornError(`Sinkhorn produced non-finite potentials after ${iterations} iterations (γ = ${gamma}); raise γ or check the cost matrix`);
      }
      if (err < tol) return { f, g, value: scalar('dual'), cost: scalar('cost'), iterations, err };
      if (iterations >= maxIter) {
        throw new SinkhornError(
          `Sinkhorn did not converge in ${iterations} iterations (marginal error ${err.toExponential(2)} ≥ tolerance ${tol}, γ = ${gamma}); raise the iteration limit, γ or the tolerance`,
        );
      }
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** The identity: (x − y)ᵀI(x − y) is the Hamming distance between binary vectors. */
export function hammingForm(d: number): Float32Array {
  const C = new Float32Array(d * d);
  for (let i = 0; i < d; i++) C[i * d + i] = 1;
  return C;
}

/**
 * Check a user's ground matrix C [d, d] for d(x, y) = (x − y)ᵀC(x − y): the right size, finite,
 * entries ≥ 0, symmetric, and positive semi-definite (a Cholesky factorisation of C + εI), so that
 * every cost is ≥ 0 and d(x, x) = 0.
 */
export function checkGroundMatrix(C: ArrayLike<number>, d: number, source = 'the cost matrix'): void {
  if (C.length !== d * d) {
    const side = Math.sqrt(C.length);
    const shape = Number.isInteger(side) ? `${side} × ${side}` : `${C.length} values`;
    throw new Error(`${source} is ${shape}; the data have ${d} values per sample, so it must be ${d} × ${d}`);
  }
  let scale = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const v = C[i * d + j]!;
      if (!Number.isFinite(v) || v < 0) throw new Error(`${source} must have finite entries ≥ 0, but entry (${i}, ${j}) is ${v}`);
      if (Math.abs(v - C[j * d + i]!) > 1e-6 * Math.max(1, Math.abs(v)))
        throw new Error(`${source} must be symmetric, but entries (${i}, ${j}) and (${j}, ${i}) differ`);
      scale = Math.max(scale, v);
    }
  }
  // Cholesky of C + ε I: fails exactly when C has an eigenvalue below −ε.
  const L = new Float64Array(d * d);
  const eps = 1e-9 * Math.max(scale, 1) * d;
  for (let j = 0; j < d; j++) {
    let s = C[j * d + j]! + eps;
    for (let k = 0; k < j; k++) s -= L[j * d + k]! ** 2;
    if (!(s > 0)) throw new Error(`${source} must be positive semi-definite so that (x − y)ᵀC(x − y) ≥ 0; it is not (pivot ${j})`);
    const ljj = Math.sqrt(s);
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = C[i * d + j]!;
      for (let k = 0; k < j; k++) t -= L[i * d + k]! * L[j * d + k]!;
      L[i * d + j] = t / ljj;
    }
  }
}

/** Cost matrices M [n, m] between rows of binary data under (x − y)ᵀC(x − y), on ONNX Runtime. */
export class CostMatrix {
  private constructor(
    private readonly session: Session,
    readonly d: number,
    private readonly C: Float32Array,
  ) {}

  static async create(d: number, C: Float32Array = hammingForm(d), opts: { runtime?: Runtime; threads?: number } = {}): Promise<CostMatrix> {
    checkGroundMatrix(C, d);
    const session = await openSession(opts.runtime, encodeModel(buildCostGraph(d), 'relprop-cost'), { threads: opts.threads ?? 1 }, 'the cost-matrix graph');
    return new CostMatrix(session, d, C);
  }

  async between(x: Float32Array, y: Float32Array): Promise<Float32Array> {
    const { d } = this;
    const out = await this.session.run({ x: float32([x.length / d, d], x), y: float32([y.length / d, d], y), C: float32([d, d], this.C) });
    return out.M!.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
