/**
 * Linear-domain (scaling) Sinkhorn against the log domain and float64 Sinkhorn, and the automatic
 * choice between them: linear where float32 holds the kernel and the scalings, log otherwise, and
 * log again on the fly when a linear run leaves the float32 range.
 */
import { describe, expect, it } from 'vitest';
import { Sinkhorn, SinkhornError, type SinkhornOptions, type SinkhornResult } from '../src/core/boltzmann/sinkhorn.js';
import { rngFor } from '../src/core/math/rng.js';
import { sinkhorn64 } from './reference/wasserstein64.js';

const randomCost = (n: number, m: number, seed: number, scale = 1) => {
  const rng = rngFor(seed, 'cost-domain');
  return Float32Array.from({ length: n * m }, () => scale * rng());
};
const randomWeights = (n: number, seed: number) => {
  const rng = rngFor(seed, 'weights-domain');
  return Array.from({ length: n }, () => 0.2 + rng());
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
const normalise = (w: number[]) => {
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((t) => t / s);
};

/** Row and column sums of π_ij = exp((f_i + g_j − M_ij)/γ), in float64. */
function marginals(r: SinkhornResult, M: Float32Array, n: number, m: number, gamma: number) {
  const rows = new Array<number>(n).fill(0);
  const cols = new Array<number>(m).fill(0);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      const pij = Math.exp((r.f[i]! + r.g[j]! - M[i * m + j]!) / gamma);
      rows[i]! += pij;
      cols[j]! += pij;
    }
  }
  return { rows, cols };
}

async function solve(opts: SinkhornOptions, M: Float32Array, n: number, m: number, w: { p?: number[]; q?: number[] } = {}) {
  const s = await Sinkhorn.create(opts);
  try {
    return await s.solve(M, n, m, w);
  } finally {
    await s.release();
  }
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

describe('Sinkhorn domains', () => {
  it('linear and log domains agree on potentials (up to a constant), W_γ, ⟨π, M⟩ and the marginals', async () => {
    const cases = [
      { n: 7, m: 9, gamma: 0.3, scale: 3, seed: 1 },
      { n: 40, m: 25, gamma: 0.1, scale: 2, seed: 2 },
      { n: 60, m: 60, gamma: 1, scale: 20, seed: 3 },
    ];
    for (const c of cases) {
      const M = randomCost(c.n, c.m, c.seed, c.scale);
      const w = { p: randomWeights(c.n, c.seed), q: randomWeights(c.m, c.seed + 100) };
      const opts = { gamma: c.gamma, tol: 1e-6, maxIter: 20000 };
      const lin = await solve({ ...opts, domain: 'linear' }, M, c.n, c.m, w);
      const log = await solve({ ...opts, domain: 'log' }, M, c.n, c.m, w);
      expect(lin.domain).toBe('linear');
      expect(log.domain).toBe('log');
      expect([...lin.f, ...lin.g].every(Number.isFinite)).toBe(true);
      const scale = Math.max(...centred(log.f).map(Math.abs), ...centred(log.g).map(Math.abs), 1);
      expect(maxAbsDiff(centred(lin.f), centred(log.f)) / scale).toBeLessThan(1e-4);
      expect(maxAbsDiff(centred(lin.g), centred(log.g)) / scale).toBeLessThan(1e-4);
      expect(rel(lin.value, log.value)).toBeLessThan(1e-4);
      expect(rel(lin.cost, log.cost)).toBeLessThan(1e-4);
      const mg = marginals(lin, M, c.n, c.m, c.gamma);
      expect(maxAbsDiff(mg.rows, normalise(w.p))).toBeLessThan(1e-4 / c.n);
      expect(maxAbsDiff(mg.cols, normalise(w.q))).toBeLessThan(1e-4 / c.m);
    }
  });

  it('gives the one-thread answer with two threads, below and above the size where the blocks go multi-threaded', async () => {
    for (const n of [64, 1500]) {
      const M = randomCost(n, n, 5, 4);
      const opts = { gamma: 0.5, tol: 1e-5, maxIter: 5000, domain: 'linear' } as const;
      const one = await solve({ ...opts, threads: 1 }, M, n, n);
      const two = await solve({ ...opts, threads: 2 }, M, n, n);
      expect(two.iterations).toBe(one.iterations);
      expect(maxAbsDiff(two.f, one.f)).toBeLessThan(1e-5);
      expect(maxAbsDiff(two.g, one.g)).toBeLessThan(1e-5);
      expect(rel(two.value, one.value)).toBeLessThan(1e-6);
      expect(rel(two.cost, one.cost)).toBeLessThan(1e-6);
    }
  });

  it("'auto' takes the linear domain when it is safe and the log domain where the kernel would underflow", async () => {
    const n = 8;
    const M = randomCost(n, n, 4);
    const easy = await solve({ gamma: 0.5, tol: 1e-6 }, M, n, n);
    expect(easy.domain).toBe('linear');
    // M/γ spans ~100: exp(−M/γ) underflows float32, so 'auto' must take the log domain …
    const gamma = 0.01;
    const auto = await solve({ gamma, tol: 1e-6, maxIter: 100000 }, M, n, n);
    expect(auto.domain).toBe('log');
    const ref = sinkhorn64(M, new Array(n).fill(-Math.log(n)), new Array(n).fill(-Math.log(n)), gamma, 1e-9);
    // (float32 potentials near 100 γ carry ~1e−5 γ-relative rounding per iteration; measured 1.8e−4)
    expect(maxAbsDiff(centred(auto.g), centred(ref.g))).toBeLessThan(5e-4);
    expect(maxAbsDiff(centred(auto.f), centred(ref.f))).toBeLessThan(5e-4);
    expect(auto.cost).toBeCloseTo(ref.cost, 4);
    // Between LINEAR_LIMITS.maxSpread (50) and float32's underflow (87), 'auto' also stays in the
    // log domain; with the limit raised it takes the linear one, and both match the reference.
    const mid = 0.0135;
    let spread = 0;
    for (let i = 0; i < n; i++) {
      const row = Array.from(M.subarray(i * n, (i + 1) * n));
      spread = Math.max(spread, (Math.max(...row) - Math.min(...row)) / mid);
    }
    expect(spread).toBeGreaterThan(50);
    expect(spread).toBeLessThan(87);
    const ref2 = sinkhorn64(M, new Array(n).fill(-Math.log(n)), new Array(n).fill(-Math.log(n)), mid, 1e-9);
    for (const [maxSpread, domain] of [
      [50, 'log'],
      [90, 'linear'],
    ] as const) {
      const r = await solve({ gamma: mid, tol: 1e-6, maxIter: 100000, linearLimits: { maxSpread } }, M, n, n);
      expect(r.domain).toBe(domain);
      expect(maxAbsDiff(centred(r.f), centred(ref2.f))).toBeLessThan(5e-4);
      expect(r.cost).toBeCloseTo(ref2.cost, 4);
    }
    // … and a forced linear domain refuses in one line instead of returning a wrong plan.
    const e = await solve({ gamma, domain: 'linear' }, M, n, n).catch((err: Error) => err);
    expect(e).toBeInstanceOf(SinkhornError);
    expect((e as Error).message).toMatch(/^linear-domain Sinkhorn would underflow: .*; use the log domain$/);
  });

  it('falls back to the log domain on the fly when a linear run leaves the float32 range (small γ, tiny weight)', async () => {
    const n = 8;
    const M = randomCost(n, n, 5);
    const gamma = 0.02;
    // A model point of weight e⁻⁷⁰ drives its scaling v_j below 1e−30 in the first block; the
    // static check on the weights is switched off so that the linear run starts at all.
    const q = Array.from({ length: n }, (_, j) => (j === 0 ? Math.exp(-70) : 1));
    const opts = { gamma, tol: 1e-6, maxIter: 100000, linearLimits: { minLogWeight: Number.NEGATIVE_INFINITY } };
    const auto = await solve(opts, M, n, n, { q });
    expect(auto.domain).toBe('log');
    const logq = normalise(q).map(Math.log);
    const ref = sinkhorn64(M, new Array(n).fill(-Math.log(n)), logq, gamma, 1e-9);
    expect([...auto.f, ...auto.g].every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(centred(auto.f), centred(ref.f))).toBeLessThan(1e-4);
    expect(auto.cost).toBeCloseTo(ref.cost, 4);
    expect(auto.value).toBeCloseTo(ref.value, 4);
    const e = await solve({ ...opts, domain: 'linear' }, M, n, n, { q }).catch((err: Error) => err);
    expect(e).toBeInstanceOf(SinkhornError);
    expect((e as Error).message).toMatch(/^linear-domain Sinkhorn left the float32 range after 10 iterations .*use the log domain$/);
  });

  it('refuses bad input the same way in every domain', async () => {
    for (const domain of ['auto', 'linear', 'log'] as const) {
      await expect(Sinkhorn.create({ gamma: 0, domain })).rejects.toThrow(/γ must be a finite number > 0, got 0/);
      const s = await Sinkhorn.create({ gamma: 0.5, maxIter: 20, tol: 1e-12, domain });
      await expect(s.solve(new Float32Array(11), 3, 4)).rejects.toThrow(/the cost matrix has 11 entries; 3 × 4 points need 12/);
      const neg = randomCost(3, 4, 7);
      neg[5] = -0.5;
      await expect(s.solve(neg, 3, 4)).rejects.toThrow(/finite and ≥ 0, but entry \(1, 1\) is -0.5/);
      // The linear domain checks M inside its kernel graph (a row minimum, a NaN-propagating sum).
      for (const [bad, shown] of [
        [Number.NaN, 'NaN'],
        [Number.POSITIVE_INFINITY, 'Infinity'],
        [Number.NEGATIVE_INFINITY, '-Infinity'],
        [-0.25, '-0.25'],
      ] as const) {
        const M = randomCost(3, 4, 7);
        M[11] = bad;
        await expect(s.solve(M, 3, 4)).rejects.toThrow(new RegExp(`finite and ≥ 0, but entry \\(2, 3\\) is ${shown}`));
      }
      await expect(s.solve(randomCost(3, 4, 7), 3, 4, { p: [1, 0, 1] })).rejects.toThrow(/weights must be finite and > 0, but weight 1 is 0/);
      const e = await s.solve(randomCost(8, 8, 8, 10), 8, 8).catch((err: Error) => err);
      expect(e).toBeInstanceOf(SinkhornError);
      expect((e as Error).message).toMatch(
        /^Sinkhorn did not converge in 20 iterations \(marginal error .* ≥ tolerance 1e-12, γ = 0.5\); raise the iteration limit, γ or the tolerance$/,
      );
      await s.release();
    }
    await expect(Sinkhorn.create({ gamma: 1, domain: 'exp' as 'log' })).rejects.toThrow(/domain must be auto, linear or log, got exp/);
  });
});
