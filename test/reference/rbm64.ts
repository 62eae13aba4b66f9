/**
 * Float64 brute force for tiny RBMs: every joint state (v, h) enumerated, the centered energy
 * evaluated term by term as written in the paper, no analytic sums, no ONNX.
 */
import type { RbmParams } from '../../src/core/boltzmann/rbm.js';

const bits = (index: number, n: number) => Array.from({ length: n }, (_, j) => Math.floor(index / 2 ** j) % 2);

/** E(v, h) = −(v − o_v)ᵀ W (h − o_h) − (v − o_v)ᵀ a − (h − o_h)ᵀ c. */
export function energy64(p: RbmParams, v: number[], h: number[]): number {
  let e = 0;
  for (let i = 0; i < p.nv; i++) {
    const vi = v[i]! - p.ov[i]!;
    e -= vi * p.a[i]!;
    for (let j = 0; j < p.nh; j++) e -= vi * p.W[i * p.nh + j]! * (h[j]! - p.oh[j]!);
  }
  for (let j = 0; j < p.nh; j++) e -= (h[j]! - p.oh[j]!) * p.c[j]!;
  return e;
}

function lse(x: number[]): number {
  const m = Math.max(...x);
  return m + Math.log(x.reduce((s, t) => s + Math.exp(t - m), 0));
}

/** log of the unnormalised marginal Σ_h exp(−E(v, h)) for every v (index = Σ v_i 2^i). */
export function logMarginals64(p: RbmParams): number[] {
  const out: number[] = [];
  for (let vi = 0; vi < 2 ** p.nv; vi++) {
    const v = bits(vi, p.nv);
    const terms: number[] = [];
    for (let hi = 0; hi < 2 ** p.nh; hi++) terms.push(-energy64(p, v, bits(hi, p.nh)));
    out.push(lse(terms));
  }
  return out;
}

/** log Z of the centered energy as written. */
export function logZ64(p: RbmParams): number {
  return lse(logMarginals64(p));
}

/** log p(v) for every v. */
export function logProbs64(p: RbmParams): number[] {
  const m = logMarginals64(p);
  const z = lse(m);
  return m.map((x) => x - z);
}

export const stateOf = bits;

/** log Z of the uncentered form by enumerating the hidden layer and summing v analytically (float64). */
export function logZHidden64(W: ArrayLike<number>, a: ArrayLike<number>, c: ArrayLike<number>, nv: number, nh: number): number {
  const terms: number[] = [];
  for (let hi = 0; hi < 2 ** nh; hi++) {
    const h = bits(hi, nh);
    let t = 0;
    for (let j = 0; j < nh; j++) t += h[j]! * c[j]!;
    for (let i = 0; i < nv; i++) {
      let z = a[i]!;
      for (let j = 0; j < nh; j++) z += W[i * nh + j]! * h[j]!;
      t += z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }
    terms.push(t);
  }
  return lse(terms);
}
