/**
 * The RBM core: centering's re-parameterisation (exact, by enumeration), the training-step graph
 * against a float64 step fed the same uniforms, exact log Z / log p(v) against brute force,
 * repeatable and resumable training, and AIS against the exact value.
 */
import { describe, expect, it } from 'vitest';
import { buildAisGraph } from '../src/core/boltzmann/graphs.js';
import { aisLogZ, betaSchedule, exactLogZ, logMeanExp, meanLogProb } from '../src/core/boltzmann/likelihood.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { moveOffsets, type RbmParams, uncentered } from '../src/core/boltzmann/rbm.js';
import { RbmTrainer, type RbmTrainOptions } from '../src/core/boltzmann/train.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { barsAndStripes } from './helpers/bars.js';
import { logProbs64, logZ64, logZHidden64, stateOf } from './reference/rbm64.js';

/** A random RBM; `dyadic` rounds every value to a multiple of 1/8 so float32 holds sums of products exactly. */
function randomRbm(nv: number, nh: number, seed: number, scale = 1, dyadic = false): RbmParams {
  const rng = rngFor(seed, 'test-rbm');
  const q = (x: number) => (dyadic ? Math.round(x * 8) / 8 : x);
  const f = (n: number, s: number) => Float32Array.from({ length: n }, () => q(s * gaussian(rng)));
  const o = (n: number) => Float32Array.from({ length: n }, () => q(rng()));
  return { nv, nh, W: f(nv * nh, scale), a: f(nv, 1), c: f(nh, 1), ov: o(nv), oh: o(nh) };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('centering', () => {
  it('moving the offsets with the bias shift leaves p(v) exactly unchanged; without it p changes', () => {
    const p = randomRbm(5, 4, 1, 1, true);
    const ov = [0.25, 0.5, 0.75, 0.125, 1];
    const oh = [0.875, 0, 0.5, 0.375];
    const moved = moveOffsets(p, ov, oh);
    expect(Array.from(moved.ov)).toEqual(ov);
    expect(maxAbsDiff(logProbs64(moved), logProbs64(p))).toBeLessThan(1e-12);
    const unshifted = { ...p, ov: Float32Array.from(ov), oh: Float32Array.from(oh) };
    expect(maxAbsDiff(logProbs64(unshifted), logProbs64(p))).toBeGreaterThan(1e-2);
  });

  it('the uncentered form has the same p(v) and log Z shifted by the energy constant', () => {
    const p = randomRbm(5, 4, 2, 1, true);
    const u = uncentered(p);
    const plain: RbmParams = { nv: 5, nh: 4, W: p.W, a: Float32Array.from(u.a), c: Float32Array.from(u.c), ov: new Float32Array(5), oh: new Float32Array(4) };
    expect(maxAbsDiff(logProbs64(plain), logProbs64(p))).toBeLessThan(1e-12);
    expect(Math.abs(logZ64(plain) - u.shift - logZ64(p))).toBeLessThan(1e-12);
  });
});

describe('exact likelihood on ONNX Runtime', () => {
  for (const [nv, nh] of [
    [6, 4],
    [4, 7],
  ] as const) {
    it(`log Z and mean log p(v) of a ${nv}-${nh} RBM match the float64 brute force`, async () => {
      const p = randomRbm(nv, nh, nv * 10 + nh);
      const u = uncentered(p);
      const logZ = await exactLogZ(p);
      expect(Math.abs(logZ - u.shift - logZ64(p))).toBeLessThan(1e-4);
      const v = new Float32Array(2 ** nv * nv);
      for (let s = 0; s < 2 ** nv; s++) v.set(stateOf(s, nv), s * nv);
      const ref = logProbs64(p);
      expect(Math.abs((await meanLogProb(p, v, logZ)) - ref.reduce((s, x) => s + x, 0) / ref.length)).toBeLessThan(1e-4);
    });
  }

  it('enumerates in several batches (15 hidden units) as the float64 sum over hidden states does', async () => {
    const p = randomRbm(30, 15, 3, 0.3);
    const u = uncentered(p);
    expect(Math.abs((await exactLogZ(p)) - logZHidden64(u.W, u.a, u.c, 30, 15))).toBeLessThan(2e-4);
  });

  it('refuses a model whose smaller layer has more than 20 units, suggesting AIS', async () => {
    await expect(exactLogZ(randomRbm(22, 21, 4))).rejects.toThrow(/21 units.*limited to 20.*AIS/);
  });
});

/** One CD-k step in float64 from the same uniforms the trainer draws (rngFor(seed, 'rbm-step', 0)). */
function referenceStep(p: RbmParams, x: number[][], chains: number[][], o: Required<Pick<RbmTrainOptions, 'k' | 'lr' | 'nu' | 'decay' | 'seed'>>) {
  const { nv, nh } = p;
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  const W = (i: number, j: number) => p.W[i * nh + j]!;
  const hid = (v: number[]) => Array.from({ length: nh }, (_, j) => sig(p.c[j]! + v.reduce((s, vi, i) => s + (vi - p.ov[i]!) * W(i, j), 0)));
  const vis = (h: number[]) => Array.from({ length: nv }, (_, i) => sig(p.a[i]! + h.reduce((s, hj, j) => s + W(i, j) * (hj - p.oh[j]!), 0)));
  const rng = rngFor(o.seed, 'rbm-step', 0);
  const C = chains.length;
  const uh = Array.from({ length: o.k * C * nh }, rng);
  const uv = Array.from({ length: o.k * C * nv }, rng);
  let v = chains.map((r) => [...r]);
  for (let s = 0; s < o.k; s++) {
    const h = v.map((r, ci) => hid(r).map((q, j) => (uh[(s * C + ci) * nh + j]! < q ? 1 : 0)));
    v = h.map((r, ci) => vis(r).map((q, i) => (uv[(s * C + ci) * nv + i]! < q ? 1 : 0)));
  }
  const phD = x.map(hid);
  const phM = v.map(hid);
  const mean = (rows: number[][], k: number) => rows.reduce((s, r) => s + r[k]!, 0) / rows.length;
  const W1 = new Float64Array(nv * nh);
  for (let i = 0; i < nv; i++)
    for (let j = 0; j < nh; j++) {
      let pos = 0;
      for (let r = 0; r < x.length; r++) pos += (x[r]![i]! - p.ov[i]!) * (phD[r]![j]! - p.oh[j]!);
      let neg = 0;
      for (let r = 0; r < C; r++) neg += (v[r]![i]! - p.ov[i]!) * (phM[r]![j]! - p.oh[j]!);
      W1[i * nh + j] = W(i, j) + o.lr * (pos / x.length - neg / C - o.decay * W(i, j));
    }
  const dh = Array.from({ length: nh }, (_, j) => o.nu * (mean(phD, j) - p.oh[j]!));
  const a = Array.from({ length: nv }, (_, i) => p.a[i]! + o.lr * (mean(x, i) - mean(v, i)) + dh.reduce((s, d, j) => s + W1[i * nh + j]! * d, 0));
  const c = Array.from({ length: nh }, (_, j) => p.c[j]! + o.lr * (mean(phD, j) - mean(phM, j)));
  const oh = Array.from({ length: nh }, (_, j) => p.oh[j]! + dh[j]!);
  return { W: W1, a, c, oh, chains: v.flat() };
}

describe('training step graph', () => {
  it('one centered CD-2 step equals the float64 step fed the same uniforms', async () => {
    const data = barsAndStripes(1);
    const opts: RbmTrainOptions = { hidden: 5, method: 'cd', k: 2, lr: 0.3, nu: 0.2, decay: 0.01, batchSize: 6, centered: true, seed: 11 };
    const trainer = await RbmTrainer.create(data, opts);
    // Start from a model with structure, so that the sweeps and the bias shift matter.
    const start = randomRbm(9, 5, 12);
    const resumed = await RbmTrainer.create(data, opts, { params: start, chains: null, epoch: 0, step: 0 });
    await trainer.release();
    const xRows = Array.from({ length: 6 }, (_, r) => Array.from(data.x.subarray(r * 9, r * 9 + 9)));
    await resumed.step(Float32Array.from(xRows.flat()));
    const ref = referenceStep(start, xRows, xRows, { k: 2, lr: 0.3, nu: 0.2, decay: 0.01, seed: 11 });
    const got = resumed.params;
    expect(maxAbsDiff(got.W, ref.W)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.a, ref.a)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.c, ref.c)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.oh, ref.oh)).toBeLessThan(1e-6);
    expect(maxAbsDiff(got.oh, start.oh)).toBeGreaterThan(1e-3);
    await resumed.release();
  });

  it('with lr = 0 the offset update moves the hidden offsets but not the distribution', async () => {
    const data = barsAndStripes(1);
    const start = randomRbm(9, 5, 13);
    // A learning rate too small to change a float32 parameter isolates the offset update.
    const t = await RbmTrainer.create(
      data,
      { hidden: 5, method: 'pcd', lr: 1e-30, nu: 0.5, batchSize: 7, centered: true, seed: 1 },
      { params: start, chains: data.x.slice(0, 7 * 9), epoch: 0, step: 0 },
    );
    await t.epoch();
    expect(maxAbsDiff(t.params.oh, start.oh)).toBeGreaterThan(0.05);
    expect(maxAbsDiff(logProbs64(t.params), logProbs64(start))).toBeLessThan(2e-5);
    await t.release();
  });
});

describe('training runs', () => {
  const data = barsAndStripes(4);
  const base: RbmTrainOptions = { hidden: 8, method: 'pcd', lr: 0.2, nu: 0.05, batchSize: 8, chains: 16, centered: true, seed: 5 };

  it('repeat exactly with the same seed, differ with another, and resume to the same result', async () => {
    const run = async (o: RbmTrainOptions, epochs: number) => {
      const t = await RbmTrainer.create(data, o);
      for (let e = 0; e < epochs; e++) await t.epoch();
      await t.release();
      return t.snapshot();
    };
    const a = await run(base, 3);
    const b = await run(base, 3);
    expect(Array.from(b.params.W)).toEqual(Array.from(a.params.W));
    expect(Array.from(b.chains!)).toEqual(Array.from(a.chains!));
    const other = await run({ ...base, seed: 6 }, 3);
    expect(maxAbsDiff(other.params.W, a.params.W)).toBeGreaterThan(1e-3);
    const half = await run(base, 1);
    const resumed = await RbmTrainer.create(data, base, half);
    await resumed.epoch();
    await resumed.epoch();
    await resumed.release();
    expect(Array.from(resumed.params.W)).toEqual(Array.from(a.params.W));
    expect(Array.from(resumed.params.oh)).toEqual(Array.from(a.params.oh));
  });

  for (const [method, centered] of [
    ['cd', true],
    ['pcd', true],
    ['pcd', false],
  ] as const) {
    it(`${method.toUpperCase()}${centered ? ' centered' : ''} raises the exact log-likelihood of bars and stripes`, async () => {
      const t = await RbmTrainer.create(data, { ...base, method, centered });
      const before = await meanLogProb(t.params, data.x, await exactLogZ(t.params));
      for (let e = 0; e < 300; e++) await t.epoch();
      const after = await meanLogProb(t.params, data.x, await exactLogZ(t.params));
      await t.release();
      // Uniform start: −9 log 2 = −6.24 nats; the 14 patterns alone would be log 14 = −2.64.
      expect(before).toBeCloseTo(-9 * Math.LN2, 1);
      expect(after).toBeGreaterThan(before + 1.5);
    });
  }

  it('refuses to resume a CD checkpoint as PCD (it has no persistent chains)', async () => {
    const t = await RbmTrainer.create(data, { ...base, method: 'cd' });
    await t.release();
    await expect(RbmTrainer.create(data, base, t.snapshot())).rejects.toThrow(/made by CD training; resume it with the same method/);
  });

  it('stops with a clear error when the parameters stop being finite', async () => {
    const t = await RbmTrainer.create(data, { ...base, lr: 1e38, decay: 1e10 });
    await expect(t.epoch()).rejects.toThrow(/training diverged at step \d+ \(non-finite parameters\); lower the learning rate/);
    await t.release();
  });

  it('refuses non-binary data, saying how to binarise', async () => {
    const bad = { ...data, x: data.x.map((v, i) => (i === 3 ? 0.5 : v)) };
    await expect(RbmTrainer.create(bad, base)).rejects.toThrow(/must be binary.*value 3 is 0\.5.*binarise/);
  });
});

describe('AIS', () => {
  it('log-mean-exp and its standard error', () => {
    const { value, stdErr } = logMeanExp([Math.log(1), Math.log(3)]);
    expect(value).toBeCloseTo(Math.log(2), 12);
    // weights 1 and 3: sample sd √2, se of the mean 1, of its log 1/2.
    expect(stdErr).toBeCloseTo(0.5, 12);
  });

  it('one block of temperatures: weight increments and sweeps equal a float64 AIS fed the same uniforms', async () => {
    const p = randomRbm(5, 3, 31);
    const u = uncentered(p);
    const [nv, nh, M, T] = [5, 3, 4, 3];
    const aB = [0.5, -1, 0.25, 0, 2];
    const betas = [0, 0.2, 0.5, 0.9];
    const rng = rngFor(9, 'ais-block-test');
    const v0: number[] = Array.from({ length: M * nv }, () => (rng() < 0.5 ? 1 : 0));
    const uh = Array.from({ length: T * M * nh }, rng);
    const uv = Array.from({ length: T * M * nv }, rng);
    const session = await openSession(undefined, encodeModel(buildAisGraph(nv, nh, T)));
    const out = await session.run({
      W: float32([nv, nh], u.W),
      a: float32([nv], u.a),
      c: float32([nh], u.c),
      aB: float32([nv], aB),
      betas: float32([T + 1], betas),
      v: float32([M, nv], v0),
      uh: float32([T, M, nh], uh),
      uv: float32([T, M, nv], uv),
    });
    await session.release();
    const sig = (t: number) => 1 / (1 + Math.exp(-t));
    const sp = (t: number) => Math.log1p(Math.exp(t));
    const hin = (v: number[], j: number) => u.c[j]! + v.reduce((s, vi, i) => s + vi * u.W[i * nh + j]!, 0);
    const logStar = (v: number[], b: number) =>
      v.reduce((s, vi, i) => s + vi * ((1 - b) * aB[i]! + b * u.a[i]!), 0) + Array.from({ length: nh }, (_, j) => sp(b * hin(v, j))).reduce((s, x) => s + x, 0);
    for (let m = 0; m < M; m++) {
      let v = v0.slice(m * nv, m * nv + nv);
      let w = 0;
      for (let t = 1; t <= T; t++) {
        const b = betas[t]!;
        w += logStar(v, b) - logStar(v, betas[t - 1]!);
        const h = Array.from({ length: nh }, (_, j) => (uh[((t - 1) * M + m) * nh + j]! < sig(b * hin(v, j)) ? 1 : 0));
        v = Array.from({ length: nv }, (_, i) => {
          const z = (1 - b) * aB[i]! + b * (u.a[i]! + h.reduce<number>((s, hj, j) => s + u.W[i * nh + j]! * hj, 0));
          return uv[((t - 1) * M + m) * nv + i]! < sig(z) ? 1 : 0;
        });
      }
      expect((out.dlogw!.data as Float32Array)[m]!).toBeCloseTo(w, 4);
      expect(Array.from((out.v_new!.data as Float32Array).subarray(m * nv, m * nv + nv))).toEqual(v);
    }
  });

  it('schedules run from 0 to 1, increasing', () => {
    for (const kind of ['linear', 'geometric'] as const) {
      const b = Array.from(betaSchedule(kind, 50));
      expect(b[0]).toBe(0);
      expect(b[50]).toBeCloseTo(1, 12);
      for (let k = 1; k <= 50; k++) expect(b[k]!).toBeGreaterThan(b[k - 1]!);
    }
    expect(betaSchedule('geometric', 50)[1]).toBeCloseTo(1e-3, 12);
    expect(betaSchedule('linear', 50)[1]).toBeCloseTo(0.02, 12);
  });

  it('estimates log Z of a small RBM within 0.1 nats of the exact value, for several seeds', async () => {
    const p = randomRbm(16, 10, 21, 0.8);
    const exact = await exactLogZ(p);
    for (const seed of [1, 2, 3]) {
      const est = await aisLogZ(p, { chains: 100, temperatures: 1000, seed });
      expect(Math.abs(est.logZ - exact)).toBeLessThan(0.1);
      expect(est.stdErr).toBeLessThan(0.1);
    }
  });
});
