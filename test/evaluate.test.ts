/** Region perturbation: ordering, AOPC, replacement, resume, data loaders, CLI end to end, bad input. */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { relprop } from './helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { decodeIdx, loadIdxImages } from '../src/node/data/idx.js';
import { aopc, aopcCurve, meanSe } from '../src/core/evaluate/aopc.js';
import { loadDataset } from '../src/node/evaluate/dataset.js';
import { parseMethodSpec } from '../src/core/evaluate/methods.js';
import { gaussianBlur, perturbationSeries, replacementImage } from '../src/core/evaluate/perturb.js';
import type { Dataset } from '../src/core/evaluate/region-perturbation.js';
import { evaluateRegionPerturbation, Explainer } from '../src/node/api.js';
import { nearestRootTaylor, sensitivity } from '../src/core/explain/taylor.js';
import { relL2 } from './helpers/fixtures.js';
import { imageGeometry, morfOrder, poolChannels, regionGrid, regionScores, reversed } from '../src/core/evaluate/regions.js';
import { rngFor } from '../src/core/math/rng.js';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import { decodeModel, encodeModel } from '../src/core/onnx/model.js';
import { encodePng } from '../src/node/visualize/png.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLES = join(ROOT, 'models', 'samples', 'samples.npy');
const FMNIST_TINY = join(ROOT, 'test', 'fixtures', 'fashion-mnist-tiny');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-eval-'));

function samples(n: number): Dataset {
  const t = readNpy(readFileSync(SAMPLES));
  const per = t.data.length / t.dims[0]!;
  return { x: { dtype: 'float32', dims: [n, ...t.dims.slice(1)], data: (t.data as Float32Array).slice(0, n * per) }, source: SAMPLES };
}

describe('regions and ordering', () => {
  const g = imageGeometry([1, 1, 4, 6]);

  it('tiles the image into non-overlapping blocks and orders them by summed relevance', () => {
    const grid = regionGrid(g, [2, 3]);
    expect([grid.rows, grid.cols, grid.count]).toEqual([2, 2, 4]);
    expect(Array.from(grid.indices[1]!)).toEqual([3, 4, 5, 9, 10, 11]);
    expect(Array.from(grid.indices[2]!)).toEqual([12, 13, 14, 18, 19, 20]);
    // Hand-made map: region sums are 0: 6, 1: -3, 2: 12, 3: 0.5
    const map = [1, 1, 1, -1, -1, -1, 1, 1, 1, 0, 0, 0, 2, 2, 2, 0.5, 0, 0, 2, 2, 2, 0, 0, 0];
    const scores = regionScores(poolChannels(map, g, 'sum'), grid);
    expect(Array.from(scores)).toEqual([6, -3, 12, 0.5]);
    const morf = morfOrder(scores);
    expect(Array.from(morf)).toEqual([2, 0, 3, 1]);
    expect(Array.from(reversed(morf))).toEqual([1, 3, 0, 2]);
    // Pooling by absolute value changes the order: |-3| ranks above 0.5.
    expect(Array.from(morfOrder(regionScores(poolChannels(map, g, 'abs'), grid)))).toEqual([2, 0, 1, 3]);
  });

  it('breaks ties by the given keys, else by region index', () => {
    expect(Array.from(morfOrder([1, 0, 0, 0, 2]))).toEqual([4, 0, 1, 2, 3]);
    expect(Array.from(morfOrder([1, 0, 0, 0, 2], [0, 3, 1, 2, 4]))).toEqual([4, 0, 2, 3, 1]);
  });

  it('pools channels (sum, l2) for multi-channel maps in both layouts', () => {
    const chw = imageGeometry([1, 2, 1, 2]);
    expect(Array.from(poolChannels([3, 1, 4, -1], chw, 'sum'))).toEqual([7, 0]);
    expect(Array.from(poolChannels([3, 1, 4, -1], chw, 'l2'))).toEqual([5, Math.SQRT2]);
    const hwc = imageGeometry([1, 1, 2, 2], 'nhwc');
    expect(Array.from(poolChannels([3, 4, 1, -1], hwc, 'sum'))).toEqual([7, 0]);
  });

  it('rejects region sizes that do not divide or exceed the image', () => {
    expect(() => regionGrid(imageGeometry([1, 1, 28, 28]), [3, 3])).toThrow(/does not divide the 28x28 image.*1, 2, 4, 7, 14, 28/);
    expect(() => regionGrid(imageGeometry([1, 1, 28, 28]), [29, 29])).toThrow(/exceeds the image/);
    expect(() => regionGrid(imageGeometry([1, 1, 28, 28]), [0, 2])).toThrow(/positive/);
  });
});

describe('AOPC', () => {
  it('follows the paper: 1/(L+1) Σ_{k=0..L} (f(x0) − f(xk))', () => {
    // f = 10, 6, 4, 2 → drops 0, 4, 6, 8 → AOPC = 18 / 4
    expect(aopc([10, 6, 4, 2])).toBeCloseTo(4.5, 12);
    expect(Array.from(aopcCurve([10, 6, 4, 2]))).toEqual([0, 2, 10 / 3, 4.5]);
    expect(aopc([3, 3, 3])).toBe(0);
    expect(aopc([1, 2, 3])).toBeCloseTo(-1, 12); // the score rising gives a negative area
  });

  it('mean and standard error over samples', () => {
    const r = meanSe([1, 2, 3, 4]);
    expect(r.mean).toBe(2.5);
    expect(r.se).toBeCloseTo(Math.sqrt(5 / 3 / 4), 12);
    expect(meanSe([7]).se).toBe(0);
  });
});

describe('replacement', () => {
  const g = imageGeometry([1, 2, 4, 4]);
  const x = Float32Array.from({ length: 32 }, (_, i) => (i < 16 ? 0.25 : 0.75) + (i % 2) * 0.1);

  it('zero, mean (per channel) and uniform noise in the given per-channel range', () => {
    expect(replacementImage(x, g, 'zero').every((v) => v === 0)).toBe(true);
    const m = replacementImage(x, g, 'mean');
    expect(m[0]).toBeCloseTo(0.3, 6);
    expect(m[20]).toBeCloseTo(0.8, 6);
    const u = replacementImage(x, g, 'uniform', {
      range: [
        [0, 1],
        [10, 11],
      ],
      rng: rngFor(1, 'test'),
    });
    expect(u.subarray(0, 16).every((v) => v >= 0 && v < 1)).toBe(true);
    expect(u.subarray(16).every((v) => v >= 10 && v < 11)).toBe(true);
    // Same seed and key, same noise; another key, other noise.
    expect(
      replacementImage(x, g, 'uniform', {
        range: [
          [0, 1],
          [10, 11],
        ],
        rng: rngFor(1, 'test'),
      }),
    ).toEqual(u);
    expect(
      replacementImage(x, g, 'uniform', {
        range: [
          [0, 1],
          [10, 11],
        ],
        rng: rngFor(2, 'test'),
      }),
    ).not.toEqual(u);
  });

  it('blur keeps constants, preserves the mean of a symmetric image and smooths an impulse', () => {
    const flat = new Float32Array(16).fill(0.5);
    const g1 = imageGeometry([1, 1, 4, 4]);
    for (const v of gaussianBlur(flat, g1, 1.5)) expect(v).toBeCloseTo(0.5, 6);
    const imp = new Float32Array(49);
    imp[24] = 1;
    const b = gaussianBlur(imp, imageGeometry([1, 1, 7, 7]), 1);
    expect(b[24]!).toBeLessThan(1);
    expect(b[24]!).toBeGreaterThan(b[23]!);
    expect(b[23]).toBeCloseTo(b[25]!, 6);
    expect(b[17]).toBeCloseTo(b[23]!, 6);
  });

  it('perturbs the regions of the order one by one, all channels, from the replacement image', () => {
    const grid = regionGrid(g, [2, 2]);
    const R = new Float32Array(32).fill(-1);
    const s = perturbationSeries(x, R, grid, [3, 0, 1, 2], 4);
    const row = (k: number) => s.subarray(k * 32, (k + 1) * 32);
    expect(row(0)).toEqual(x);
    const changed = (k: number) => Array.from(row(k)).flatMap((v, i) => (v === -1 ? [i] : []));
    expect(changed(1)).toEqual([10, 11, 14, 15, 26, 27, 30, 31]); // region 3 (bottom right), both channels
    expect(changed(2)).toEqual([0, 1, 4, 5, 10, 11, 14, 15, 16, 17, 20, 21, 26, 27, 30, 31]);
    expect(changed(4).length).toBe(32);
  });
});

describe('data loaders', () => {
  it('reads gzipped IDX images with the labels beside them', () => {
    const dir = join(tmp, 'idx');
    mkdirSync(dir, { recursive: true });
    const img = new Uint8Array(4 + 12 + 2 * 2 * 3);
    img.set([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
    img.set([0, 51, 255, 0, 0, 0, 102, 0, 0, 0, 0, 0], 16);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), gzipSync(img));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]));
    const set = loadIdxImages(join(dir, 't10k-images-idx3-ubyte.gz'));
    expect(set.images.dims).toEqual([2, 1, 2, 3]);
    expect((set.images.data as Float32Array)[1]).toBeCloseTo(0.2, 6);
    expect((set.images.data as Float32Array)[2]).toBe(1);
    expect(set.labels).toEqual([7, 3]);
    const ds = loadDataset(dir, { offset: 1 });
    expect(ds.x.dims).toEqual([1, 1, 2, 3]);
    expect(ds.labels).toEqual([3]);
    expect(ds.ids).toEqual([1]);
    expect(() => decodeIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 5, 1]))).toThrow(/holds 1/);
  });

  it('reads an image folder with one sub-folder per class, in sorted order', () => {
    const root = join(tmp, 'images');
    for (const [cls, name, v] of [
      ['bag', 'b.png', 200],
      ['bag', 'a.png', 100],
      ['coat', 'c.png', 50],
    ] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      // opaque: a transparent pixel would be composited over white
      const rgba = new Uint8Array(4 * 4 * 4).map((_, i) => (i % 4 === 3 ? 255 : v));
      writeFileSync(join(root, cls, name), encodePng(rgba, 4, 4));
    }
    const ds = loadDataset(root, { image: { channels: 1, size: [2, 2] } });
    expect(ds.x.dims).toEqual([3, 1, 2, 2]);
    expect(ds.labels).toEqual([0, 0, 1]);
    expect((ds.x.data as Float32Array)[0]).toBeCloseTo(100 / 255, 5); // bag/a.png first
    expect((ds.x.data as Float32Array)[8]).toBeCloseTo(50 / 255, 5);
  });
});

describe('evaluateRegionPerturbation', () => {
  const methods = ['lrp:epsilon-plus-flat', 'gradient', 'random'].map((m) => parseMethodSpec(m));
  const config = { methods, regionSize: [4, 4] as [number, number], steps: 12, chunkSize: 2 };

  it('gives the same records when stopped and resumed as in one uninterrupted run', async () => {
    const data = samples(5);
    const whole = await evaluateRegionPerturbation(MODEL, data, config, { threads: 1, forwardBatch: 64 });
    expect(whole.complete).toBe(true);
    expect(whole.records.length).toBe(15);
    const progressFile = join(tmp, 'progress.jsonl');
    const controller = new AbortController();
    // Stop as soon as the first chunk's work has started: that chunk finishes, the rest waits.
    const first = await evaluateRegionPerturbation(MODEL, data, config, {
      threads: 1,
      forwardBatch: 64,
      progressFile,
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 0) controller.abort();
      },
    });
    expect(first.complete).toBe(false);
    expect(first.samples).toBe(2);
    // A torn last line (a crash mid-write) is ignored.
    writeFileSync(progressFile, readFileSync(progressFile, 'utf8') + '{"kind":"sample","chunk":1,"i":2');
    const resumed = await evaluateRegionPerturbation(MODEL, data, config, { threads: 1, forwardBatch: 7, progressFile });
    expect(resumed.complete).toBe(true);
    expect(resumed.records).toEqual(whole.records);
    expect(resumed.methods.map((m) => m.morf.aopc.mean)).toEqual(whole.methods.map((m) => m.morf.aopc.mean));
    // The work of both runs adds up: every chunk's inferences once (5 samples × 3 methods × 2 orders × 12 steps).
    expect(resumed.timingAllChunks?.inferences).toBe(360);
    expect(resumed.timing.inferences).toBe(360 - first.timing.inferences);
    // LRP orders better than random here (sanity, not a benchmark), and the curves start at the clean score.
    const byLabel = Object.fromEntries(whole.methods.map((m) => [m.label, m]));
    expect(byLabel['lrp:epsilon-plus-flat']!.morf.drop.mean[0]).toBe(0);
    expect(byLabel['lrp:epsilon-plus-flat']!.complexity!.png.mean).toBeGreaterThan(0);
    expect(byLabel.random!.complexity).toBeUndefined();
    // Other settings: the progress file is refused.
    await expect(evaluateRegionPerturbation(MODEL, data, { ...config, seed: 1 }, { threads: 1, progressFile })).rejects.toThrow(/other settings.*--fresh/);
  });

  it('rejects an empty data set, bad region sizes, too many steps and unknown methods', async () => {
    const empty: Dataset = { x: { dtype: 'float32', dims: [0, 1, 28, 28], data: new Float32Array(0) } };
    await expect(evaluateRegionPerturbation(MODEL, empty, config)).rejects.toThrow(/empty/);
    await expect(evaluateRegionPerturbation(MODEL, samples(1), { ...config, regionSize: [5, 5] })).rejects.toThrow(/does not divide/);
    await expect(evaluateRegionPerturbation(MODEL, samples(1), { ...config, steps: 50 })).rejects.toThrow(/exceeds the number of 4x4 regions \(49\)/);
    expect(() => parseMethodSpec('lrp:nonsense')).toThrow(/neither a composite/);
    expect(() => parseMethodSpec('saliency')).toThrow(/unknown method "saliency"/);
    expect(() => parseMethodSpec('gradient@pool=median')).toThrow(/pool must be/);
  });
});

describe('relprop evaluate (CLI)', () => {
  it('evaluates the bundled model on a few samples and writes every output', async () => {
    const out = join(tmp, 'cli');
    const args = [
      'evaluate',
      '--model',
      MODEL,
      '--data',
      SAMPLES,
      '--out',
      out,
      '--limit',
      '4',
      '--methods',
      'lrp:epsilon-gamma-box,gradient-x-input,random',
      '--input-range',
      '0,1',
      '--region-size',
      '7',
      '--steps',
      '8',
      '--threads',
      '1',
      '--heatmap-samples',
      '3',
    ];
    const r = await relprop(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/4 samples, 7x7 regions, 8 steps/);
    for (const f of [
      'results.json',
      'aopc.csv',
      'curves.csv',
      'samples.csv',
      'table.md',
      'curves.svg',
      'curves.png',
      'heatmaps.png',
      'heatmaps-labelled.png',
      'heatmaps-labelled.svg',
      'progress.jsonl',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.complete).toBe(true);
    expect(res.settings.regions).toBe(16);
    expect(res.methods.map((m: { label: string }) => m.label)).toEqual(['lrp:epsilon-gamma-box', 'gradient-x-input', 'random']);
    expect(res.methods[0].morf.score.mean.length).toBe(9);
    expect(res.heatmapGrid.rows).toEqual(['input', 'lrp:epsilon-gamma-box', 'gradient-x-input']);
    const csv = readFileSync(join(out, 'aopc.csv'), 'utf8').trim().split('\n');
    expect(csv.length).toBe(4);
    expect(csv[0]).toMatch(/^method,pooling,n,aopc_morf,aopc_morf_se,aopc_lerf/);
    expect(readFileSync(join(out, 'curves.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'curves.png')).subarray(1, 4).toString()).toBe('PNG');
    // Second run: every chunk is in the progress file, nothing is recomputed.
    const again = await relprop([...args, '--no-plot']);
    expect(again.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).timing.inferences).toBe(0);
  });

  it('reads the Fashion-MNIST IDX folder with its labels', async () => {
    const out = join(tmp, 'idx-cli');
    const r = await relprop([
      'evaluate',
      '--model',
      MODEL,
      '--data',
      FMNIST_TINY,
      '--out',
      out,
      '--limit',
      '3',
      '--methods',
      'gradient,random',
      '--region-size',
      '14',
      '--threads',
      '1',
      '--target',
      'label',
      '--no-plot',
      '--heatmap-samples',
      '0',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/3 samples \(accuracy/);
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.settings.steps).toBe(4);
    expect(res.settings.target).toBe('label');
  });

  it('fails with a clear message and a non-zero exit on bad input', async () => {
    const notScores = join(tmp, 'features.onnx');
    const g = decodeModel(readFileSync(MODEL));
    const cut = g.nodes.findIndex((n) => n.op === 'Relu');
    g.nodes = g.nodes.slice(0, cut + 1);
    g.outputs = [{ name: g.nodes[cut]!.outputs[0]!, elemType: 1, shape: ['batch', 16, 28, 28] }];
    const used = new Set(g.nodes.flatMap((n) => n.inputs));
    for (const k of [...g.initializers.keys()]) if (!used.has(k)) g.initializers.delete(k);
    writeFileSync(notScores, encodeModel(g));
    const emptyNpy = join(tmp, 'empty.npy');
    writeFileSync(emptyNpy, encodeNpy({ dtype: 'float32', dims: [0, 1, 28, 28], data: new Float32Array(0) }));
    const base = ['evaluate', '--model', MODEL, '--data', SAMPLES, '--out', join(tmp, 'bad'), '--threads', '1', '--no-plot'];
    const cases: [string[], RegExp][] = [
      [['--methods', 'gradient,magic'], /unknown method "magic"/],
      [['--region-size', '5'], /region size 5x5 does not divide the 28x28 image/],
      [['--region-size', '56'], /region size 56x56 exceeds the image/],
      [['--region-size', 'big'], /region size needs a positive integer/],
      [['--data', emptyNpy], /empty/],
      [['--data', join(tmp, 'missing.npy')], /does not exist/],
      [['--model', notScores, '--methods', 'random'], /output .* has shape \[1,\d+,28,28\].*class scores/],
    ];
    for (const [args, msg] of cases) {
      const r = await relprop([...base, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(r.stderr.trim().split('\n').length, args.join(' ')).toBe(1);
    }
  });
});

describe('the deep Taylor baselines as evaluate methods', () => {
  it('sensitivity and taylor: a gradient explainer; taylor in the given box or the input range; bad settings refused', () => {
    expect(parseMethodSpec('sensitivity')).toMatchObject({ method: 'sensitivity', pooling: 'sum', options: { method: 'gradient' } });
    expect(parseMethodSpec('taylor@low=0@high=1').options?.inputRange).toEqual([0, 1]);
    expect(parseMethodSpec('taylor', { inputRange: [-1, 2] }).options?.inputRange).toEqual([-1, 2]);
    expect(parseMethodSpec('sensitivity@pool=abs').pooling).toBe('abs');
    expect(() => parseMethodSpec('taylor@low=0')).toThrow(/both low and high/);
    expect(() => parseMethodSpec('taylor@low=2@high=1')).toThrow(/low ≤ high/);
    expect(() => parseMethodSpec('sensitivity@epsilon=1')).toThrow(/sensitivity takes @pool, not @epsilon/);
    expect(() => parseMethodSpec('taylor:epsilon')).toThrow(/takes no variant/);
    expect(() => parseMethodSpec('sensitivty')).toThrow(/did you mean "sensitivity"/);
  });

  it('ranks regions by the maps the explain API gives: squared gradients, and Taylor terms at the root', async () => {
    const data = samples(3);
    const methods = ['sensitivity', 'taylor@low=0@high=1'].map((m) => parseMethodSpec(m));
    const res = await evaluateRegionPerturbation(MODEL, data, { methods, regionSize: [4, 4], steps: 4, chunkSize: 3 }, { threads: 1, heatmapSamples: 3 });
    const ex = await Explainer.create(MODEL, { method: 'gradient', threads: 1 });
    try {
      const targets = res.heatmaps!.targets;
      const sens = await sensitivity(ex, data.x, { target: targets });
      const tay = await nearestRootTaylor(ex, data.x, { target: targets, low: 0, high: 1 });
      for (const [label, want] of [
        ['sensitivity', sens.relevance.data],
        ['taylor@low=0@high=1', tay.relevance.data],
      ] as const) {
        const maps = res.heatmaps!.maps.find((m) => m.label === label)!.maps;
        for (let i = 0; i < 3; i++) {
          const w = (want as Float32Array).subarray(i * 784, (i + 1) * 784);
          expect(relL2(Float32Array.from(maps[i]!), w), `${label} sample ${i}`).toBeLessThan(1e-6);
        }
      }
      // Sensitivity is not a decomposition: every map is ≥ 0.
      expect(Math.min(...(sens.relevance.data as Float32Array))).toBeGreaterThanOrEqual(0);
    } finally {
      await ex.release();
    }
  });

  it('CLI: taylor without a box names what to pass; with the card it says where the box came from', async () => {
    const bare = join(tmp, 'bare-model.onnx');
    writeFileSync(bare, readFileSync(MODEL)); // no card beside it
    const r = await relprop(['evaluate', '--model', bare, '--data', SAMPLES, '--out', join(tmp, 'tay-none'), '--methods', 'taylor', '--limit', '2', '--quiet']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^relprop: error: method "taylor": taylor searches the root in the input box: pass --input-range LO,HI/);
    expect(existsSync(join(tmp, 'tay-none'))).toBe(false);
    const ok = await relprop([
      'evaluate',
      '--model',
      MODEL,
      '--data',
      SAMPLES,
      '--out',
      join(tmp, 'tay'),
      '--methods',
      'sensitivity,taylor,random',
      '--limit',
      '2',
      '--region-size',
      '7',
      '--steps',
      '4',
      '--heatmap-samples',
      '0',
      '--threads',
      '1',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/box bounds of taylor from input range \[0, 1\] in .*fmnist-cnn\.json/);
    const results = JSON.parse(readFileSync(join(tmp, 'tay', 'results.json'), 'utf8'));
    expect(results.methods.map((m: { label: string }) => m.label)).toEqual(['sensitivity', 'taylor', 'random']);
  });
});
