/**
 * Entropy-regularised optimal transport between two weighted point sets by Sinkhorn iterations on
 * ONNX Runtime (graphs in wasserstein-graphs.ts), in the linear (scaling) domain where float32
 * holds the kernel and the scalings, else in the log domain; with the cost matrices behind it:
 * Hamming, or a user's quadratic form (x − y)ᵀC(x − y) between binary vectors. A run that does
 * not reach the tolerance, or produces a non-finite potential, is an error, never a silent result.
 */
import { encodeModel } from '../onnx/model.js';
import { float32, float32View } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { buildCostGraph, buildSinkhornChecksGraph, buildSinkhornGraph, buildSinkhornLinearSolveGraph } from './wasserstein-graphs.js';

/**
 * 'linear': scalings u = exp(f/γ), v = exp(g/γ) and the kernel K = exp(−M/γ) (stabilised by the
 * cost's row minima); 'log': potentials and log-sum-exp; 'auto': linear when the
 * kernel and the weights fit float32 (see {@link LINEAR_LIMITS}), else log, and log again if the
 * linear iteration leaves the safe range or does not converge.
 */
export type SinkhornDomain = 'auto' | 'linear' | 'log';

/**
 * When 'auto' takes the linear domain: the stabilised kernel's smallest entry is exp(−spread) with
 * spread ≤ maxSpread (a normal float32 number, far from underflow), every log-weight is
 * ≥ minLogWeight, and after every block all scalings u, v are within [minScaling, maxScaling].
 */
export const LINEAR_LIMITS: { maxSpread: number; minLogWeight: number; minScaling: number; maxScaling: number } = {
  maxSpread: 50,
  minLogWeight: -50,
  minScaling: 1e-30,
  maxScaling: 1e30,
};

/**
 * Below this many cost entries (8 MB of kernel) the linear-domain blocks run on one thread even
 * when more are allowed: there ONNX Runtime's two-thread matrix × vector products cost more than
 * they share.
 */
const ONE_THREAD_ENTRIES = 1 << 21;

/** Threads for the linear-domain blocks of a problem with `entries` cost entries, given `threads` allowed. */
export function linearBlockThreads(threads: number, entries: number): number {
  return entries < ONE_THREAD_ENTRIES ? 1 : threads;
}

/** −log of float32's smallest normal number (2⁻¹²⁶): a larger spread makes kernel entries subnormal or 0. */
const FLOAT32_UNDERFLOW = 126 * Math.LN2;

export interface SinkhornOptions {
  /** Entropic smoothing γ > 0 (in the units of the cost). */
  gamma: number;
  /** Stop when Σ_i |p_i − Σ_j π_ij| < tol (column sums are exact after every iteration; default 1e-5). */
  tol?: number;
  /** Give up (an error) after this many iterations (default 10,000). */
  maxIter?: number;
  /** Iterations per graph run; the tolerance is checked between blocks (default 10). */
  block?: number;
  /** Linear, log or automatic choice (default 'auto'). */
  domain?: SinkhornDomain;
  /** Override {@link LINEAR_LIMITS} (e.g. maxSpread: Infinity to exercise the fallback on the fly). */
  linearLimits?: Partial<typeof LINEAR_LIMITS>;
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
  /** The domain that produced this result ('auto' reports the one it used). */
  domain: 'linear' | 'log';
}

export class SinkhornError extends Error {}

export function checkGamma(gamma: number): void {
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new Error(`the Sinkhorn smoothing γ must be a finite number > 0, got ${gamma}`);
}

function checkCostSize(M: ArrayLike<number>, n: number, m: number): void {
  if (M.length !== n * m) throw new Error(`the cost matrix has ${M.length} entries; ${n} × ${m} points need ${n * m}`);
}

/** Throw unless M has n·m finite entries ≥ 0. */
export function checkCostMatrix(M: ArrayLike<number>, n: number, m: number): void {
  checkCostSize(M, n, m);
  for (let k = 0; k < M.length; k++) {
    const v = M[k]!;
    if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) {
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

/** A Sinkhorn solver holding its sessions (opened on first use), reused for every problem of any size. */
export class Sinkhorn {
  private logSession?: Promise<Session>;
  private checksSession?: Promise<Session>;
  private linearSession?: Promise<Session>;
  private linearSession1?: Promise<Session>;

  private constructor(private readonly opts: SinkhornOptions) {}

  static async create(opts: SinkhornOptions): Promise<Sinkhorn> {
    checkGamma(opts.gamma);
    const tol = opts.tol ?? 1e-5;
    if (!(tol > 0)) throw new Error(`the Sinkhorn tolerance must be > 0, got ${tol}`);
    const maxIter = opts.maxIter ?? 10000;
    if (!Number.isInteger(maxIter) || maxIter < 1) throw new Error(`the Sinkhorn iteration limit must be an integer ≥ 1, got ${maxIter}`);
    const domain = opts.domain ?? 'auto';
    if (!['auto', 'linear', 'log'].includes(domain)) throw new Error(`the Sinkhorn domain must be auto, linear or log, got ${domain}`);
    const s = new Sinkhorn(opts);
    // Open the first session now, so that a graph that does not load fails here.
    await (domain === 'log' ? s.log() : s.linear());
    return s;
  }

  private open(graph: Parameters<typeof encodeModel>[0], name: string, what: string, threads = this.opts.threads ?? 1): Promise<Session> {
    return openSession(this.opts.runtime, encodeModel(graph, name), { threads }, what);
  }

  private log(): Promise<Session> {
    this.logSession ??= this.open(buildSinkhornGraph(this.opts.block ?? 10), 'relprop-sinkhorn', 'the Sinkhorn graph');
    return this.logSession;
  }

  private linear(): Promise<[Session, Session]> {
    this.checksSession ??= this.open(buildSinkhornChecksGraph(), 'relprop-sinkhorn-checks', 'the Sinkhorn checks graph');
    this.linearSession ??= this.open(buildSinkhornLinearSolveGraph(this.opts.block ?? 10), 'relprop-sinkhorn-linear', 'the linear-domain Sinkhorn graph');
    return Promise.all([this.checksSession, this.linearSession]);
  }

  /** The linear-domain solve for a problem with `entries` cost entries (see linearBlockThreads). */
  private linearSolve(entries: number, many: Session): Promise<Session> {
    const threads = this.opts.threads ?? 1;
    if (linearBlockThreads(threads, entries) === threads) return Promise.resolve(many);
    this.linearSession1 ??= this.open(buildSinkhornLinearSolveGraph(this.opts.block ?? 10), 'relprop-sinkhorn-linear', 'the linear-domain Sinkhorn graph', 1);
    return this.linearSession1;
  }

  /**
   * Solve for the cost M [n, m] (row-major) between p (n points) and q (m points); weights default
   * to uniform, log-weights may be given instead (`logq`, e.g. an enumerated model's log p_θ).
   */
  async solve(M: Float32Array, n: number, m: number, w: { p?: ArrayLike<number>; q?: ArrayLike<number>; logq?: Float32Array } = {}): Promise<SinkhornResult> {
    checkCostSize(M, n, m);
    const logp = logWeights(w.p, n, 'data');
    const logq = w.logq ?? logWeights(w.q, m, 'model');
    if (logq.length !== m) throw new Error(`model log-weights have ${logq.length} values for ${m} points`);
    const domain = this.opts.domain ?? 'auto';
    if (domain === 'log') {
      checkCostMatrix(M, n, m);
      return this.solveLog(M, n, m, logp, logq);
    }
    let minLog = 0;
    for (const t of logp) minLog = Math.min(minLog, t);
    for (const t of logq) minLog = Math.min(minLog, t);
    const [checks, many] = await this.linear();
    // Fed without a copy: M is the largest array of a solve.
    const k = await checks.run({ M: { dtype: 'float32', dims: [n, m], data: M }, gamma: float32([], [this.opts.gamma]) });
    const scalar = (name: string) => (k[name]!.data as Float32Array)[0]!;
    // The checks graph tests M in its own pass; the entry-by-entry scan only names the bad entry.
    if (!(scalar('low') >= 0) || scalar('nonfinite') !== 0) {
      checkCostMatrix(M, n, m);
      throw new Error('the cost matrix must be finite and ≥ 0');
    }
    const spread = scalar('spread');
    const linear = await this.linearSolve(n * m, many);
    const limits = { ...LINEAR_LIMITS, ...this.opts.linearLimits };
    const safe = spread <= limits.maxSpread && minLog >= limits.minLogWeight;
    if (domain === 'auto' && !(safe && spread <= FLOAT32_UNDERFLOW)) return this.solveLog(M, n, m, logp, logq);
    if (!(spread <= FLOAT32_UNDERFLOW)) {
      throw new SinkhornError(
        `linear-domain Sinkhorn would underflow: the kernel's smallest entry is exp(−${spread.toPrecision(3)}) (γ = ${this.opts.gamma}), below float32's range; use the log domain`,
      );
    }
    const out = await this.solveLinear(linear, M, n, m, logp, logq, limits);
    if (typeof out !== 'string') return out;
    if (domain === 'auto') return this.solveLog(M, n, m, logp, logq);
    if (out.startsWith('Sinkhorn did not converge')) throw new SinkhornError(out);
    throw new SinkhornError(`${out} (γ = ${this.opts.gamma}, kernel spread ${spread.toPrecision(3)}); use the log domain`);
  }

  /** Log-domain blocks (buildSinkhornGraph) from g = 0. */
  private async solveLog(M: Float32Array, n: number, m: number, logp: Float32Array, logq: Float32Array): Promise<SinkhornResult> {
    const session = await this.log();
    const { gamma } = this.opts;
    const tol = this.opts.tol ?? 1e-5;
    const maxIter = this.opts.maxIter ?? 10000;
    const block = this.opts.block ?? 10;
    const fixed = { M: float32View([n, m], M), logp: float32([n], logp), logq: float32([m], logq), gamma: float32([], [gamma]) };
    let g: Float32Array = new Float32Array(m);
    let iterations = 0;
    for (;;) {
      const out = await session.run({ ...fixed, g: float32([m], g) });
      iterations += block;
      const scalar = (k: string) => (out[k]!.data as Float32Array)[0]!;
      const err = scalar('err');
      g = out.g_new!.data as Float32Array;
      const f = out.f!.data as Float32Array;
      if (!Number.isFinite(err) || !g.every(Number.isFinite) || !f.every(Number.isFinite)) {
        throw new SinkhornError(`Sinkhorn produced non-finite potentials after ${iterations} iterations (γ = ${gamma}); raise γ or check the cost matrix`);
      }
      if (err < tol) return { f, g, value: scalar('dual'), cost: scalar('cost'), iterations, err, domain: 'log' };
      if (iterations >= maxIter) {
        throw new SinkhornError(
          `Sinkhorn did not converge in ${iterations} iterations (marginal error ${err.toExponential(2)} ≥ tolerance ${tol}, γ = ${gamma}); raise the iteration limit, γ or the tolerance`,
        );
      }
    }
  }

  /**
   * The linear-domain solve (buildSinkhornLinearSolveGraph: the kernel and every block in one run)
   * from v = 1; then f = γ log u + α, g = γ log v (the kernel's shift put back),
   * W_γ = fᵀp + gᵀq − γ Σ π in float64 and ⟨π, M⟩ = Σ_ij u_i K_ij M_ij v_j (the graph's float32
   * rows, summed in float64). Returns a reason instead when a scaling leaves the safe range or the
   * run does not converge.
   */
  private async solveLinear(
    session: Session,
    M: Float32Array,
    n: number,
    m: number,
    logp: Float32Array,
    logq: Float32Array,
    limits: typeof LINEAR_LIMITS,
  ): Promise<SinkhornResult | string> {
    const { gamma } = this.opts;
    const tol = this.opts.tol ?? 1e-5;
    const maxIter = this.opts.maxIter ?? 10000;
    const block = this.opts.block ?? 10;
    const { minScaling, maxScaling } = limits;
    const out = await session.run({
      M: { dtype: 'float32', dims: [n, m], data: M },
      gamma: float32([], [gamma]),
      p: float32([n], Float32Array.from(logp, Math.exp)),
      q: float32([m], Float32Array.from(logq, Math.exp)),
      tol: float32([], [tol]),
      lo: float32([], [minScaling]),
      hi: float32([], [maxScaling]),
      blocks: { dtype: 'int64', dims: [], data: new BigInt64Array([BigInt(Math.ceil(maxIter / block))]) },
    });
    const iterations = Number((out.done!.data as BigInt64Array)[0]!) * block;
    const err = (out.err!.data as Float32Array)[0]!;
    const u = out.u!.data as Float32Array;
    const v = out.v!.data as Float32Array;
    const inRange = (x: Float32Array) => x.every((t) => t >= minScaling && t <= maxScaling);
    if (!Number.isFinite(err) || !inRange(u) || !inRange(v)) {
      return `linear-domain Sinkhorn left the float32 range after ${iterations} iterations (a scaling outside [${minScaling}, ${maxScaling}])`;
    }
    if (!(err < tol)) {
      return `Sinkhorn did not converge in ${iterations} iterations (marginal error ${err.toExponential(2)} ≥ tolerance ${tol}, γ = ${gamma}); raise the iteration limit, γ or the tolerance`;
    }
    const rows = out.rows!.data as Float32Array;
    const alpha = out.alpha!.data as Float32Array;
    const f = new Float32Array(n);
    const g = new Float32Array(m);
    let value = 0;
    let cost = 0;
    for (let i = 0; i < n; i++) {
      f[i] = gamma * Math.log(u[i]!) + alpha[i]!;
      value += f[i]! * Math.exp(logp[i]!) - gamma * rows[i]!;
    }
    for (let j = 0; j < m; j++) {
      g[j] = gamma * Math.log(v[j]!);
      value += g[j]! * Math.exp(logq[j]!);
    }
    for (const t of out.rowcost!.data as Float32Array) cost += t;
    return { f, g, value, cost, iterations, err, domain: 'linear' };
  }

  async release(): Promise<void> {
    const open = [this.logSession, this.checksSession, this.linearSession, this.linearSession1].filter((s) => s !== undefined);
    await Promise.all(open.map(async (s) => (await s).release()));
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
