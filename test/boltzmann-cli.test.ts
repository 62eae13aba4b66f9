/** `relprop likelihood` and `relprop sample` as a user runs them, on RBM and DBM models. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exactDbmLogZ, meanDbmLogProb } from '../src/core/boltzmann/dbm-likelihood.js';
import type { DbmParams } from '../src/core/boltzmann/dbm.js';
import { dbmFromOnnx, dbmToOnnx } from '../src/core/boltzmann/dbm-model-file.js';
import { exactLogZ, meanLogProb } from '../src/core/boltzmann/likelihood.js';
import { rbmFromOnnx, rbmToOnnx } from '../src/core/boltzmann/model-file.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { barsAndStripes, barsNpy } from './helpers/bars.js';
import { relprop } from './helpers/cli.js';

/** A DBM with zero weights and biases (its file is all a command needs to read). */
const zeroDbm = (sizes: number[]): DbmParams => ({
  sizes,
  W: sizes.slice(1).map((n, l) => new Float32Array(sizes[l]! * n)),
  b: sizes.map((n) => new Float32Array(n)),
  o: sizes.map((n) => new Float32Array(n)),
});

let dir: string;
let data: string;
let rbm: string;
let dbm: string;
const common = ['--binarize', 'none', '--threads', '1'];

beforeAll(() => {
  // Random models written directly: the commands only read the files (training is tested elsewhere).
  dir = mkdtempSync(join(tmpdir(), 'boltzmann-cli-'));
  data = barsNpy(dir);
  rbm = join(dir, 'rbm.onnx');
  dbm = join(dir, 'dbm.onnx');
  const rng = rngFor(1, 'boltzmann-cli');
  const v = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * gaussian(rng));
  const u = (n: number) => Float32Array.from({ length: n }, () => rng());
  writeFileSync(rbm, rbmToOnnx({ nv: 9, nh: 6, W: v(54), a: v(9), c: v(6), ov: u(9), oh: u(6) }));
  writeFileSync(dbm, dbmToOnnx({ sizes: [9, 8, 4], W: [v(72), v(32)], b: [v(9), v(8), v(4)], o: [u(9), u(8), u(4)] }));
});

const json = async (args: string[]) => {
  const r = await relprop(args);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
};

describe('relprop likelihood', () => {
  it('gives the exact values of rbm loglik and dbm loglik, and the float64 core functions', async () => {
    const bars = barsAndStripes(4).x;
    for (const [kind, model] of [
      ['rbm', rbm],
      ['dbm', dbm],
    ] as const) {
      const [a, b] = await Promise.all([
        json(['likelihood', '--model', model, '--data', data, '--json', ...common]),
        json([kind, 'loglik', '--model', model, '--data', data, '--json', ...common]),
      ]);
      expect(a).toEqual(b);
      expect(a.estimator).toBe('exact');
      const bytes = readFileSync(model);
      const expected =
        kind === 'rbm'
          ? await meanLogProb(rbmFromOnnx(bytes), bars, await exactLogZ(rbmFromOnnx(bytes)))
          : await meanDbmLogProb(dbmFromOnnx(bytes), bars, await exactDbmLogZ(dbmFromOnnx(bytes)));
      expect(a.mean_loglik).toBeCloseTo(expected, 4);
    }
  });

  it('AIS on the same DBM lands within 0.1 nats of the exact log Z; the text line names the estimator', async () => {
    const [exact, ais, text] = await Promise.all([
      json(['likelihood', '--model', dbm, '--data', data, '--json', ...common]),
      json(['likelihood', '--model', dbm, '--data', data, '--json', '--estimator', 'ais', '--chains', '50', '--temperatures', '500', ...common]),
      relprop(['likelihood', '--model', rbm, '--data', data, ...common]),
    ]);
    expect(ais.estimator).toBe('ais');
    expect(Math.abs(ais.log_z - exact.log_z)).toBeLessThan(0.1);
    expect(text.stdout).toMatch(/^mean log p\(v\) -[\d.]+ nats over 56 samples; exact log Z [\d.]+\n$/);
  });

  it('bad input: non-binary data, a layer too large for exact, a model of another kind — one line each', async () => {
    const bad = barsNpy(mkdtempSync(join(tmpdir(), 'boltzmann-cli-')), (x) => {
      x[3] = 0.5;
    });
    const bigDbm = join(dir, 'bigdbm.onnx');
    writeFileSync(bigDbm, dbmToOnnx(zeroDbm([9, 21, 3])));
    const [nonBinary, tooLarge, notBm] = await Promise.all([
      relprop(['likelihood', '--model', dbm, '--data', bad, ...common]),
      relprop(['likelihood', '--model', bigDbm, '--data', data, '--estimator', 'exact', ...common]),
      relprop(['likelihood', '--model', join(import.meta.dirname, '..', 'models', 'fmnist-cnn.onnx'), '--data', data, ...common]),
    ]);
    expect(nonBinary.code).not.toBe(0);
    expect(nonBinary.stderr.trim().split('\n')).toHaveLength(1);
    expect(nonBinary.stderr).toMatch(/^relprop: error: .*must be binary.*value 3 is 0\.5.*--binarize threshold/);
    expect(tooLarge.code).not.toBe(0);
    expect(tooLarge.stderr.trim().split('\n')).toHaveLength(1);
    expect(tooLarge.stderr).toMatch(/^relprop: error: exact log Z enumerates 2\^21 states .*use AIS/);
    expect(notBm.code).not.toBe(0);
    expect(notBm.stderr).toMatch(/^relprop: error: .*is not an RBM or a DBM saved by relprop/);
  });
});

const png = (path: string) => PNG.sync.read(readFileSync(path));

describe('relprop sample', () => {
  it('writes a grid of samples and of filters with the documented layout, repeatably for a seed', async () => {
    const out = (name: string) => join(dir, name);
    const run = (o: string, seed: string, more: string[] = []) =>
      relprop([
        'sample',
        '--model',
        dbm,
        '--out',
        out(o),
        '--samples',
        '7',
        '--cols',
        '4',
        '--sweeps',
        '20',
        '--shape',
        '3x3',
        '--scale',
        '1',
        '--seed',
        seed,
        '--threads',
        '1',
        ...more,
      ]);
    const r = await run('a.png', '1', ['--filters', out('f.png'), '--filter-count', '5']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dbm 9-8-4\): wrote 7 samples .* to .*a\.png; 5 of 8 first-layer filters/);
    const a = png(out('a.png'));
    // 7 tiles of 3×3, 4 per row → 2 rows; 1-pixel gaps.
    expect([a.width, a.height]).toEqual([4 * 3 + 3, 2 * 3 + 1]);
    const f = png(out('f.png'));
    expect([f.width, f.height]).toEqual([4 * 3 + 3, 2 * 3 + 1]);
    const [rb, rc] = await Promise.all([run('b.png', '1'), run('c.png', '2')]);
    expect([rb.code, rc.code]).toEqual([0, 0]);
    expect(Buffer.compare(readFileSync(out('a.png')), readFileSync(out('b.png')))).toBe(0);
    expect(Buffer.compare(readFileSync(out('a.png')), readFileSync(out('c.png')))).not.toBe(0);
    // Binary samples: every tile pixel black or white.
    const tilePixels = [...Array(3).keys()].flatMap((y) => [...Array(3).keys()].map((x) => a.data[4 * (y * a.width + x)]!));
    expect(tilePixels.every((v) => v === 0 || v === 255)).toBe(true);
    // Snapshots: one row per chain, one column per snapshot; --scale repeats pixels.
    const s = await relprop([
      'sample',
      '--model',
      rbm,
      '--out',
      out('s.png'),
      '--samples',
      '2',
      '--snapshots',
      '5',
      '--sweeps',
      '3',
      '--shape',
      '3x3',
      '--scale',
      '2',
      '--means',
    ]);
    expect(s.code).toBe(0);
    const sp = png(out('s.png'));
    expect([sp.width, sp.height]).toEqual([2 * (5 * 3 + 4), 2 * (2 * 3 + 1)]);
  });

  it('bad input: nothing to write, a non-square model without --shape, a wrong --shape — one line each, no file', async () => {
    const out = join(dir, 'x.png');
    const six = join(dir, 'six.onnx');
    writeFileSync(six, dbmToOnnx(zeroDbm([6, 2])));
    const [none, square, wrong, bad] = await Promise.all([
      relprop(['sample', '--model', dbm]),
      relprop(['sample', '--model', six, '--out', out]),
      relprop(['sample', '--model', dbm, '--out', out, '--shape', '2x4']),
      relprop(['sample', '--model', dbm, '--out', out, '--shape', 'abc']),
    ]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/^relprop: error: nothing to write: pass --out/);
    expect(square.stderr.trim().split('\n')).toHaveLength(1);
    expect(square.stderr).toMatch(/^relprop: error: 6 visible units are not a square image; pass --shape HxW/);
    expect(wrong.stderr).toMatch(/^relprop: error: --shape 2x4 has 8 pixels, the model 9 visible units/);
    expect(bad.stderr).toMatch(/--shape needs HxW/);
    expect(existsSync(out)).toBe(false);
  });
});
