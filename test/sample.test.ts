/**
 * Gibbs sampling and the picture grids behind `relprop sample`: the chains' visible states follow
 * the model's exact p(v) (DBM with offsets, and an RBM through rbmAsDbm), the same seed repeats,
 * blocks of sweeps do not change the result's distribution, and grids have the documented layout.
 */
import { describe, expect, it } from 'vitest';
import { readBoltzmannModel } from '../src/core/boltzmann/any-model.js';
import type { DbmParams } from '../src/core/boltzmann/dbm.js';
import { dbmToOnnx } from '../src/core/boltzmann/dbm-model-file.js';
import { chainMajor, filterGrid, tileShape, valueGrid } from '../src/core/boltzmann/image-grid.js';
import { rbmToOnnx } from '../src/core/boltzmann/model-file.js';
import type { RbmParams } from '../src/core/boltzmann/rbm.js';
import { gibbsSamples, rbmAsDbm } from '../src/core/boltzmann/sample.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { dbmVisibleLogProbs64 } from './reference/dbm64.js';
import { logProbs64 } from './reference/rbm64.js';

function randomDbm(sizes: number[], seed: number, scale: number): DbmParams {
  const rng = rngFor(seed, 'test-sample-dbm');
  return {
    sizes,
    W: sizes.slice(1).map((n, l) => Float32Array.from({ length: sizes[l]! * n }, () => scale * gaussian(rng))),
    b: sizes.map((n) => Float32Array.from({ length: n }, () => gaussian(rng))),
    o: sizes.map((n) => Float32Array.from({ length: n }, () => rng())),
  };
}

/** Total variation between the empirical distribution of binary rows and exp(logp) (index = Σ v_i 2^i). */
function totalVariation(v: Float32Array, nv: number, logp: number[]): number {
  const n = v.length / nv;
  const counts = new Float64Array(2 ** nv);
  for (let r = 0; r < n; r++) {
    let k = 0;
    for (let i = 0; i < nv; i++) k += v[r * nv + i]! * 2 ** i;
    counts[k]! += 1;
  }
  return 0.5 * logp.reduce((s, lp, k) => s + Math.abs(counts[k]! / n - Math.exp(lp)), 0);
}

describe('Gibbs sampling', () => {
  it('the visible states of a centered 3-2-2 DBM follow its exact p(v)', async () => {
    const p = randomDbm([3, 2, 2], 1, 1.5);
    const s = await gibbsSamples(p, { chains: 4000, sweeps: 30, seed: 1, block: 7 });
    const tv = totalVariation(s.visible, 3, dbmVisibleLogProbs64(p));
    // 4,000 chains over 8 states: sampling noise in TV is about 0.02.
    expect(tv).toBeLessThan(0.035);
    // A wrong model (offsets dropped) is far from these samples: the test can tell.
    const noOffsets = { ...p, o: p.o.map((o) => new Float32Array(o.length)) };
    expect(totalVariation(s.visible, 3, dbmVisibleLogProbs64(noOffsets))).toBeGreaterThan(0.1);
  });

  it('the visible states of a centered three-hidden-layer 3-2-2-2 DBM follow its exact p(v)', async () => {
    // Two layers per parity: the sweep's block matrix has a zero block (layers 0 and 3).
    const p = randomDbm([3, 2, 2, 2], 6, 1.5);
    const s = await gibbsSamples(p, { chains: 4000, sweeps: 30, seed: 2, block: 8 });
    expect(totalVariation(s.visible, 3, dbmVisibleLogProbs64(p))).toBeLessThan(0.035);
    const noOffsets = { ...p, o: p.o.map((o) => new Float32Array(o.length)) };
    expect(totalVariation(s.visible, 3, dbmVisibleLogProbs64(noOffsets))).toBeGreaterThan(0.1);
  });

  it('an RBM sampled as a one-hidden-layer DBM follows its exact p(v)', async () => {
    const rng = rngFor(2, 'test-sample-rbm');
    const nv = 4;
    const nh = 3;
    const rbm: RbmParams = {
      nv,
      nh,
      W: Float32Array.from({ length: nv * nh }, () => 1.5 * gaussian(rng)),
      a: Float32Array.from({ length: nv }, () => gaussian(rng)),
      c: Float32Array.from({ length: nh }, () => gaussian(rng)),
      ov: Float32Array.from({ length: nv }, () => rng()),
      oh: Float32Array.from({ length: nh }, () => rng()),
    };
    const s = await gibbsSamples(rbmAsDbm(rbm), { chains: 4000, sweeps: 30, seed: 3 });
    expect(totalVariation(s.visible, nv, logProbs64(rbm))).toBeLessThan(0.04);
  });

  it('repeats exactly with the same seed, differs with another; means lie in (0, 1) and snapshots are laid out snapshot-major', async () => {
    const p = randomDbm([6, 4, 3], 4, 1);
    const o = { chains: 5, sweeps: 9, snapshots: 3, seed: 7, block: 4 };
    const a = await gibbsSamples(p, o);
    const b = await gibbsSamples(p, o);
    const c = await gibbsSamples(p, { ...o, seed: 8 });
    expect(a.visible.length).toBe(3 * 5 * 6);
    expect(Array.from(a.visible)).toEqual(Array.from(b.visible));
    expect(Array.from(a.visibleMean)).toEqual(Array.from(b.visibleMean));
    expect(Array.from(a.visible)).not.toEqual(Array.from(c.visible));
    expect(a.visible.every((x) => x === 0 || x === 1)).toBe(true);
    expect(a.visibleMean.every((x) => x > 0 && x < 1)).toBe(true);
    // The first snapshot of a run with snapshots = 3 is the whole of the same run with snapshots = 1.
    const one = await gibbsSamples(p, { ...o, snapshots: 1 });
    expect(Array.from(one.visible)).toEqual(Array.from(a.visible.subarray(0, 5 * 6)));
  });

  it('refuses zero chains or sweeps', async () => {
    await expect(gibbsSamples(randomDbm([2, 2], 1, 1), { chains: 0, sweeps: 1, seed: 0 })).rejects.toThrow(/chains must be an integer ≥ 1/);
  });
});

describe('model files and grids', () => {
  it('reads either kind back; an RBM becomes the DBM with the same parameters', () => {
    const dbm = randomDbm([4, 3, 2], 5, 1);
    const m = readBoltzmannModel(dbmToOnnx(dbm));
    expect(m.kind).toBe('dbm');
    expect(Array.from(m.dbm.W[1]!)).toEqual(Array.from(dbm.W[1]!));
    const rbm: RbmParams = {
      nv: 2,
      nh: 1,
      W: Float32Array.of(1, 2),
      a: Float32Array.of(3, 4),
      c: Float32Array.of(5),
      ov: Float32Array.of(0.5, 0.25),
      oh: Float32Array.of(0.75),
    };
    const r = readBoltzmannModel(rbmToOnnx(rbm));
    expect(r.kind).toBe('rbm');
    expect(r.dbm).toEqual({ sizes: [2, 1], W: [rbm.W], b: [rbm.a, rbm.c], o: [rbm.ov, rbm.oh] });
  });

  it('tile shapes: square by default, else --shape, else an error naming --shape', () => {
    expect(tileShape(784)).toEqual({ height: 28, width: 28 });
    expect(tileShape(6, { height: 2, width: 3 })).toEqual({ height: 2, width: 3 });
    expect(() => tileShape(6)).toThrow(/6 visible units are not a square image; pass --shape HxW/);
    expect(() => tileShape(6, { height: 2, width: 2 })).toThrow(/--shape 2x2 has 4 pixels, the model 6 visible units/);
  });

  it('a value grid puts tile k at row ⌊k/cols⌋, column k mod cols, with 1-pixel gray gaps', () => {
    const shape = { height: 2, width: 3 };
    const values = new Float32Array(5 * 6);
    values[4 * 6 + 5] = 1; // tile 4, its bottom-right pixel white
    values[1 * 6 + 0] = 0.5; // tile 1, its top-left pixel mid-gray
    const g = valueGrid(values, 5, shape, 3);
    expect([g.width, g.height]).toEqual([3 * 3 + 2, 2 * 2 + 1]);
    const px = (x: number, y: number) => Array.from(g.rgba.subarray(4 * (y * g.width + x), 4 * (y * g.width + x) + 4));
    expect(px(0, 0)).toEqual([0, 0, 0, 255]);
    expect(px(3, 0)).toEqual([128, 128, 128, 255]); // the gap after tile 0
    expect(px(4, 0)).toEqual([128, 128, 128, 255]); // tile 1's top-left: 0.5 → 128
    expect(px(4 + 2, 3 + 1)).toEqual([255, 255, 255, 255]); // tile 4 = row 1, column 1
    expect(px(8 + 2, 3 + 1)).toEqual([128, 128, 128, 255]); // the empty sixth cell
  });

  it('snapshot-major tiles become one row per chain', () => {
    // 2 snapshots × 3 chains × 1 value: value = 10·snapshot + chain.
    const v = Float32Array.from([0, 1, 2, 10, 11, 12]);
    expect(Array.from(chainMajor(v, 3, 2, 1))).toEqual([0, 10, 1, 11, 2, 12]);
    expect(() => chainMajor(v, 2, 2, 1)).toThrow(/6 values are not 2 × 2 × 1/);
  });

  it('filters come largest weight norm first, red for positive and blue for negative weights', () => {
    // 4 visible (2×2), 3 hidden: unit 2 has the largest norm, then unit 0, then unit 1.
    const W = Float32Array.from([1, 0, -3, 0, 0.5, 0, 0, 0, 0, -1, 0, 3]); // [4, 3] row-major
    const { image, units } = filterGrid(W, 4, 3, 2, { height: 2, width: 2 }, 2);
    expect(units).toEqual([2, 0]);
    expect([image.width, image.height]).toEqual([5, 2]);
    const px = (x: number, y: number) => Array.from(image.rgba.subarray(4 * (y * image.width + x), 4 * (y * image.width + x) + 3));
    const [r0, , b0] = px(0, 0); // unit 2, visible 0: −3 (its most negative) → blue
    expect(b0!).toBeGreaterThan(r0!);
    const [r3, , b3] = px(1, 1); // unit 2, visible 3: +3 → red
    expect(r3!).toBeGreaterThan(b3!);
    const [r1, , b1] = px(3, 0); // unit 0, visible 0: +1 (its largest) → red
    expect(r1!).toBeGreaterThan(b1!);
  });
});
