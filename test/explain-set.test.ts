/**
 * `relprop explain --data`: a data set explained a batch at a time into a folder. The relevance
 * of every sample equals the API's on the same inputs, whatever the source (.npy, raw or gzipped
 * IDX, image folder) and batch size; a run stopped (Ctrl-C) or failed part-way resumes to the
 * same files as an uninterrupted one; bad input is one error line with nothing left behind.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy, Explainer, readNpy } from '../src/node/index.js';
import { CLI, relprop } from './helpers/cli.js';
import { relL2 } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLES = join(ROOT, 'models', 'samples');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-explain-set-'));
const N = 40;
const px = new Uint8Array(N * 784);
const labels = new Uint8Array(N);

/** IDX bytes: magic (type, rank), big-endian dims, data. */
function idx(type: number, dims: number[], data: Uint8Array): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  head.set([0, 0, type, dims.length]);
  const dv = new DataView(head.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(head.length + data.length);
  out.set(head);
  out.set(data, head.length);
  return out;
}

const readRel = (dir: string) => readNpy(readFileSync(join(dir, 'relevance.npy')));
const csvRows = (dir: string) =>
  readFileSync(join(dir, 'samples.csv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));

let want: Float32Array;
let wantPredicted: number[];

beforeAll(async () => {
  // The eight bundled samples as 8-bit pixels, shifted and brightened so that the 40 differ.
  const s = readNpy(readFileSync(join(SAMPLES, 'samples.npy'))).data as Float32Array;
  for (let i = 0; i < N; i++) {
    const src = i % 8;
    const shift = Math.floor(i / 8);
    for (let p = 0; p < 784; p++) {
      const q = p - shift;
      px[i * 784 + p] = q >= 0 ? Math.min(255, Math.round(s[src * 784 + q]! * 255 * (1 + 0.05 * shift))) : 0;
    }
    labels[i] = (i * 7) % 10;
  }
  const ex = await Explainer.create(MODEL, { threads: 1 });
  const r = await ex.explain({ dtype: 'float32', dims: [N, 1, 28, 28], data: Float32Array.from(px, (v) => v / 255) }, { target: Array.from(labels) });
  want = r.relevance.data as Float32Array;
  wantPredicted = r.predicted;
  await ex.release();
  writeFileSync(join(tmp, 'x.npy'), encodeNpy({ dtype: 'uint8', dims: [N, 1, 28, 28], data: px }));
  writeFileSync(join(tmp, 'y.npy'), encodeNpy({ dtype: 'int64', dims: [N], data: BigInt64Array.from(labels, BigInt) }));
  for (const [dir, gz] of [
    ['idx-raw', false],
    ['idx-gz', true],
  ] as const) {
    mkdirSync(join(tmp, dir));
    const images = idx(0x08, [N, 28, 28], px);
    const lab = idx(0x08, [N], labels);
    writeFileSync(join(tmp, dir, `t10k-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(images) : images);
    writeFileSync(join(tmp, dir, `t10k-labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(lab) : lab);
  }
});

describe('relprop explain --data', () => {
  it('a .npy set with labels: every sample as the API explains it, in batches, with CSV and summary', async () => {
    const out = join(tmp, 'npy-run');
    const r = await relprop([
      'explain',
      '--model',
      MODEL,
      '--data',
      join(tmp, 'x.npy'),
      '--labels',
      join(tmp, 'y.npy'),
      '--target',
      'label',
      '--out',
      out,
      '--batch-size',
      '16',
      '--threads',
      '1',
    ]);
    expect(r.stderr).toMatch(/inputs: uint8 values \/ 255/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^explained 40 samples \(40 in this run: [\d.]+ images\/s over [\d.]+ s\), accuracy [\d.]+%$/m);
    expect(readdirSync(out).sort()).toEqual(['relevance.npy', 'samples.csv', 'summary.json']);
    const rel = readRel(out);
    expect(rel.dims).toEqual([N, 1, 28, 28]);
    expect(relL2(rel.data as Float32Array, want)).toBeLessThan(1e-5);
    const rows = csvRows(out);
    expect(rows[0]).toEqual(['index', 'file', 'label', 'predicted', 'target', 'target_logit', 'relevance_sum', 'label_name', 'predicted_name', 'target_name']);
    expect(rows.slice(1).map((c) => Number(c[0]))).toEqual([...Array(N).keys()]);
    expect(rows.slice(1).map((c) => Number(c[4]))).toEqual(Array.from(labels));
    expect(rows.slice(1).map((c) => Number(c[3]))).toEqual(wantPredicted);
    // the relevance sum column is the sum of that sample's row of relevance.npy
    const d = rel.data as Float32Array;
    for (const i of [0, 17, 39]) {
      let sum = 0;
      for (let k = i * 784; k < (i + 1) * 784; k++) sum += d[k]!;
      expect(Number(rows[i + 1]![6])).toBeCloseTo(sum, 4);
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const acc = wantPredicted.filter((p, i) => p === labels[i]).length / N;
    expect(summary).toMatchObject({ samples: N, method: 'lrp', composite: 'epsilon-plus-flat', target: 'label', accuracy: acc, sample_shape: [1, 28, 28] });
    expect(summary.images_per_second).toBeGreaterThan(0);
  });

  it('IDX folders, raw and gzipped, give the same relevance; --offset and --limit pick the rows', async () => {
    for (const dir of ['idx-raw', 'idx-gz']) {
      const out = join(tmp, `${dir}-run`);
      const r = await relprop([
        'explain',
        '--model',
        MODEL,
        '--data',
        join(tmp, dir),
        '--target',
        'label',
        '--out',
        out,
        '--offset',
        '5',
        '--limit',
        '30',
        '--batch-size',
        '7',
        '--threads',
        '1',
      ]);
      expect(r.stderr).toMatch(/8-bit IDX pixels \/ 255/);
      expect(r.code).toBe(0);
      const rel = readRel(out);
      expect(rel.dims).toEqual([30, 1, 28, 28]);
      expect(relL2(rel.data as Float32Array, want.subarray(5 * 784, 35 * 784))).toBeLessThan(1e-5);
      const rows = csvRows(out).slice(1);
      expect(rows.map((c) => Number(c[0]))).toEqual(Array.from({ length: 30 }, (_, i) => 5 + i));
      expect(rows.map((c) => Number(c[2]))).toEqual(Array.from(labels.subarray(5, 35)));
    }
  });

  it('an image folder with class sub-folders: files, labels, heatmaps; a bad image fails the run, which resumes after the fix', async () => {
    const data = join(tmp, 'images');
    const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.png'));
    for (const [i, f] of files.entries()) {
      const cls = i < 4 ? 'a' : 'b';
      mkdirSync(join(data, cls), { recursive: true });
      copyFileSync(join(SAMPLES, f), join(data, cls, f));
    }
    // the 7th file (sorted within b) does not decode
    const broken = join(data, 'b', readdirSync(join(data, 'b')).sort()[2]!);
    const good = readFileSync(broken);
    writeFileSync(broken, 'not a png');
    const out = join(tmp, 'images-run');
    const args = ['explain', '--model', MODEL, '--data', data, '--out', out, '--heatmaps', '--batch-size', '3', '--threads', '1'];
    const r1 = await relprop(args);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr.trim().split('\n')).toHaveLength(1);
    expect(r1.stderr).toMatch(/^relprop: error: cannot read image .*: .*; the 6 samples before are kept: run the same command again to resume/);
    expect(readdirSync(out).sort()).toEqual(['heatmaps', 'progress.json', 'relevance.npy.partial', 'samples.csv.partial']);
    writeFileSync(broken, good);
    const r2 = await relprop(args);
    expect(r2.stderr).toMatch(/resuming at sample 6 of 8/);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toMatch(/explained 8 samples \(2 in this run/);
    // the same as one uninterrupted run
    const once = join(tmp, 'images-once');
    expect((await relprop(['explain', '--model', MODEL, '--data', data, '--out', once, '--batch-size', '8', '--threads', '1'])).code).toBe(0);
    expect(relL2(readRel(out).data as Float32Array, readRel(once).data as Float32Array)).toBeLessThan(1e-5);
    expect(readFileSync(join(out, 'samples.csv'), 'utf8').split('\n').length).toBe(10);
    const rows = csvRows(out).slice(1);
    expect(rows.map((c) => c[1])).toEqual(rows.map((c) => c[1]).sort());
    expect(rows.map((c) => c[1]!.split('/')[0])).toEqual(['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b']);
    expect(rows.map((c) => Number(c[2]))).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(readdirSync(join(out, 'heatmaps')).sort()).toEqual(rows.map((c, i) => `00000${i}-${c[1]!.split('/')[1]}`));
  });

  it('Ctrl-C stops after a batch; the same command resumes to the files of an uninterrupted run', async () => {
    const data = join(tmp, 'idx-raw');
    const out = join(tmp, 'sigint-run');
    const args = [
      CLI,
      'explain',
      '--model',
      MODEL,
      '--data',
      data,
      '--out',
      out,
      '--batch-size',
      '1',
      '--threads',
      '1',
      '--method',
      'integrated-gradients',
      '--steps',
      '128',
      '--limit',
      '20',
    ];
    const child = spawn('node', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // wait for two finished samples in the partial relevance (128-byte header, 784 floats each), then interrupt
    const partial = join(out, 'relevance.npy.partial');
    while (!existsSync(partial) || statSync(partial).size < 128 + 2 * 784 * 4) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(stderr).toMatch(/stopped after (\d+) of 20 samples; run the same command again to resume/);
    expect(code).toBe(130);
    const stoppedAt = Number(/stopped after (\d+)/.exec(stderr)![1]);
    expect(stoppedAt).toBeLessThan(20);
    const r = await relprop(args.slice(1));
    expect(r.stderr).toMatch(new RegExp(`resuming at sample ${stoppedAt} of 20`));
    expect(r.code).toBe(0);
    const once = join(tmp, 'sigint-once');
    expect((await relprop([...args.slice(1, 6), '--out', once, ...args.slice(8)])).code).toBe(0);
    expect(relL2(readRel(out).data as Float32Array, readRel(once).data as Float32Array)).toBeLessThan(1e-5);
    const [a, b] = [csvRows(out), csvRows(once)];
    expect(a.length).toBe(21);
    a.forEach((row, i) => {
      expect(row.slice(0, 5)).toEqual(b[i]!.slice(0, 5));
      if (i > 0) expect(Number(row[6])).toBeCloseTo(Number(b[i]![6]), 4);
    });
  });

  it('bad input: one error line, a non-zero exit and nothing written', async () => {
    const x = join(tmp, 'x.npy');
    const rgb = join(tmp, 'rgb.npy');
    writeFileSync(rgb, encodeNpy({ dtype: 'float32', dims: [4, 3, 28, 28], data: new Float32Array(4 * 3 * 784) }));
    const nonEmpty = join(tmp, 'non-empty');
    mkdirSync(nonEmpty);
    writeFileSync(join(nonEmpty, 'notes.txt'), 'mine');
    const cases: [string[], RegExp][] = [
      [['--data', x, '--input', x, '--out', join(tmp, 'e1')], /--input does not apply with --data: give either --input FILE or --data SET/],
      [['--out', join(tmp, 'e2')], /give --input FILE \(one input\) or --data SET/],
      [['--data', x, '--out', join(tmp, 'e3'), '--target', 'label'], /--target label: .*x\.npy has no labels/],
      [['--data', x, '--out', join(tmp, 'e4'), '--heatmap', 'h.png'], /--heatmap does not apply with --data: with --data, --heatmaps writes/],
      [['--data', x, '--out', join(tmp, 'e5'), '--target', '1,2'], /--target with --data takes "predicted", "label"/],
      [['--data', x, '--out', nonEmpty], /--out .*non-empty exists and is not empty; give a new folder/],
      [['--data', x, '--out', join(tmp, 'npy-run')], /--out .*npy-run holds a finished run \(relevance\.npy\); give a new folder/],
      [['--data', rgb, '--out', join(tmp, 'e6')], /input has shape \[4,3,28,28\] but the model expects \[\?, 1, 28, 28\]/],
      [['--data', join(tmp, 'missing.npy'), '--out', join(tmp, 'e7')], /data set .*missing\.npy does not exist/],
      [['--data', x, '--out', join(tmp, 'e8'), '--labels', join(tmp, 'x.npy')], /labels must be a 1-D integer array/],
      [['--data', x, '--out', join(tmp, 'e9'), '--offset', '40'], /holds 40 samples: nothing from offset 40/],
    ];
    for (const [args, msg] of cases) {
      const r = await relprop(['explain', '--model', MODEL, '--threads', '1', ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(msg);
    }
    for (const d of ['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']) expect(existsSync(join(tmp, d)), d).toBe(false);
    expect(readdirSync(nonEmpty)).toEqual(['notes.txt']);
  });

  it('an unfinished run with other settings is refused; --fresh starts over', async () => {
    const x = join(tmp, 'x.npy');
    const out = join(tmp, 'settings-run');
    mkdirSync(out);
    writeFileSync(
      join(out, 'progress.json'),
      JSON.stringify({ kind: 'relprop explain --data', version: 1, hash: 'other', done: 3, csvBytes: 0, seconds: 1, correct: 0 }),
    );
    const base = ['explain', '--model', MODEL, '--data', x, '--out', out, '--threads', '1', '--limit', '5'];
    const r = await relprop(base);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/holds an unfinished run with other settings .*pass --fresh to start over/);
    expect(readdirSync(out)).toEqual(['progress.json']);
    const f = await relprop([...base, '--fresh']);
    expect(f.code).toBe(0);
    expect(readRel(out).dims).toEqual([5, 1, 28, 28]);
    expect(readdirSync(out).sort()).toEqual(['relevance.npy', 'samples.csv', 'summary.json']);
  });
});
