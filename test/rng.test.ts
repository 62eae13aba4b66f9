/** The keyed random streams: reproducible per key, independent across keys, and the normal and permutation draws built on them. */
import { describe, expect, it } from 'vitest';
import { gaussian, permutation, rngFor } from '../src/core/math/rng.js';

const draw = (rng: () => number, n: number) => Array.from({ length: n }, rng);

describe('rngFor', () => {
  it('gives the same stream for the same key and another for any other key part', () => {
    const a = draw(rngFor(1, 'noise', 7), 16);
    expect(draw(rngFor(1, 'noise', 7), 16)).toEqual(a);
    for (const other of [rngFor(2, 'noise', 7), rngFor(1, 'ties', 7), rngFor(1, 'noise', 8), rngFor('1noise', 7)]) expect(draw(other, 16)).not.toEqual(a);
    expect(a.every((u) => u >= 0 && u < 1)).toBe(true);
  });

  it('is uniform enough: mean ½, variance 1/12, every tenth of [0, 1) used', () => {
    const u = draw(rngFor(3, 'uniformity'), 20000);
    const mean = u.reduce((s, x) => s + x, 0) / u.length;
    const v = u.reduce((s, x) => s + (x - mean) ** 2, 0) / u.length;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(v).toBeCloseTo(1 / 12, 2);
    const bins = new Array<number>(10).fill(0);
    for (const x of u) bins[Math.floor(x * 10)]!++;
    for (const b of bins) expect(b).toBeGreaterThan(1800);
  });
});

describe('gaussian and permutation', () => {
  it('Box–Muller draws have mean 0 and variance 1', () => {
    const rng = rngFor(5, 'normal');
    const z = Array.from({ length: 20000 }, () => gaussian(rng));
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const v = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 1)).toBeLessThan(0.05);
  });

  it('a permutation holds every index once and repeats with its key', () => {
    const p = permutation(50, rngFor(7, 'order'));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(permutation(50, rngFor(7, 'order'))).toEqual(p);
    expect(permutation(50, rngFor(8, 'order'))).not.toEqual(p);
  });
});

describe('fill', () => {
  it('writes the numbers of as many calls, and the stream continues where it stopped, mixed with calls', () => {
    const a = rngFor(3, 'fill');
    const b = rngFor(3, 'fill');
    const byCalls = Float32Array.from({ length: 1001 }, () => a());
    const filled = new Float32Array(1001);
    b.fill(filled.subarray(0, 400));
    filled[400] = b();
    b.fill(filled.subarray(401));
    expect(Array.from(filled)).toEqual(Array.from(byCalls));
    expect(b()).toBe(a());
    // A range writes only its indices, continuing the same stream.
    const c = rngFor(3, 'fill');
    const ranged = new Float32Array(1001);
    c.fill(ranged, 0, 400);
    ranged[400] = c();
    c.fill(ranged, 401, 1001);
    expect(Array.from(ranged)).toEqual(Array.from(byCalls));
    const partial = new Float32Array(10).fill(-1);
    rngFor(3, 'fill').fill(partial, 2, 5);
    expect(Array.from(partial.subarray(2, 5))).toEqual(Array.from(byCalls.subarray(0, 3)));
    expect([...partial.subarray(0, 2), ...partial.subarray(5)].every((x) => x === -1)).toBe(true);
  });
});
