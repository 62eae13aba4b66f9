/**
 * FV end to end: fitting on tiny synthetic images (seeded, repeatable), the saved model run by
 * plain ONNX Runtime against the fitted pipeline, `relprop fv train` / `relprop explain` on the
 * built CLI, and bad input (mixed image sizes, too few descriptors, an unwritable output).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FisherExplainer } from '../src/core/fisher/explainer.js';
import { fitFisher } from '../src/core/fisher/fit.js';
import { buildFisherGraph } from '../src/core/fisher/model.js';
import { geometry } from '../src/core/fisher/config.js';
import { rngFor } from '../src/core/math/rng.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { readNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { loadFisherModel } from '../src/node/fisher/model-file.js';
import { encodePng } from '../src/node/visualize/png.js';
import { relprop } from './helpers/cli.js';
import { pipeline64 } from './reference/fisher64.js';

const S = 16;

/** Class 0: horizontal stripes, class 1: vertical stripes, class 2: a bright square; random phase and noise. */
function stripes(n: number, seed: number) {
  const rng = rngFor(seed, 'fv-stripes');
  const x = new Float32Array(n * S * S);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    const ph = Math.floor(rng() * 4);
    const oy = 2 + Math.floor(rng() * 6);
    const ox = 2 + Math.floor(rng() * 6);
    for (let r = 0; r < S; r++)
      for (let q = 0; q < S; q++) {
        const on = c === 0 ? (r + ph) % 4 < 2 : c === 1 ? (q + ph) % 4 < 2 : r >= oy && r < oy + 7 && q >= ox && q < ox + 7;
        x[i * S * S + r * S + q] = (on ? 0.8 : 0.1) + 0.1 * rng();
      }
  }
  return { x: float32([n, 1, S, S], x), y };
}

const OPTS = { config: { patchSizes: [8], stride: 4, pcaDims: 8, components: 4 }, classes: 3, gmmIterations: 20, svmIterations: 100, threads: 1 };

function writeIdx(dir: string, split: string, x: Float32Array, y: Int32Array, n: number, h: number, w: number) {
  const img = Buffer.alloc(16 + n * h * w);
  img.writeUInt32BE(0x0803, 0);
  img.writeUInt32BE(n, 4);
  img.writeUInt32BE(h, 8);
  img.writeUInt32BE(w, 12);
  for (let i = 0; i < n * h * w; i++) img[16 + i] = Math.round(Math.min(1, Math.max(0, x[i]!)) * 255);
  const lab = Buffer.alloc(8 + n);
  lab.writeUInt32BE(0x0801, 0);
  lab.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) lab[8 + i] = y[i]!;
  writeFileSync(join(dir, `${split}-images-idx3-ubyte`), img);
  writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), lab);
}

describe('fitting', () => {
  it('separates the classes, repeats with the same seed, and its graph equals the float64 pipeline', async () => {
    const { x, y } = stripes(45, 1);
    const a = await fitFisher(x, y, { ...OPTS, seed: 3 });
    const b = await fitFisher(x, y, { ...OPTS, seed: 3 });
    expect(a.trainAccuracy).toBe(1);
    expect(Array.from(a.params.weights!)).toEqual(Array.from(b.params.weights!));
    expect(a.epsilon).toBeGreaterThan(0);
    const s = await openSession(undefined, encodeModel(buildFisherGraph(a.params)), { threads: 1 });
    const out = (await s.run({ image: x })).scores!.data as Float32Array;
    await s.release();
    const ex = await FisherExplainer.create(a.params, a.epsilon, { threads: 1 });
    await expect(ex.explain(x, 3)).rejects.toThrow(/target 3 is outside the model's classes 0..2/);
    await expect(ex.explain(float32([1, 1, S + 1, S]), 0)).rejects.toThrow(/takes images \[N, 1, 16, 16\]/);
    const bad = float32([1, 1, S, S]);
    (bad.data as Float32Array)[3] = Number.NaN;
    await expect(ex.explain(bad, 0)).rejects.toThrow(/NaN or infinite values in the input/);
    await ex.release();
    const geo = geometry(a.params.config, 1, S, S);
    for (const i of [0, 1, 2, 20]) {
      const ref = pipeline64((x.data as Float32Array).subarray(i * S * S, (i + 1) * S * S), a.params, geo).scores!;
      for (let c = 0; c < 3; c++) expect(out[i * 3 + c]!).toBeCloseTo(ref[c]!, 3);
    }
  });

  it('resumes from any saved state to the same model', async () => {
    const { x, y } = stripes(30, 8);
    const opts = { ...OPTS, svmIterations: 100, gmmIterations: 8, seed: 5 };
    const whole = await fitFisher(x, y, opts);
    const history: [string, unknown][] = [];
    const recording = { load: async () => undefined, save: async (k: string, v: unknown) => void history.push([k, JSON.parse(JSON.stringify(v))]) };
    await fitFisher(x, y, { ...opts, store: recording });
    const gmmStates = history.filter(([k]) => k === 'gmm');
    const svmStates = history.filter(([k]) => k === 'svm');
    expect(gmmStates.length).toBeGreaterThan(2);
    expect(svmStates.map(([, v]) => (v as { iteration: number }).iteration)).toEqual([50, 100]);
    // interrupted after the second EM iteration (no SVM state yet), and after 50 SVM iterations
    for (const kept of [{ gmm: gmmStates[1]![1] }, { gmm: gmmStates[gmmStates.length - 1]![1], svm: svmStates[0]![1] }]) {
      const saved = new Map<string, unknown>([
        ['meta', history.find(([k]) => k === 'meta')![1]],
        ['pca', history.find(([k]) => k === 'pca')![1]],
        ...Object.entries(kept),
      ]);
      const store = { load: async (k: string) => saved.get(k), save: async (k: string, v: unknown) => void saved.set(k, JSON.parse(JSON.stringify(v))) };
      const resumed = await fitFisher(x, y, { ...opts, store });
      expect(Array.from(resumed.params.weights!)).toEqual(Array.from(whole.params.weights!));
      expect(Array.from(resumed.params.gmm.means)).toEqual(Array.from(whole.params.gmm.means));
    }
    const other = new Map<string, unknown>([['meta', history[0]![1]]]);
    await expect(fitFisher(x, y, { ...opts, seed: 6, store: { load: async (k: string) => other.get(k), save: async () => undefined } })).rejects.toThrow(
      /cannot resume: the checkpoint was written by a fit with other data or settings/,
    );
  });

  it('refuses fewer descriptors than GMM components and NaN images', async () => {
    const { x, y } = stripes(3, 2);
    await expect(fitFisher(x, y, { ...OPTS, config: { ...OPTS.config, components: 64 }, seed: 0 })).rejects.toThrow(
      /cannot fit 64 GMM components to 27 descriptors/,
    );
    (x.data as Float32Array)[5] = Number.NaN;
    await expect(fitFisher(x, y, { ...OPTS, seed: 0 })).rejects.toThrow(/NaN/);
  });
});

describe('relprop fv train / explain (built CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relprop-fv-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const train = stripes(45, 4);
  const test = stripes(15, 5);
  writeIdx(data, 'train', train.x.data as Float32Array, train.y, 45, S, S);
  writeIdx(data, 't10k', test.x.data as Float32Array, test.y, 15, S, S);
  const model = join(dir, 'fv.onnx');
  const flags = ['--patch-sizes', '8', '--stride', '4', '--pca-dims', '8', '--components', '4', '--svm-iterations', '100', '--threads', '1'];

  it('trains, records the test accuracy, and relprop explain conserves score − bias', async () => {
    const r = await relprop(['fv', 'train', '--data', data, '--test', data, '--out', model, '--class-names', 'h,v,sq', ...flags]);
    expect(r.stderr).toMatch(/test accuracy/);
    expect(r.code).toBe(0);
    const card = JSON.parse(readFileSync(join(dir, 'fv.json'), 'utf8'));
    expect(card.family).toBe('fisher-vector');
    expect(card.training.test.accuracy).toBeGreaterThan(0.9);
    const m = loadFisherModel(model);
    expect(m.classes).toEqual(['h', 'v', 'sq']);
    // a card written before the pyramid setting existed still loads (one global FV)
    const old = join(dir, 'old.onnx');
    writeFileSync(old, readFileSync(model));
    delete card.fisher.config.pyramid;
    writeFileSync(join(dir, 'old.json'), JSON.stringify(card));
    expect(loadFisherModel(old).params.config.pyramid).toEqual([1]);
    // the file alone, on plain ONNX Runtime
    const s = await openSession(undefined, new Uint8Array(readFileSync(model)), { threads: 1 });
    expect(s.inputNames).toEqual(['image']);
    await s.release();

    const input = join(dir, 'x.npy');
    const { encodeNpy } = await import('../src/core/onnx/npy.js');
    writeFileSync(input, encodeNpy(float32([3, 1, S, S], (test.x.data as Float32Array).subarray(0, 3 * S * S))));
    const e = await relprop([
      'explain',
      '--model',
      model,
      '--input',
      input,
      '--out',
      join(dir, 'r.npy'),
      '--summary',
      join(dir, 's.json'),
      '--audit',
      '--epsilon',
      '1e-9',
    ]);
    expect(e.stderr).toMatch(/FV audit/);
    expect(e.code).toBe(0);
    const rel = readNpy(readFileSync(join(dir, 'r.npy')));
    expect(rel.dims).toEqual([3, 1, S, S]);
    const sum = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'));
    for (let i = 0; i < 3; i++) {
      let tot = 0;
      for (const v of (rel.data as Float32Array).subarray(i * S * S, (i + 1) * S * S)) tot += v;
      const smp = sum.samples[i];
      expect(tot).toBeCloseTo(smp.score - smp.bias, 3);
    }

    // relprop inspect shows the FV stages and their treatment, not an unsupported-operator error
    const ins = await relprop(['inspect', model]);
    expect(ins.code).toBe(0);
    expect(ins.stdout).toMatch(/Fisher-vector classifier, input "image" \["N",1,16,16\] float32, 3 classes/);
    expect(ins.stdout).toMatch(/fisher-vector\s+diagonal GMM, 4 components; .*: 64 dimensions\s+ε-share/);
    const insJson = JSON.parse((await relprop(['inspect', model, '--json'])).stdout);
    expect(insJson.classes).toEqual(['h', 'v', 'sq']);
    expect(insJson.stages.map((st: { stage: string }) => st.stage)).toEqual(['descriptors', 'pca', 'fisher-vector', 'normalisation', 'linear']);
    const insRule = await relprop(['inspect', model, '--rule', 'epsilon']);
    expect(insRule.code).not.toBe(0);
    expect(insRule.stderr.trim()).toMatch(/^relprop: error: FV models are explained by their own LRP decomposition/);
  });

  it('relprop fv canvas writes the image folders and boxes files', async () => {
    const fm = join(dir, 'fm');
    mkdirSync(fm);
    const rng = rngFor(7, 'fm');
    const items = Float32Array.from({ length: 12 * 784 }, () => rng());
    const labels = Int32Array.from({ length: 12 }, (_, i) => i % 10);
    writeIdx(fm, 'train', items, labels, 12, 28, 28);
    writeIdx(fm, 't10k', items, labels, 12, 28, 28);
    const out = join(dir, 'canvases');
    const r = await relprop([
      'fv',
      'canvas',
      '--data',
      fm,
      '--out',
      out,
      '--train',
      '10',
      '--test',
      '4',
      '--stamp-class',
      '6',
      '--stamp-share',
      '1',
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const set of ['train', 'test-matched', 'test-swapped', 'test-stamped']) {
      const lines = readFileSync(join(out, set, 'boxes.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(set === 'train' ? 10 : 4);
      for (const l of lines) expect(existsSync(join(out, set, l.file))).toBe(true);
      if (set === 'test-stamped') for (const l of lines) expect(l.stamp).toEqual([2, 56, 8, 62]);
    }
    const train = readFileSync(join(out, 'train', 'boxes.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(train.filter((l) => l.stamp).map((l) => l.label)).toEqual([6]);
    const tooMany = await relprop(['fv', 'canvas', '--data', fm, '--out', join(dir, 'c2'), '--train', '100']);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toMatch(/holds 12 training and 12 test images; asked for 100 and 1000/);
  });

  it('bad input: one error line and a non-zero exit, no output', async () => {
    const mixed = join(dir, 'mixed');
    for (const [cls, size] of [
      ['a', 16],
      ['b', 20],
    ] as const) {
      mkdirSync(join(mixed, cls), { recursive: true });
      writeFileSync(join(mixed, cls, '0.png'), encodePng(new Uint8Array(size * size * 4).fill(255), size, size));
    }
    const out = join(dir, 'bad.onnx');
    const r = await relprop(['fv', 'train', '--data', mixed, '--out', out, ...flags]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is 1x20x20 but .* is 1x16x16/);
    expect(existsSync(out)).toBe(false);
    const few = await relprop(['fv', 'train', '--data', data, '--limit', '2', '--components', '64', '--out', out, '--patch-sizes', '8', '--threads', '1']);
    expect(few.code).not.toBe(0);
    expect(few.stderr).toMatch(/need at least as many descriptors as components/);
    const noDir = await relprop(['fv', 'train', '--data', data, '--out', join(dir, 'missing', 'x.onnx'), ...flags]);
    expect(noDir.stderr).toMatch(/its folder does not exist/);
    const big = await relprop(['fv', 'train', '--data', data, '--out', out, '--patch-sizes', '32']);
    expect(big.stderr).toMatch(/patch size 32 does not fit a 16×16 image/);
  });
});
