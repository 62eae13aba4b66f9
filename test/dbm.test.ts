/**
 * The DBM core: centering's re-parameterisation (exact, by enumerating every joint state), the
 * update graph against a float64 update fed the same uniforms, exact log Z / log p(v) on ONNX
 * Runtime against brute force, repeatable and resumable training, and AIS against exact log Z.
 */
import { describe, expect, it } from 'vitest';
import { type DbmParams, moveDbmOffsets, uncenteredDbm } from '../src/core/boltzmann/dbm.js';
import { aisDbmLogZ, exactDbmLogPStar, exactDbmLogZ, meanDbmLogProb, meanDbmLogProbBound } from '../src/core/boltzmann/dbm-likelihood.js';
import { dbmFromOnnx, dbmToOnnx } from '../src/core/boltzmann/dbm-model-file.js';
import { DbmTrainer, type DbmTrainOptions } from '../src/core/boltzmann/dbm-train.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { barsAndStripes } from './helpers/bars.js';
import { bits, dbmEnergy64, dbmLogZ64, dbmStep64, dbmVisibleLogProbs64, lse64, negEnergies64 } from './reference/dbm64.js';

/** A random DBM; `dyadic` rounds every value to a multiple of 1/8 so float32 holds it exactly. */
function randomDbm(sizes: number[], seed: number, scale = 1, dyadic = false): DbmParams {
  const rng = rngFor(seed, 'test-dbm');
  const q = (x: number) => (dyadic ? Math.round(x * 8) / 8 : x);
  return {
    sizes,
    W: sizes.slice(1).map((n, l) => Float32Array.from({ length: sizes[l]! * n }, () => q(scale * gaussian(rng)))),
    b: sizes.map((n) => Float32Array.from({ length: n }, () => q(gaussian(rng)))),
    o: sizes.map((n) => Float32Array.from({ length: n }, () => q(rng()))),
  };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const spread = (d: number[]) => Math.max(...d) - Math.min(...d);

describe('centering', () => {
  for (const sizes of [
    [3, 3, 2],
    [2, 3, 2, 2],
  ]) {
    it(`moving the offsets of a ${sizes.join('-')} DBM with the bias shift changes −E of every state by one constant`, () => {
      const p = randomDbm(sizes, sizes.length, 1, true);
      const target = sizes.map((n, l) => Array.from({ length: n }, (_, i) => ((i + 2 * l + 1) % 8) / 8));
      const moved = moveDbmOffsets(p, target);
      expect(Array.from(moved.o[1]!)).toEqual(target[1]);
      const before = negEnergies64(p);
      const after = negEnergies64(moved);
      // The unnormalised log-probabilities of all 2^n states move together: the distribution is unchanged.
      expect(spread(after.map((e, k) => e - before[k]!))).toBeLessThan(1e-12);
      expect(maxAbsDiff(dbmVisibleLogProbs64(moved), dbmVisibleLogProbs64(p))).toBeLessThan(1e-12);
      // Moving the offsets without the bias shift changes the model.
      const unshifted = { ...p, o: target.map((t) => Float32Array.from(t)) };
      expect(spread(negEnergies64(unshifted).map((e, k) => e - before[k]!))).toBeGreaterThan(1e-2);
    });
  }

  it('the uncentered form has the same distribution and log Z shifted by the energy constant', () => {
    const p = randomDbm([3, 2, 3], 5, 1, true);
    const u = uncenteredDbm(p);
    const plain: DbmParams = { sizes: p.sizes, W: p.W, b: u.a.map((a) => Float32Array.from(a)), o: p.sizes.map((n) => new Float32Array(n)) };
    const centered = negEnergies64(p);
    const d = negEnergies64(plain).map((e, k) => e - centered[k]!);
    expect(spread(d)).toBeLessThan(1e-12);
    expect(Math.abs(dbmLogZ64(plain) - u.shift - dbmLogZ64(p))).toBeLessThan(1e-12);
  });
});

describe('exact likelihood on ONNX Runtime', () => {
  for (const sizes of [
    [4, 3],
    [4, 3, 2],
    [3, 2, 3, 2],
    [2, 3, 2, 2, 2],
  ]) {
    it(`log Z and log p(v) of a ${sizes.join('-')} DBM match the float64 brute force over all joint states`, async () => {
      const p = randomDbm(sizes, sizes.length * 7 + sizes[0]!);
      const u = uncenteredDbm(p);
      const logZ = await exactDbmLogZ(p);
      expect(Math.abs(logZ - u.shift - dbmLogZ64(p))).toBeLessThan(1e-4);
      const nv = sizes[0]!;
      const v = new Float32Array(2 ** nv * nv);
      for (let s = 0; s < 2 ** nv; s++) v.set(bits(s, nv), s * nv);
      const star = await exactDbmLogPStar(p, v);
      const ref = dbmVisibleLogProbs64(p);
      expect(
        maxAbsDiff(
          Array.from(star, (t) => t - logZ),
          ref,
        ),
      ).toBeLessThan(1e-4);
      expect(Math.abs((await meanDbmLogProb(p, v, logZ)) - ref.reduce((s, x) => s + x, 0) / ref.length)).toBeLessThan(1e-4);
    });
  }

  it('enumerates in several batches (15 odd units, 13 even hidden units) as a float64 enumeration does', async () => {
    const sizes = [5, 15, 13];
    const p = randomDbm(sizes, 9, 0.3);
    const u = uncenteredDbm(p);
    const sp = (t: number) => Math.log1p(Math.exp(t));
    // log Z: enumerate x⁽¹⁾, sum x⁽⁰⁾ and x⁽²⁾ analytically, float64.
    const terms: number[] = [];
    for (let k = 0; k < 2 ** 15; k++) {
      const h = bits(k, 15);
      let t = h.reduce((s, x, j) => s + x * u.a[1]![j]!, 0);
      for (let i = 0; i < 5; i++) t += sp(u.a[0]![i]! + h.reduce((s, x, j) => s + x * u.W[0]![i * 15 + j]!, 0));
      for (let m = 0; m < 13; m++) t += sp(u.a[2]![m]! + h.reduce((s, x, j) => s + x * u.W[1]![j * 13 + m]!, 0));
      terms.push(t);
    }
    expect(Math.abs((await exactDbmLogZ(p)) - lse64(terms))).toBeLessThan(2e-4);
    // log p*(v) of one v: enumerate x⁽²⁾ (2^13, four batches), sum x⁽¹⁾ analytically.
    const v = [1, 0, 1, 1, 0];
    const inner: number[] = [];
    for (let k = 0; k < 2 ** 13; k++) {
      const g = bits(k, 13);
      let t = g.reduce((s, x, m) => s + x * u.a[2]![m]!, 0);
      for (let j = 0; j < 15; j++) {
        let z = u.a[1]![j]!;
        for (let i = 0; i < 5; i++) z += v[i]! * u.W[0]![i * 15 + j]!;
        for (let m = 0; m < 13; m++) z += u.W[1]![j * 13 + m]! * g[m]!;
        t += sp(z);
      }
      inner.push(t);
    }
    const ref = v.reduce((s, x, i) => s + x * u.a[0]![i]!, 0) + lse64(inner);
    expect(Math.abs((await exactDbmLogPStar(p, Float32Array.from(v)))[0]! - ref)).toBeLessThan(2e-4);
  });

  it('refuses layers too large to enumerate, suggesting AIS', async () => {
    await expect(exactDbmLogZ(randomDbm([4, 21, 3], 1))).rejects.toThrow(/21 units.*limited to 20.*AIS/);
    await expect(exactDbmLogPStar(randomDbm([4, 3, 22], 1), new Float32Array(4))).rejects.toThrow(/even hidden.*22 units.*AIS/);
  });
});

describe('training step graph', () => {
  for (const positive of ['meanfield', 'sample'] as const) {
    it(`one centered update (${positive} positive phase, 2 rounds, 2 sweeps) equals the float64 update fed the same uniforms`, async () => {
      const data = barsAndStripes(1);
      const opts: DbmTrainOptions = {
        hidden: [4, 3],
        lr: 0.1,
        nu: 0.2,
        decay: 0.01,
        batchSize: 3,
        chains: 2,
        positive,
        positiveRounds: 2,
        negativeSweeps: 2,
        centered: true,
        seed: 3,
      };
      // Start from a random model and binary chains so every term of the update is non-trivial.
      const start = randomDbm([9, 4, 3], 11, 0.7);
      const chains = start.sizes.map((n, l) => Float32Array.from({ length: 2 * n }, (_, k) => ((k * 7 + l) % 3 === 0 ? 1 : 0)));
      const resumed = await DbmTrainer.create(data, opts, { params: start, chains, epoch: 0, step: 0 });
      const x = data.x.slice(0, 27);
      await resumed.step(x);
      const got = resumed.snapshot();
      await resumed.release();
      const rows = (a: Float32Array, n: number) => Array.from({ length: a.length / n }, (_, r) => Array.from(a.subarray(r * n, (r + 1) * n)));
      const ref = dbmStep64(
        start,
        rows(x, 9),
        chains.map((c, l) => rows(c, start.sizes[l]!)),
        { positive, P: 2, K: 2, lr: 0.1, nu: 0.2, decay: 0.01, seed: 3, step: 0 },
      );
      for (let l = 0; l < 2; l++) expect(maxAbsDiff(got.params.W[l]!, ref.W[l]!)).toBeLessThan(1e-5);
      for (let l = 0; l < 3; l++) {
        expect(maxAbsDiff(got.params.b[l]!, ref.b[l]!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(got.params.o[l]!, ref.o[l]!)).toBeLessThan(1e-6);
        expect(Array.from(got.chains[l]!)).toEqual(ref.chains[l]!.flat());
      }
      expect(maxAbsDiff(got.params.o[1]!, start.o[1]!)).toBeGreaterThan(1e-3);
    });
  }

  it('the graph’s offset move leaves the updated model’s distribution unchanged (float32 precision)', async () => {
    const data = barsAndStripes(1);
    // A tiny learning rate: the update is (almost) only the offset move and its bias shift.
    const opts: DbmTrainOptions = { hidden: [3, 2], lr: 1e-30, nu: 0.5, batchSize: 4, centered: true, seed: 1 };
    const start = randomDbm([9, 3, 2], 4, 1);
    const chains = start.sizes.map((n) => new Float32Array(4 * n));
    const t = await DbmTrainer.create(data, opts, { params: start, chains, epoch: 0, step: 0 });
    await t.step(data.x.slice(0, 36));
    const after = t.params;
    await t.release();
    expect(maxAbsDiff(after.o[1]!, start.o[1]!)).toBeGreaterThan(1e-2);
    const before = negEnergies64(start);
    const d = negEnergies64(after).map((e, k) => e - before[k]!);
    expect(spread(d)).toBeLessThan(1e-4);
  });
});

describe('training runs', () => {
  const data = barsAndStripes(4);
  const base: DbmTrainOptions = { hidden: [6, 4], lr: 0.05, nu: 0.05, batchSize: 8, centered: true, seed: 5 };

  it('repeat exactly with the same seed and resume to the same result', async () => {
    const run = async (opts: DbmTrainOptions, epochs: number, resume?: Awaited<ReturnType<DbmTrainer['snapshot']>>) => {
      const t = await DbmTrainer.create(data, opts, resume);
      for (let e = 0; e < epochs; e++) await t.epoch();
      const s = t.snapshot();
      await t.release();
      return s;
    };
    const full = await run(base, 4);
    const again = await run(base, 4);
    expect(again.params.W.map((w) => Array.from(w))).toEqual(full.params.W.map((w) => Array.from(w)));
    const other = await run({ ...base, seed: 6 }, 4);
    expect(maxAbsDiff(other.params.W[0]!, full.params.W[0]!)).toBeGreaterThan(0);
    const half = await run(base, 2);
    const resumed = await run(base, 2, half);
    expect(resumed.step).toBe(full.step);
    expect(resumed.params.W.map((w) => Array.from(w))).toEqual(full.params.W.map((w) => Array.from(w)));
    expect(resumed.params.b.map((w) => Array.from(w))).toEqual(full.params.b.map((w) => Array.from(w)));
    expect(resumed.chains.map((w) => Array.from(w))).toEqual(full.chains.map((w) => Array.from(w)));
  });

  for (const positive of ['meanfield', 'sample'] as const) {
    it(`several updates per graph run (${positive} positive phase) compute the same updates as one per run`, async () => {
      const run = async (updatesPerRun: number) => {
        const t = await DbmTrainer.create(data, { ...base, positive, weightStd: 0.01, decay: 0.01, updatesPerRun });
        const recon = [await t.epoch(), await t.epoch()]; // 7 updates per epoch: runs of 3, 3, 1
        const s = t.snapshot();
        await t.release();
        return { s, recon };
      };
      const one = await run(1);
      const three = await run(3);
      expect(three.s.step).toBe(14);
      for (let l = 0; l < 2; l++) expect(maxAbsDiff(three.s.params.W[l]!, one.s.params.W[l]!)).toBeLessThan(1e-6);
      for (let l = 0; l < 3; l++) {
        expect(maxAbsDiff(three.s.params.b[l]!, one.s.params.b[l]!)).toBeLessThan(1e-6);
        expect(maxAbsDiff(three.s.params.o[l]!, one.s.params.o[l]!)).toBeLessThan(1e-6);
        expect(Array.from(three.s.chains[l]!)).toEqual(Array.from(one.s.chains[l]!));
      }
      expect(maxAbsDiff(three.recon, one.recon)).toBeLessThan(1e-6);
      // The two runs really moved the parameters (the comparison is not between two unchanged models).
      expect(maxAbsDiff(one.s.params.W[1]!, new Float32Array(one.s.params.W[1]!.length))).toBeGreaterThan(0.01);
    });
  }

  it('raise the exact log-likelihood of bars and stripes', async () => {
    // From the symmetric start the model sits near a saddle for a while; lr 0.3 leaves it within 40 epochs.
    const t = await DbmTrainer.create(data, { ...base, hidden: [8, 4], lr: 0.3, nu: 0.1 });
    const ll = async () => meanDbmLogProb(t.params, data.x, await exactDbmLogZ(t.params));
    const before = await ll();
    for (let e = 0; e < 40; e++) await t.epoch();
    const after = await ll();
    await t.release();
    expect(after).toBeGreaterThan(before + 1);
  });

  it('refuses non-binary data and stops with a clear error on divergence', async () => {
    const bad = { ...data, x: data.x.map((v, k) => (k === 3 ? 0.5 : v)) };
    await expect(DbmTrainer.create(bad, base)).rejects.toThrow(/must be binary.*binarise/);
    const t = await DbmTrainer.create(data, { ...base, lr: 1e38, decay: 1e38 });
    await expect(t.epoch()).rejects.toThrow(/diverged at step \d+.*lower the learning rate/);
    await t.release();
  });
});

describe('AIS for DBMs', () => {
  // The target is 0.1 nats (bench/dbm-ais.ts checks it over 100 runs); these models allow a
  // tighter bound (errors seen: ≤ 0.014 nats, s.e. 0.005–0.007), which also catches subtler mistakes.
  it('estimates log Z of a small DBM within 0.05 nats of the exact value, for several seeds', async () => {
    const p = randomDbm([12, 8, 6], 21, 0.5);
    const exact = await exactDbmLogZ(p);
    for (const seed of [1, 2, 3]) {
      const r = await aisDbmLogZ(p, { chains: 100, temperatures: 500, seed });
      expect(Math.abs(r.logZ - exact)).toBeLessThan(0.05);
      expect(r.stdErr).toBeGreaterThan(0);
    }
  });

  it('estimates log Z of a three-hidden-layer DBM (two odd layers as the state) within 0.05 nats', async () => {
    const p = randomDbm([8, 6, 5, 4], 22, 0.6);
    const exact = await exactDbmLogZ(p);
    const r = await aisDbmLogZ(p, { chains: 100, temperatures: 500, seed: 4 });
    expect(Math.abs(r.logZ - exact)).toBeLessThan(0.05);
  });

  it('a one-hidden-layer DBM (an RBM) with zero weights: every AIS weight is the exact log Z', async () => {
    const p = randomDbm([5, 3], 2);
    p.W[0]!.fill(0);
    p.b[1]!.fill(0);
    const exact = await exactDbmLogZ(p);
    const r = await aisDbmLogZ(p, { chains: 4, temperatures: 10, seed: 1 });
    expect(maxAbsDiff(r.logWeights, new Array(4).fill(exact))).toBeLessThan(1e-4);
  });
});

describe('model file', () => {
  it('the saved graph computes the mean-field posterior as a float64 mean field does, and reads back exactly', async () => {
    const p = randomDbm([5, 4, 3, 2], 31, 0.8);
    const bytes = dbmToOnnx(p, 4);
    const back = dbmFromOnnx(bytes);
    expect(back.sizes).toEqual(p.sizes);
    for (let l = 0; l < 4; l++) expect(Array.from(back.o[l]!)).toEqual(Array.from(p.o[l]!));
    const v = [1, 0, 0, 1, 1];
    // Float64: start at the offsets, 4 rounds of [odd layers; even hidden layers].
    const sig = (t: number) => 1 / (1 + Math.exp(-t));
    const mu: number[][] = p.sizes.map((_, l) => (l === 0 ? v : Array.from(p.o[l]!)));
    for (let k = 0; k < 4; k++)
      for (const l of [1, 3, 2])
        mu[l] = Array.from({ length: p.sizes[l]! }, (_, i) => {
          let t = p.b[l]![i]!;
          for (let j = 0; j < p.sizes[l - 1]!; j++) t += (mu[l - 1]![j]! - p.o[l - 1]![j]!) * p.W[l - 1]![j * p.sizes[l]! + i]!;
          if (l < 3) for (let j = 0; j < p.sizes[l + 1]!; j++) t += p.W[l]![i * p.sizes[l + 1]! + j]! * (mu[l + 1]![j]! - p.o[l + 1]![j]!);
          return sig(t);
        });
    const s = await openSession(undefined, bytes, { threads: 1 }, 'the saved DBM');
    const out = await s.run({ visible: float32([1, 5], v) });
    await s.release();
    for (let l = 1; l <= 3; l++) expect(maxAbsDiff(out[`hidden${l}`]!.data as Float32Array, mu[l]!)).toBeLessThan(1e-5);
  });
});

describe('mean-field lower bound on log p(v)', () => {
  const allV = (nv: number) => {
    const v = new Float32Array(2 ** nv * nv);
    for (let k = 0; k < 2 ** nv; k++) v.set(bits(k, nv), k * nv);
    return v;
  };

  it('equals a float64 mean-field bound and lies below the exact log p(v) of every visible state', async () => {
    const p = randomDbm([4, 3, 3, 2], 41, 0.8);
    const logZ = await exactDbmLogZ(p);
    const shift = uncenteredDbm(p).shift;
    const exact = dbmVisibleLogProbs64(p);
    const sig = (t: number) => 1 / (1 + Math.exp(-t));
    const { sizes } = p;
    for (let k = 0; k < 16; k++) {
      const v = bits(k, 4);
      const bound = await meanDbmLogProbBound(p, Float32Array.from(v), logZ, { iterations: 7 });
      // Float64: 7 rounds of [odd; even hidden] from the offsets, then −E_centered(v, μ) + H(q) + shift − log Z.
      const mu: number[][] = sizes.map((_, l) => (l === 0 ? v : Array.from(p.o[l]!)));
      const input = (l: number, i: number) => {
        let t = p.b[l]![i]!;
        for (let j = 0; j < sizes[l - 1]!; j++) t += (mu[l - 1]![j]! - p.o[l - 1]![j]!) * p.W[l - 1]![j * sizes[l]! + i]!;
        if (l < 3) for (let j = 0; j < sizes[l + 1]!; j++) t += p.W[l]![i * sizes[l + 1]! + j]! * (mu[l + 1]![j]! - p.o[l + 1]![j]!);
        return t;
      };
      for (let it = 0; it < 7; it++) for (const l of [1, 3, 2]) mu[l] = Array.from({ length: sizes[l]! }, (_, i) => sig(input(l, i)));
      let ref = -dbmEnergy64(p, mu) + shift - logZ;
      for (let l = 1; l <= 3; l++) for (const q of mu[l]!) ref -= q * Math.log(q) + (1 - q) * Math.log(1 - q);
      expect(Math.abs(bound - ref)).toBeLessThan(1e-4);
      expect(bound).toBeLessThanOrEqual(exact[k]! + 1e-5);
    }
  });

  it('is exact when the posterior factorises (zero weights)', async () => {
    const p = randomDbm([4, 3, 2], 42);
    for (const w of p.W) w.fill(0);
    const v = allV(4);
    const logZ = await exactDbmLogZ(p);
    expect(Math.abs((await meanDbmLogProbBound(p, v, logZ)) - (await meanDbmLogProb(p, v, logZ)))).toBeLessThan(1e-4);
  });
});
