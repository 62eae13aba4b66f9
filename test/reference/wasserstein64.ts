/**
 * Float64 references for Wasserstein RBM training: log-domain Sinkhorn written out loop by loop,
 * the exact objective J(θ) = wW (W_γ − λH) + wKL KL over every visible state (p_θ by brute force
 * in rbm64.ts), and exact optimal transport for uniform weights (an assignment, by enumerating
 * permutations). No ONNX.
 */
import type { RbmParams } from '../../src/core/boltzmann/rbm.js';
import { logProbs64, stateOf } from './rbm64.js';

const lse = (x: number[]) => {
  const m = Math.max(...x);
  return m + Math.log(x.reduce((s, t) => s + Math.exp(t - m), 0));
};

export interface Sinkhorn64 {
  f: number[];
  g: number[];
  /** W_γ = fᵀp + gᵀq − γ Σ π. */
  value: number;
  cost: number;
}

/** Sinkhorn in float64 to a row-marginal error below `tol`. */
export function sinkhorn64(M: ArrayLike<number>, logp: number[], logq: number[], gamma: number, tol = 1e-12, maxIter = 100000): Sinkhorn64 {
  const n = logp.length;
  const m = logq.length;
  let f = new Array<number>(n).fill(0);
  let g = new Array<number>(m).fill(0);
  const pi = () => Array.from({ length: n * m }, (_, k) => Math.exp((f[Math.floor(k / m)]! + g[k % m]! - M[k]!) / gamma));
  for (let it = 0; it < maxIter; it++) {
    f = logp.map((lp, i) => gamma * (lp - lse(g.map((gj, j) => (gj - M[i * m + j]!) / gamma))));
    g = logq.map((lq, j) => gamma * (lq - lse(f.map((fi, i) => (fi - M[i * m + j]!) / gamma))));
    const P = pi();
    let err = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) s += P[i * m + j]!;
      err += Math.abs(Math.exp(logp[i]!) - s);
    }
    if (err < tol) break;
  }
  const P = pi();
  let value = -gamma * P.reduce((s, v) => s + v, 0);
  for (let i = 0; i < n; i++) value += f[i]! * Math.exp(logp[i]!);
  for (let j = 0; j < m; j++) value += g[j]! * Math.exp(logq[j]!);
  const cost = P.reduce((s, v, k) => s + v * M[k]!, 0);
  return { f, g, value, cost };
}

/** Exact OT between two uniform sets of n points: the cheapest permutation (n ≤ 8). */
export function assignment64(M: ArrayLike<number>, n: number): number {
  let best = Infinity;
  const perm = Array.from({ length: n }, (_, i) => i);
  const rec = (k: number, acc: number) => {
    if (acc >= best) return;
    if (k === n) {
      best = acc;
      return;
    }
    for (let i = k; i < n; i++) {
      [perm[k], perm[i]] = [perm[i]!, perm[k]!];
      rec(k + 1, acc + M[k * n + perm[k]!]!);
      [perm[k], perm[i]] = [perm[i]!, perm[k]!];
    }
  };
  rec(0, 0);
  return best / n;
}

/** Hamming distances between data rows [n, d] and every state of d bits (index = Σ v_i 2^i). */
export function hammingToStates64(x: ArrayLike<number>, n: number, d: number): number[] {
  const M: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let s = 0; s < 2 ** d; s++) {
      const v = stateOf(s, d);
      let h = 0;
      for (let i = 0; i < d; i++) h += Math.abs(x[r * d + i]! - v[i]!);
      M.push(h);
    }
  }
  return M;
}

/** J(θ) = wW (W_γ(p̂, p_θ) − λ H(p_θ)) + wKL KL(p̂ ‖ p_θ), everything enumerated in float64. */
export function exactObjective64(p: RbmParams, x: ArrayLike<number>, n: number, o: { gamma: number; lambda: number; wW: number; wKL: number }): number {
  const logq = logProbs64(p);
  const M = hammingToStates64(x, n, p.nv);
  const W = sinkhorn64(M, new Array<number>(n).fill(-Math.log(n)), logq, o.gamma).value;
  const H = -logq.reduce((s, l) => s + Math.exp(l) * l, 0);
  const counts = new Map<number, number>();
  for (let r = 0; r < n; r++) {
    let idx = 0;
    for (let i = 0; i < p.nv; i++) idx += x[r * p.nv + i]! * 2 ** i;
    counts.set(idx, (counts.get(idx) ?? 0) + 1);
  }
  let kl = 0;
  for (const [idx, c] of counts) kl += (c / n) * (Math.log(c / n) - logq[idx]!);
  return o.wW * (W - o.lambda * H) + o.wKL * kl;
}
