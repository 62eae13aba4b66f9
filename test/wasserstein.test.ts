/**
 * Wasserstein RBMs: log-domain Sinkhorn on ONNX Runtime against float64 Sinkhorn and against exact
 * optimal transport, the cost graphs, the exact-distribution gradient against finite differences
 * of the float64 objective (digest target 3.1), bad input, training, resume, completion and
 * denoising.
 */
import { describe, expect, it } from 'vitest';
import { completeRbm, denoiseRbm, meanHamming } from '../src/core/boltzmann/restore.js';
import type { RbmParams } from '../src/core/boltzmann/rbm.js';
import { CostMatrix, checkGroundMatrix, Sinkhorn, SinkhornError } from '../src/core/boltzmann/sinkhorn.js';
import { allStates, exactWassersteinObjective, WrbmTrainer, type WrbmTrainOptions } from '../src/core/boltzmann/wasserstein.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { barsAndStripes } from './helpers/bars.js';
import { logProbs64, stateOf } from './reference/rbm64.js';
import { assignment64, exactObjective64, sinkhorn64 } from './reference/wasserstein64.js';

const randomCost = (n: number, m: number, seed: number, scale = 1) => {
  const rng = rngFor(seed, 'cost');
  return Float32Array.from({ length: n * m }, () => scale * rng());
};

const centred = (v: ArrayLike<number>) => {
  const m = Array.from(v).reduce((s, t) => s + t, 0) / v.length;
  return Array.from(v, (t) => t - m);
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function randomBinary(n: number, d: number, seed: number): Float32Array {
  const rng = rngFor(seed, 'binary');
  return Float32Array.from({ length: n * d }, () => (rng() < 0.4 ? 1 : 0));
}

/** A random RBM with float64 parameters (for finite differences), offsets included. */
function randomRbm64(nv: number, nh: number, seed: number): RbmParams {
  const rng = rngFor(seed, 'wrbm-test');
  const f = (n: number, s: number) => Float64Array.from({ length: n }, () => s * gaussian(rng));
  const o = (n: number) => Float64Array.from({ length: n }, () => rng());
  return { nv, nh, W: f(nv * nh, 0.7), a: f(nv, 0.5), c: f(nh, 0.5), ov: o(nv), oh: o(nh) } as unknown as RbmParams;
}

describe('Sinkhorn', () => {
  it('matches float64 log-domain Sinkhorn: potentials (up to a constant), W_γ and ⟨π, M⟩', async () => {
    const n = 7;
    const m = 9;
    const M = randomCost(n, m, 1, 3);
    const p = Array.from({ length: n }, (_, i) => 1 + i);
    const q = Array.from({ length: m }, (_, j) => 2 + Math.sin(j));
    const sp = p.reduce((s, t) => s + t);
    const sq = q.reduce((s, t) => s + t);
    const s = await Sinkhorn.create({ gamma: 0.3, tol: 1e-6 });
    const got = await s.solve(M, n, m, { p, q });
    await s.release();
    const ref = sinkhorn64(
      M,
      p.map((t) => Math.log(t / sp)),
      q.map((t) => Math.log(t / sq)),
      0.3,
    );
    expect(got.err).toBeLessThan(1e-6);
    expect(maxAbsDiff(centred(got.g), centred(ref.g))).toBeLessThan(1e-4);
    expect(maxAbsDiff(centred(got.f), centred(ref.f))).toBeLessThan(1e-4);
    expect(got.value).toBeCloseTo(ref.value, 4);
    expect(got.cost).toBeCloseTo(ref.cost, 4);
  });

  it('approaches the exact optimal transport (an assignment) as γ → 0, from above', async () => {
    const n = 6;
    for (const seed of [2, 3]) {
      const M = randomCost(n, n, seed);
      const exact = assignment64(M, n);
      const gaps: number[] = [];
      for (const gamma of [0.1, 0.03, 0.01]) {
        const s = await Sinkhorn.create({ gamma, tol: 1e-5, maxIter: 50000 });
        const r = await s.solve(M, n, n);
        await s.release();
        gaps.push(r.cost - exact);
      }
      expect(gaps[2]!).toBeGreaterThan(-1e-5);
      expect(gaps[2]!).toBeLessThan(0.01);
      expect(gaps[0]!).toBeGreaterThan(gaps[2]!);
    }
  });

  it('Hamming and quadratic-form cost graphs equal a brute force', async () => {
    const d = 5;
    const x = randomBinary(4, d, 4);
    const y = randomBinary(6, d, 5);
    const ham = await CostMatrix.create(d);
    const M = await ham.between(x, y);
    await ham.release();
    const rng = rngFor(6, 'L');
    const L = Array.from({ length: d * d }, () => rng());
    const C = new Float32Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) for (let k = 0; k < d; k++) C[i * d + j]! += L[k * d + i]! * L[k * d + j]!;
    const quad = await CostMatrix.create(d, C);
    const Q = await quad.between(x, y);
    await quad.release();
    for (let r = 0; r < 4; r++) {
      for (let s = 0; s < 6; s++) {
        const diff = Array.from({ length: d }, (_, i) => x[r * d + i]! - y[s * d + i]!);
        expect(M[r * 6 + s]).toBe(diff.reduce((t, v) => t + Math.abs(v), 0));
        let qf = 0;
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) qf += diff[i]! * C[i * d + j]! * diff[j]!;
        expect(Q[r * 6 + s]).toBeCloseTo(qf, 4);
      }
    }
  });

  it('refuses bad input in one clear line: γ ≤ 0, a cost of the wrong size or with negative entries, non-convergence', async () => {
    await expect(Sinkhorn.create({ gamma: 0 })).rejects.toThrow(/γ must be a finite number > 0, got 0/);
    await expect(Sinkhorn.create({ gamma: -1 })).rejects.toThrow(/γ must be a finite number > 0, got -1/);
    const s = await Sinkhorn.create({ gamma: 0.01, maxIter: 20, block: 10 });
    await expect(s.solve(new Float32Array(11), 3, 4)).rejects.toThrow(/the cost matrix has 11 entries; 3 × 4 points need 12/);
    const neg = randomCost(3, 4, 7);
    neg[5] = -0.5;
    await expect(s.solve(neg, 3, 4)).rejects.toThrow(/finite and ≥ 0, but entry \(1, 1\) is -0.5/);
    const M = randomCost(8, 8, 8, 10);
    const e = await s.solve(M, 8, 8).catch((err: Error) => err);
    expect(e).toBeInstanceOf(SinkhornError);
    expect((e as Error).message).toMatch(/^Sinkhorn did not converge in 20 iterations \(marginal error .* ≥ tolerance 0.00001, γ = 0.01\)/);
    await s.release();
    // M/γ overflows float32 here; the log domain still returns finite potentials and the exact plan.
    const tiny = await Sinkhorn.create({ gamma: 1e-30 });
    const r = await tiny.solve(Float32Array.from([0, 3e38, 3e38, 0]), 2, 2);
    expect([...r.f, ...r.g].every(Number.isFinite)).toBe(true);
    expect(r.cost).toBe(0);
    await tiny.release();
    expect(() => checkGroundMatrix(new Float32Array(9), 4)).toThrow(/is 3 × 3; the data have 4 values per sample, so it must be 4 × 4/);
    expect(() => checkGroundMatrix(Float32Array.from([1, -1, -1, 1]), 2)).toThrow(/entry \(0, 1\) is -1/);
    expect(() => checkGroundMatrix(Float32Array.from([1, 2, 2, 1]), 2)).toThrow(/positive semi-definite/);
    expect(() => checkGroundMatrix(Float32Array.from([1, 0.5, 0.2, 1]), 2)).toThrow(/symmetric/);
  });
});

describe('the exact-distribution Wasserstein gradient', () => {
  const nv = 5;
  const nh = 3;
  const n = 7;
  const x = randomBinary(n, nv, 9);
  const data = { x, n, nv };

  for (const [name, o, w] of [
    ['additive, with entropy and KL terms', { gamma: 0.5, lambda: 0.2, eta: 0.3, mix: 'additive' as const }, { wW: 1, wKL: 0.3 }],
    ['pure Wasserstein', { gamma: 0.3, lambda: 0, eta: 0 }, { wW: 1, wKL: 0 }],
    ['convex KL mix', { gamma: 1, lambda: 0.1, eta: 0.4, mix: 'convex' as const }, { wW: 0.6, wKL: 0.4 }],
  ] as const) {
    it(`equals central finite differences of the float64 objective (${name})`, async () => {
      const p = randomRbm64(nv, nh, 10);
      const got = await exactWassersteinObjective(p, data, o);
      const J = (q: RbmParams) => exactObjective64(q, x, n, { gamma: o.gamma, lambda: o.lambda, ...w });
      expect(got.objective).toBeCloseTo(J(p), 3);
      const h = 1e-4;
      const fd: number[] = [];
      const ours: number[] = [];
      for (const key of ['W', 'a', 'c'] as const) {
        for (let k = 0; k < p[key].length; k++) {
          const plus = { ...p, [key]: p[key].slice() };
          const minus = { ...p, [key]: p[key].slice() };
          plus[key][k]! += h;
          minus[key][k]! -= h;
          fd.push((J(plus) - J(minus)) / (2 * h));
          ours.push(got.gradient[key][k]!);
        }
      }
      const norm = Math.hypot(...fd);
      expect(norm).toBeGreaterThan(0.05);
      expect(Math.hypot(...fd.map((v, i) => v - ours[i]!)) / norm).toBeLessThan(2e-5);
    });
  }

  it('enumerates every state once', () => {
    const s = allStates(3);
    expect(Array.from(s)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1]);
  });
});

describe('sample-based Wasserstein training', () => {
  const opts: WrbmTrainOptions = { hidden: 8, lr: 1, gamma: 0.5, lambda: 0, eta: 1, chains: 56, k: 1, centered: true, seed: 3, threads: 1 };
  const mean = (a: number[]) => a.reduce((s, v) => s + v) / a.length;

  it('lowers the transport cost between data and chains', async () => {
    const t = await WrbmTrainer.create(barsAndStripes(4), opts);
    const cost: number[] = [];
    for (let e = 0; e < 300; e++) {
      await t.epoch();
      cost.push(t.info.transportCost);
    }
    await t.release();
    expect(mean(cost.slice(-30))).toBeLessThan(0.6 * mean(cost.slice(0, 10)));
  });

  it('repeats exactly, and resumes as if it had not stopped', async () => {
    const data = barsAndStripes(4);
    const run = async (from: number, to: number, resume?: Awaited<ReturnType<WrbmTrainer['snapshot']>>) => {
      const t = await WrbmTrainer.create(data, opts, resume);
      for (let e = from; e < to; e++) await t.epoch();
      const s = t.snapshot();
      await t.release();
      return s;
    };
    const straight = await run(0, 30);
    const resumed = await run(10, 30, await run(0, 10));
    expect(Array.from(resumed.params.W)).toEqual(Array.from(straight.params.W));
    expect(Array.from(resumed.params.a)).toEqual(Array.from(straight.params.a));
    expect(Array.from(resumed.chains!)).toEqual(Array.from(straight.chains!));
    expect(resumed.step).toBe(30);
  });

  it('refuses γ ≤ 0 and an inconsistent KL weight', async () => {
    const data = barsAndStripes(1);
    await expect(WrbmTrainer.create(data, { ...opts, gamma: 0 })).rejects.toThrow(/γ must be a finite number > 0/);
    await expect(WrbmTrainer.create(data, { ...opts, eta: 1.5, mix: 'convex' })).rejects.toThrow(/η must be in \[0, 1\]/);
  });
});

describe('completion and denoising', () => {
  const nv = 6;
  const p = randomRbm64(nv, 4, 11);
  const logq = logProbs64(p);
  /** Exact posterior marginals P(v_i = 1) under weights w(v) ∝ p_θ(v)·like(v), by enumeration. */
  const marginals = (like: (v: number[]) => number) => {
    const acc = new Array<number>(nv).fill(0);
    let z = 0;
    for (let s = 0; s < 2 ** nv; s++) {
      const v = stateOf(s, nv);
      const w = Math.exp(logq[s]!) * like(v);
      z += w;
      for (let i = 0; i < nv; i++) acc[i]! += w * v[i]!;
    }
    return acc.map((t) => t / z);
  };
  const R = 400;
  const replicate = (v: number[]) => Float32Array.from({ length: R * nv }, (_, k) => v[k % nv]!);
  const average = (probs: Float32Array) => Array.from({ length: nv }, (_, i) => probs.filter((_, k) => k % nv === i).reduce((t, v) => t + v, 0) / R);
  const x = [1, 0, 1, 1, 0, 0];

  it('completion samples p(v_missing | v_observed) and keeps the observed units', async () => {
    const miss = [0, 1, 1, 0, 0, 1];
    const c = await completeRbm(p, replicate(x), replicate(miss), { seed: 2, sweeps: 40, burnIn: 10 });
    const exact = marginals((v) => (v.every((t, i) => miss[i] || t === x[i]) ? 1 : 0));
    const got = average(c.probabilities);
    for (let i = 0; i < nv; i++) expect(Math.abs(got[i]! - exact[i]!)).toBeLessThan(0.03);
    for (let k = 0; k < R * nv; k++) if (!miss[k % nv]) expect(c.restored[k]).toBe(x[k % nv]);
  });

  it('denoising samples the posterior under independent flips at rate ρ', async () => {
    const rho = 0.2;
    const d = await denoiseRbm(p, replicate(x), rho, { seed: 3, sweeps: 40, burnIn: 10 });
    const exact = marginals((v) => v.reduce((t, vi, i) => t * (vi === x[i] ? 1 - rho : rho), 1));
    const got = average(d.probabilities);
    for (let i = 0; i < nv; i++) expect(Math.abs(got[i]! - exact[i]!)).toBeLessThan(0.03);
    expect(
      meanHamming(
        d.restored.slice(0, nv),
        Float32Array.from(exact, (t) => (t >= 0.5 ? 1 : 0)),
        nv,
      ),
    ).toBeLessThan(1);
  });

  it('refuses a flip rate outside (0, ½) and a mask of the wrong size', async () => {
    await expect(denoiseRbm(p, replicate(x), 0.5, { seed: 1 })).rejects.toThrow(/flip rate must be in \(0, 0.5\), got 0.5/);
    await expect(completeRbm(p, replicate(x), new Float32Array(5), { seed: 1 })).rejects.toThrow(/the mask has 5 values; the data have 2400/);
  });
});
