/**
 * The FV classifier's graphs (src/core/fisher) against the float64 reference in
 * test/reference/fisher64.ts: descriptors, PCA, GMM posteriors and log-likelihood, EM's monotone
 * log-likelihood, the FV of a single descriptor against its closed form, normalisation, the whole
 * model's scores, and the LRP decomposition with its conservation.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type FisherConfig, geometry } from '../src/core/fisher/config.js';
import { buildEStepGraph, fitGmm } from '../src/core/fisher/gmm.js';
import { buildFisherGraph, type FisherParams } from '../src/core/fisher/model.js';
import { fitPca } from '../src/core/fisher/pca.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { symmetricEigen } from '../src/core/math/linalg.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { float32, int64, type TensorData } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { descriptors64, fisherTerms64, logJoint64, logSumExp, lrp64, normalise64, pipeline64, posteriors64 } from './reference/fisher64.js';

const CFG: FisherConfig = { ...DEFAULT_CONFIG, patchSizes: [8, 12], stride: 4, pcaDims: 6, components: 3 };

function randomImages(n: number, c: number, h: number, w: number, seed: number): TensorData {
  const rng = rngFor(seed, 'fv-test-images');
  return float32(
    [n, c, h, w],
    Float32Array.from({ length: n * c * h * w }, () => rng()),
  );
}

function randomParams(cfg: FisherConfig, channels: number, h: number, w: number, classes: number, seed: number): FisherParams {
  const rng = rngFor(seed, 'fv-test-params');
  const R = cfg.cells * cfg.cells * cfg.orientations;
  const { pcaDims: D, components: K } = cfg;
  const priors = Float32Array.from({ length: K }, () => 0.5 + rng());
  const ps = priors.reduce((a, v) => a + v, 0);
  const F = 2 * K * D * (cfg.pyramid ?? [1]).reduce((a, g) => a + g * g, 0);
  return {
    config: cfg,
    channels,
    height: h,
    width: w,
    pcaMean: Float32Array.from({ length: R }, () => 0.05 * rng()),
    pcaProj: Float32Array.from({ length: R * D }, () => 0.3 * gaussian(rng)),
    gmm: {
      K,
      D,
      priors: priors.map((v) => v / ps),
      means: Float32Array.from({ length: K * D }, () => 0.3 * gaussian(rng)),
      variances: Float32Array.from({ length: K * D }, () => 0.05 + 0.2 * rng()),
    },
    classes,
    weights: Float32Array.from({ length: F * classes }, () => gaussian(rng)),
    bias: Float32Array.from({ length: classes }, () => gaussian(rng)),
  };
}

async function run(g: ReturnType<typeof buildFisherGraph>, feeds: Record<string, TensorData>) {
  const s = await openSession(undefined, encodeModel(g), { threads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** max |a − b| / max |b| */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

describe('FV graphs against the float64 reference', () => {
  const images = randomImages(2, 3, 16, 20, 1);
  const p = randomParams(CFG, 3, 16, 20, 3, 2);
  const geo = geometry(CFG, 3, 16, 20);
  const per = 3 * 16 * 20;
  const img = (i: number) => (images.data as Float32Array).subarray(i * per, (i + 1) * per);

  it('descriptor geometry', () => {
    expect(geo.scales.map((s) => [s.rows, s.cols, s.offset])).toEqual([
      [3, 4, 0],
      [2, 3, 12],
    ]);
    expect(geo.count).toBe(18);
  });

  it('features (raw FV z and normalised Φ̃) match', async () => {
    const out = await run(buildFisherGraph(p, { featuresOnly: true }), { image: images });
    const F = geo.fvDims;
    for (let i = 0; i < 2; i++) {
      const ref = pipeline64(img(i), p, geo);
      expect(relErr((out.z!.data as Float32Array).subarray(i * F, (i + 1) * F), ref.z)).toBeLessThan(1e-4);
      expect(relErr((out.phi!.data as Float32Array).subarray(i * F, (i + 1) * F), ref.phi)).toBeLessThan(1e-4);
    }
  });

  it('descriptors match (via a single-scale model whose PCA is the identity on the first D values)', async () => {
    const cfg = { ...CFG, patchSizes: [8] };
    const q = randomParams(cfg, 3, 16, 20, 3, 3);
    const R = 128;
    q.pcaMean = new Float32Array(R);
    q.pcaProj = new Float32Array(R * cfg.pcaDims);
    for (let k = 0; k < cfg.pcaDims; k++) q.pcaProj[(k * 17 + 5) * cfg.pcaDims + k] = 1; // picks raw values 5, 22, 39, …
    const g = buildFisherGraph(q, { featuresOnly: true });
    // expose the descriptors as an extra output
    const desc = g.nodes.find((n) => n.op === 'MatMul' && n.inputs[1] === 'fv/pca_proj')!.inputs[0]!;
    const sub = g.nodes.find((n) => n.outputs[0] === desc)!;
    g.outputs.push({ name: sub.inputs[0]!, elemType: 1, shape: ['N', 12, R] });
    const out = await run(g, { image: images });
    const got = out[sub.inputs[0]!]!.data as Float32Array;
    const ref = descriptors64(img(1), cfg, geometry(cfg, 3, 16, 20));
    const flat = Float64Array.from(ref.flatMap((r) => Array.from(r)));
    expect(relErr(got.subarray(12 * R), flat)).toBeLessThan(1e-5);
  });

  it('scores match and a zero image gives finite scores', async () => {
    const zero = float32([1, 3, 16, 20]);
    const out = await run(buildFisherGraph(p), { image: images });
    const s = out.scores!.data as Float32Array;
    for (let i = 0; i < 2; i++) expect(relErr(s.subarray(i * 3, (i + 1) * 3), pipeline64(img(i), p, geo).scores!)).toBeLessThan(1e-4);
    const z = await run(buildFisherGraph(p), { image: zero });
    for (const v of z.scores!.data as Float32Array) expect(Number.isFinite(v)).toBe(true);
  });

  it('LRP matches the reference and conserves f − b as ε → 0', async () => {
    const eps = 1e-9;
    const out = await run(buildFisherGraph(p, { explain: { epsilon: eps } }), { image: images, target: int64([2], [0, 2]) });
    const rel = out.relevance!.data as Float32Array;
    const s = out.scores!.data as Float32Array;
    for (const [i, c] of [
      [0, 0],
      [1, 2],
    ] as const) {
      const ref = lrp64(img(i), p, geo, c, eps);
      expect(relErr(rel.subarray(i * per, (i + 1) * per), ref.pix)).toBeLessThan(1e-3);
      const total = ref.pix.reduce((a, v) => a + v, 0);
      const fMinusB = s[i * 3 + c]! - p.bias![c]!;
      expect(Math.abs(total - fMinusB)).toBeLessThan(1e-5 * Math.abs(fMinusB)); // reference: exact up to the ε term
      let got = 0;
      for (const v of rel.subarray(i * per, (i + 1) * per)) got += v;
      expect(Math.abs(got - fMinusB)).toBeLessThan(2e-3 * Math.abs(fMinusB) + 1e-4);
      expect((out.relevance_fv_sum!.data as Float32Array)[i]).toBeCloseTo(fMinusB, 4);
      expect((out.target_bias!.data as Float32Array)[i]).toBeCloseTo(p.bias![c]!, 6);
    }
  });

  it('a large ε absorbs relevance: Σ R_t = Σ_d R_d z_d / (z_d + ε s(z_d))', async () => {
    const eps = 1e-2;
    const out = await run(buildFisherGraph(p, { explain: { epsilon: eps } }), { image: images, target: int64([2], [1, 1]) });
    const ref = lrp64(img(0), p, geo, 1, eps);
    const pipe = pipeline64(img(0), p, geo);
    const expected = ref.Rd.reduce((a, r, f) => a + (r * pipe.z[f]!) / (pipe.z[f]! + eps * (pipe.z[f]! >= 0 ? 1 : -1)), 0);
    expect((out.relevance_descriptor_sum!.data as Float32Array)[0]).toBeCloseTo(expected, 4);
    expect(Math.abs(expected - ref.Rd.reduce((a, v) => a + v, 0))).toBeGreaterThan(1e-3);
  });
});

describe('spatial pyramid (1×1 + 2×2)', () => {
  const cfg = { ...CFG, pyramid: [1, 2] };
  const images = randomImages(2, 1, 20, 20, 11);
  const p = randomParams(cfg, 1, 20, 20, 3, 12);
  const geo = geometry(cfg, 1, 20, 20);
  const per = 400;
  const img = (i: number) => (images.data as Float32Array).subarray(i * per, (i + 1) * per);

  it('scores and LRP match the reference; every descriptor collects from its two regions', async () => {
    expect(geo.regions).toBe(5);
    expect(geo.fvDims).toBe(5 * 2 * 3 * 6);
    const eps = 1e-9;
    const out = await run(buildFisherGraph(p, { explain: { epsilon: eps } }), { image: images, target: int64([2], [1, 2]) });
    const plain = (await run(buildFisherGraph(p), { image: images })).scores!.data as Float32Array; // moment form, no ψ
    const s = out.scores!.data as Float32Array;
    for (const [i, c] of [
      [0, 1],
      [1, 2],
    ] as const) {
      const ref = pipeline64(img(i), p, geo);
      expect(relErr(s.subarray(i * 3, (i + 1) * 3), ref.scores!)).toBeLessThan(1e-4);
      expect(relErr(plain.subarray(i * 3, (i + 1) * 3), ref.scores!)).toBeLessThan(1e-4);
      const r = lrp64(img(i), p, geo, c, eps);
      expect(relErr((out.relevance!.data as Float32Array).subarray(i * per, (i + 1) * per), r.pix)).toBeLessThan(1e-3);
      const fMinusB = s[i * 3 + c]! - p.bias![c]!;
      expect(Math.abs(r.pix.reduce((a, v) => a + v, 0) - fMinusB)).toBeLessThan(1e-5 * Math.abs(fMinusB));
    }
  });
});

describe('FV of one descriptor', () => {
  it('equals the closed form with one component: ((l − μ)/σ, ((l − μ)²/σ² − 1)/√2)', async () => {
    const cfg = { ...CFG, patchSizes: [8], pcaDims: 4, components: 1 };
    const p = randomParams(cfg, 1, 8, 8, 2, 5);
    const geo = geometry(cfg, 1, 8, 8);
    expect(geo.count).toBe(1);
    const x = randomImages(1, 1, 8, 8, 6);
    const out = await run(buildFisherGraph(p, { featuresOnly: true }), { image: x });
    const { l } = pipeline64(x.data as Float32Array, p, geo);
    const closed = new Float64Array(8);
    for (let d = 0; d < 4; d++) {
      const u = (l[0]![d]! - p.gmm.means[d]!) / Math.sqrt(p.gmm.variances[d]!);
      closed[d] = u;
      closed[4 + d] = (u * u - 1) / Math.SQRT2;
    }
    expect(p.gmm.priors[0]).toBe(1);
    expect(relErr(out.z!.data as Float32Array, closed)).toBeLessThan(1e-4);
  });

  it('normalisation: signed power then unit L2 norm', () => {
    const z = [4, -9, 0, 1];
    const phi = normalise64(z, 0.5);
    const n = Math.sqrt(2 * 2 + 3 * 3 + 1);
    expect(Array.from(phi)).toEqual([2 / n, -3 / n, 0, 1 / n]);
  });
});

describe('GMM fitting on the runtime', () => {
  function mixtureData(M: number, D: number, seed: number): Float32Array {
    const rng = rngFor(seed, 'fv-test-mixture');
    const centres = [-3, 0, 4];
    return Float32Array.from({ length: M * D }, (_, i) => {
      const c = centres[Math.floor(i / D) % 3]!;
      return c + (0.5 + (i % D) * 0.2) * gaussian(rng);
    });
  }

  it('E-step: posteriors, log joint and log-likelihood against float64', async () => {
    const K = 3;
    const D = 4;
    const M = 50;
    const x = mixtureData(M, D, 1);
    const rng = rngFor(9, 'g');
    const g = {
      K,
      D,
      priors: Float32Array.from([0.2, 0.3, 0.5]),
      means: Float32Array.from({ length: K * D }, () => 3 * gaussian(rng)),
      variances: Float32Array.from({ length: K * D }, () => 0.3 + rng()),
    };
    const out = await run(buildEStepGraph(K, D).g, {
      x: float32([M, D], x),
      log_priors: float32([K], Array.from(g.priors, Math.log)),
      means: float32([K, D], g.means),
      variances: float32([K, D], g.variances),
    });
    let ll = 0;
    const gam = out.gamma!.data as Float32Array;
    const lj = out.log_joint!.data as Float32Array;
    for (let i = 0; i < M; i++) {
      const row = x.subarray(i * D, (i + 1) * D);
      const ref = logJoint64(row, g);
      ll += logSumExp(ref);
      expect(relErr(lj.subarray(i * K, (i + 1) * K), ref)).toBeLessThan(1e-5);
      const pr = posteriors64(row, g);
      for (let k = 0; k < K; k++) expect(Math.abs(gam[i * K + k]! - pr[k]!)).toBeLessThan(1e-5);
    }
    expect((out.loglik!.data as Float32Array)[0]).toBeCloseTo(ll, 2);
  });

  it('EM never decreases the log-likelihood and finds the three clusters', async () => {
    const D = 3;
    const M = 600;
    const x = mixtureData(M, D, 2);
    const fit = await fitGmm(x, M, D, { K: 3, seed: 1, maxIterations: 30, tolerance: 0, batch: 256, threads: 1 });
    for (let i = 1; i < fit.logLik.length; i++) expect(fit.logLik[i]!).toBeGreaterThanOrEqual(fit.logLik[i - 1]! - 1e-5);
    const centres = Array.from({ length: 3 }, (_, k) => fit.gmm.means[k * D]!).sort((a, b) => a - b);
    expect(centres[0]).toBeCloseTo(-3, 0);
    expect(centres[1]).toBeCloseTo(0, 0);
    expect(centres[2]).toBeCloseTo(4, 0);
    for (const p of fit.gmm.priors) expect(p).toBeCloseTo(1 / 3, 1);
  });

  it('the variance floor holds a collapsing component; bad data is refused', async () => {
    const D = 2;
    const M = 40;
    // 20 identical points and 20 spread ones: one component collapses onto the identical points
    const rng = rngFor(3, 'collapse');
    const x = Float32Array.from({ length: M * D }, (_, i) => (i < 20 * D ? 1 : 5 + gaussian(rng)));
    const fit = await fitGmm(x, M, D, { K: 2, seed: 0, maxIterations: 20, varianceFloor: 1e-3, threads: 1 });
    for (const v of fit.gmm.variances) {
      expect(Number.isFinite(v)).toBe(true);
      expect(v).toBeGreaterThan(0);
    }
    await expect(fitGmm(x.subarray(0, 2 * D), 2, D, { K: 3, seed: 0 })).rejects.toThrow(/at least as many descriptors as components/);
    await expect(fitGmm(Float32Array.from([1, NaN, 2, 3]), 2, 2, { K: 1, seed: 0 })).rejects.toThrow(/NaN/);
  });
});

describe('PCA on the runtime', () => {
  it('matches the float64 covariance eigenvectors', async () => {
    const R = 5;
    const M = 400;
    const rng = rngFor(4, 'pca');
    const scales = [3, 2, 1, 0.5, 0.2];
    const x = Float32Array.from({ length: M * R }, (_, i) => 10 + scales[i % R]! * gaussian(rng) + (i % R === 1 ? 0.5 * 0 : 0));
    // mix the axes so that the components are not the coordinate axes
    const mixed = new Float32Array(M * R);
    for (let i = 0; i < M; i++)
      for (let a = 0; a < R; a++) {
        let s = 0;
        for (let b = 0; b < R; b++) s += x[i * R + b]! * Math.cos(a * 0.7 + b * 1.3);
        mixed[i * R + a] = s;
      }
    const pca = await fitPca(mixed, M, R, 2, { threads: 1, batch: 128 });
    const mean = new Float64Array(R);
    for (let i = 0; i < M; i++) for (let a = 0; a < R; a++) mean[a]! += mixed[i * R + a]! / M;
    const cov = new Float64Array(R * R);
    for (let i = 0; i < M; i++)
      for (let a = 0; a < R; a++) for (let b = 0; b < R; b++) cov[a * R + b]! += ((mixed[i * R + a]! - mean[a]!) * (mixed[i * R + b]! - mean[b]!)) / (M - 1);
    const { values, vectors } = symmetricEigen(cov, R);
    const order = Array.from(values.keys()).sort((a, b) => values[b]! - values[a]!);
    for (let j = 0; j < 2; j++) {
      let dot = 0;
      for (let a = 0; a < R; a++) dot += pca.proj[a * 2 + j]! * vectors[a * R + order[j]!]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 4);
      expect(pca.variance[j]! / values[order[j]!]!).toBeCloseTo(1, 4);
    }
    for (let a = 0; a < R; a++) expect(pca.mean[a]!).toBeCloseTo(mean[a]!, 3);
  });
});

describe('reference self-check', () => {
  it('FV terms sum over descriptors', () => {
    const g = { K: 2, D: 1, priors: [0.5, 0.5], means: [0, 1], variances: [1, 1] };
    const psi = fisherTerms64([Float64Array.from([0.5])], g);
    expect(psi[0]![0]! + psi[0]![1]!).toBeCloseTo((0.5 * 0.5 - 0.5 * 0.5) / Math.sqrt(0.5), 12);
  });
});
