/**
 * The transfer workflow of issue 17: frozen layers stay bit-identical while the head learns; the
 * localisation shares against a hand computation; `relprop train --init … --freeze … --loss mse`
 * and `relprop evaluate-localisation` end to end, and their bad input (a frozen layer that does
 * not exist, missing regression targets, boxes outside the image, a mask of the wrong size).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { boxMask, checkBoxes, localisationScore } from '../src/core/evaluate/localisation.js';
import { rngFor } from '../src/core/math/rng.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { checkSpec } from '../src/core/train/spec.js';
import { Trainer } from '../src/core/train/trainer.js';
import { relprop } from './helpers/cli.js';

const S = 8;
const N = 48;
const layers = (k: number) => [
  { type: 'conv2d', filters: 4, kernel: 3, padding: 1 },
  { type: 'relu' },
  { type: 'maxpool', size: 2 },
  { type: 'flatten' },
  { type: 'dense', units: 8 },
  { type: 'relu' },
  { type: 'dense', units: k },
];
const spec = (k: number) => ({ input: { shape: [1, S, S] }, layers: layers(k) });

/** Images with a bright square in one quadrant; class = quadrant, target = the square's brightness. */
function data() {
  const rng = rngFor('transfer-test', 0);
  const x = new Float32Array(N * S * S);
  const cls = new BigInt64Array(N);
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    const q = i % 4;
    const v = 0.3 + 0.7 * rng();
    cls[i] = BigInt(q);
    y[i] = 1 + 8 * v;
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) x[i * S * S + (r + 4 * (q >> 1)) * S + c + 4 * (q & 1)] = v;
  }
  return { x: { dtype: 'float32', dims: [N, 1, S, S], data: x } as TensorData, cls, y };
}

describe('freezing', () => {
  it('keeps frozen weights bit-identical and trains the rest', async () => {
    const d = data();
    const base = new Trainer(checkSpec(spec(4)), { epochs: 2, batchSize: 16, lr: 1e-2, seed: 0, threads: 1 });
    await base.fit({ x: d.x, y: { dtype: 'int64', dims: [N], data: d.cls } });
    const t = new Trainer(checkSpec(spec(1)), {
      epochs: 2,
      batchSize: 16,
      lr: 1e-2,
      seed: 1,
      threads: 1,
      loss: { kind: 'mse' },
      freeze: ['conv2d_0', 'dense_0'],
    });
    const init = t.loadMatching(base.params);
    expect(init.fresh).toEqual(['dense_1.weight', 'dense_1.bias']);
    const before = new Map([...t.params].map(([k, v]) => [k, Buffer.from(Float32Array.from(v.data as Float32Array).buffer)]));
    await t.fit({ x: d.x, y: { dtype: 'float32', dims: [N, 1], data: d.y } });
    const same = (k: string) => Buffer.from((t.params.get(k)!.data as Float32Array).slice().buffer).equals(before.get(k)!);
    for (const k of ['conv2d_0.weight', 'conv2d_0.bias', 'dense_0.weight', 'dense_0.bias']) expect(same(k), k).toBe(true);
    for (const k of ['dense_1.weight', 'dense_1.bias']) expect(same(k), k).toBe(false);
  });
});

describe('localisation score', () => {
  it('matches a hand computation', () => {
    // 2×3 map, region = the left column pair (x < 2) of the top row.
    const map = [1, -2, 3, 0.5, 4, -1];
    const mask = boxMask(checkBoxes([[0, 0, 2, 1]], 2, 3, 'test'), 2, 3);
    expect(Array.from(mask)).toEqual([1, 1, 0, 0, 0, 0]);
    const s = localisationScore(map, mask);
    expect(s.positive).toBeCloseTo(1 / (1 + 3 + 0.5 + 4), 12);
    expect(s.absolute).toBeCloseTo((1 + 2) / (1 + 2 + 3 + 0.5 + 4 + 1), 12);
    expect(s.area).toBeCloseTo(2 / 6, 12);
    expect(localisationScore([0, -1], [1, 0]).positive).toBeNull();
  });
  it('refuses boxes outside the image or empty', () => {
    expect(() => checkBoxes([[0, 0, 4, 3]], 2, 3, 'f:1')).toThrow(/box 0 \[0,0,4,3\] is outside the 3×2 image/);
    expect(() => checkBoxes([[-1, 0, 1, 1]], 2, 3, 'f:1')).toThrow(/outside/);
    expect(() => checkBoxes([[1, 0, 1, 1]], 2, 3, 'f:1')).toThrow(/empty/);
    expect(() => checkBoxes([[0, 0, 1]], 2, 3, 'f:1')).toThrow(/4 integers/);
  });
});

describe('CLI transfer workflow', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relprop-transfer-'));
  const p = (f: string) => join(dir, f);
  beforeAll(async () => {
    const d = data();
    writeFileSync(p('x.npy'), encodeNpy(d.x));
    writeFileSync(p('cls.npy'), encodeNpy({ dtype: 'int64', dims: [N], data: d.cls }));
    writeFileSync(p('y.npy'), encodeNpy({ dtype: 'float32', dims: [N], data: d.y }));
    const yNaN = Float32Array.from(d.y);
    yNaN[5] = Number.NaN;
    writeFileSync(p('y-missing.npy'), encodeNpy({ dtype: 'float32', dims: [N], data: yNaN }));
    writeFileSync(p('base.spec.json'), JSON.stringify(spec(4)));
    writeFileSync(p('head.spec.json'), JSON.stringify(spec(1)));
    const base = await relprop([
      'train',
      '--spec',
      p('base.spec.json'),
      '--data',
      p('x.npy'),
      '--labels',
      p('cls.npy'),
      '--epochs',
      '2',
      '--threads',
      '1',
      '--out',
      p('base.onnx'),
      '--quiet',
    ]);
    expect(base.stderr).toBe('');
    // Boxes: the quadrant holding the square; line 3 holds no box.
    const lines = Array.from({ length: N }, (_, i) =>
      JSON.stringify({ boxes: i === 3 ? [] : [[4 * (i & 1), 4 * ((i % 4) >> 1), 4 * (i & 1) + 4, 4 * ((i % 4) >> 1) + 4]] }),
    );
    writeFileSync(p('boxes.jsonl'), lines.join('\n') + '\n');
    writeFileSync(p('boxes-out.jsonl'), lines.map((l, i) => (i === 2 ? '{"boxes": [[0, 0, 9, 4]]}' : l)).join('\n') + '\n');
    writeFileSync(p('whole.jsonl'), `${Array(N).fill('{"boxes": [[0, 0, 8, 8]]}').join('\n')}\n`);
    writeFileSync(p('mask-bad.npy'), encodeNpy({ dtype: 'float32', dims: [N, 7, 8], data: new Float32Array(N * 56) }));
    writeFileSync(p('mask-whole.npy'), encodeNpy({ dtype: 'float32', dims: [N, 1, 8, 8], data: new Float32Array(N * 64).fill(1) }));
  });
  const head = (extra: string[], out: string) =>
    relprop([
      'train',
      '--spec',
      p('head.spec.json'),
      '--init',
      p('base.onnx'),
      '--data',
      p('x.npy'),
      '--loss',
      'mse',
      '--epochs',
      '1',
      '--threads',
      '1',
      '--out',
      p(out),
      '--quiet',
      ...extra,
    ]);

  it('trains a regression head on a frozen body and records it', async () => {
    const r = await head(['--labels', p('y.npy'), '--freeze', 'conv2d_0'], 'head.onnx');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const card = JSON.parse(readFileSync(p('head.spec.json').replace('head.json', 'head.json'), 'utf8'));
    expect(card.layers).toBeDefined(); // the spec is untouched
    const trained = JSON.parse(readFileSync(p('head.onnx').replace(/\.onnx$/, '.json'), 'utf8'));
    expect(trained.initialised_from.frozen_layers).toEqual(['conv2d_0']);
    expect(trained.initialised_from.new).toEqual(['dense_1.weight', 'dense_1.bias']);
  });

  it('refuses a frozen layer that does not exist', async () => {
    const r = await head(['--labels', p('y.npy'), '--freeze', 'conv2d_0,conv9'], 'never.onnx');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot freeze "conv9": the model has no layer with parameters of that name/);
  });

  it('refuses missing regression targets, and masks them for multi-task losses', async () => {
    const r = await head(['--labels', p('y-missing.npy')], 'never.onnx');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/1 of 48 regression targets are missing \(NaN; the first in row 5\)/);
    const m = await head(['--labels', p('y-missing.npy'), '--loss', 'multitask-mse'], 'masked.onnx');
    expect(m.stderr).toBe('');
    expect(m.code).toBe(0);
  });

  const loc = (extra: string[], out: string) =>
    relprop([
      'evaluate-localisation',
      '--model',
      p('head.onnx'),
      '--data',
      p('x.npy'),
      '--target',
      '0',
      '--threads',
      '1',
      '--out',
      p(out),
      '--quiet',
      ...extra,
    ]);

  it('evaluate-localisation: shares per method; the whole image holds everything', async () => {
    const r = await loc(['--boxes', p('boxes.jsonl'), '--methods', 'lrp:epsilon,gradient-x-input'], 'loc');
    expect(r.stderr).toBe('');
    const res = JSON.parse(readFileSync(p('loc/results.json'), 'utf8'));
    expect(res.methods.map((m: { method: string }) => m.method)).toEqual(['lrp:epsilon', 'gradient-x-input']);
    expect(res.methods[0].samples_with_region).toBe(N - 1);
    expect(res.methods[0].area).toBeCloseTo(0.25, 12);
    // Inputs are zero outside the square: ε-LRP and gradient×input put all relevance inside it.
    expect(res.methods[0].absolute_share.mean).toBeCloseTo(1, 6);
    const w = await loc(['--boxes', p('whole.jsonl'), '--methods', 'gradient'], 'whole');
    expect(w.stderr).toBe('');
    const whole = JSON.parse(readFileSync(p('whole/results.json'), 'utf8'));
    expect(whole.methods[0].absolute_share.mean).toBe(1);
    expect(whole.methods[0].area).toBe(1);
    const m = await loc(['--masks', p('mask-whole.npy'), '--methods', 'gradient'], 'whole-mask');
    expect(m.stderr).toBe('');
    expect(JSON.parse(readFileSync(p('whole-mask/results.json'), 'utf8')).methods).toEqual(whole.methods);
  });

  it('evaluate-localisation: boxes outside the image, masks of the wrong size', async () => {
    const a = await loc(['--boxes', p('boxes-out.jsonl')], 'bad1');
    expect(a.code).not.toBe(0);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toMatch(/boxes-out\.jsonl:3: box 0 \[0,0,9,4\] is outside the 8×8 image/);
    const b = await loc(['--masks', p('mask-bad.npy')], 'bad2');
    expect(b.code).not.toBe(0);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toMatch(/masks must be \[N, 8, 8\] .* got \[48,7,8\]/);
    const c = await loc([], 'bad3');
    expect(c.stderr).toMatch(/either --boxes FILE.jsonl or --masks FILE.npy/);
  });
});
