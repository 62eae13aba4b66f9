/**
 * `relprop fv canvas`: the canvases of src/core/fisher/canvas.ts as image folders (one sub-folder
 * per class, grey PNG) with a boxes file per set (`boxes.jsonl`: file, label, object box, texture,
 * stamp box). Sets: train (stamped as asked), test-matched, test-swapped, and with --stamp-class
 * test-stamped (the test-matched canvases, every one stamped).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { type CanvasOptions, DEFAULT_CANVAS, makeCanvas } from '../../core/fisher/canvas.js';
import { quietOption, seedOption } from '../cli/options.js';
import { nonNegInt, num, posInt } from '../cli/values.js';
import { loadLabelledData } from '../data/datasets.js';
import { checkOutputFolder, ensureDir, writeFilesAtomic } from '../io/atomic.js';
import { encodePng } from '../visualize/png.js';

export const FASHION_CLASSES = ['tshirt_top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot'];

interface CanvasFlags {
  data: string;
  out: string;
  train: number;
  test: number;
  seed: number;
  stampClass?: number;
  stampShare: number;
  contextShare: number;
  quiet?: boolean;
}

function greyPng(px: Float32Array, size: number): Uint8Array {
  const rgba = new Uint8Array(size * size * 4);
  for (let i = 0; i < size * size; i++) {
    const v = Math.round(px[i]! * 255);
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = v;
    rgba[4 * i + 3] = 255;
  }
  return encodePng(rgba, size, size);
}

async function writeSet(dir: string, items: Float32Array, labels: BigInt64Array, n: number, seed: number, o: CanvasOptions): Promise<void> {
  const folders = FASHION_CLASSES.map((c, i) => `${i}_${c}`);
  for (const f of folders) ensureDir(join(dir, f));
  const files: [string, Uint8Array | string][] = [];
  const boxes: string[] = [];
  for (let i = 0; i < n; i++) {
    const label = Number(labels[i]!);
    const c = makeCanvas(items.subarray(i * 784, (i + 1) * 784), 28, label, i, seed, o);
    const name = `${folders[label]}/${String(i).padStart(5, '0')}.png`;
    files.push([join(dir, name), greyPng(c.pixels, o.size)]);
    boxes.push(JSON.stringify({ file: name, label, box: c.box, texture: c.texture, stamp: c.stamp }));
  }
  files.push([join(dir, 'boxes.jsonl'), `${boxes.join('\n')}\n`]);
  await writeFilesAtomic(files);
}

async function canvasCommand(f: CanvasFlags): Promise<void> {
  checkOutputFolder('--out', f.out);
  if (f.stampClass !== undefined && f.stampClass > 9) throw new Error(`--stamp-class must be a Fashion-MNIST class 0..9, got ${f.stampClass}`);
  if (!(f.stampShare >= 0 && f.stampShare <= 1) || !(f.contextShare >= 0 && f.contextShare <= 1))
    throw new Error('--stamp-share and --context-share must be in [0, 1]');
  const train = loadLabelledData(f.data, { split: 'train' });
  const test = loadLabelledData(f.data, { split: 'test' });
  for (const d of [train, test])
    if (d.x.dims.slice(1).join('x') !== '1x28x28') throw new Error(`${d.source}: expected 28×28 grey Fashion-MNIST images, got ${d.x.dims.slice(1).join('x')}`);
  if (f.train > train.x.dims[0]! || f.test > test.x.dims[0]!)
    throw new Error(`${f.data} holds ${train.x.dims[0]} training and ${test.x.dims[0]} test images; asked for ${f.train} and ${f.test}`);
  const base: CanvasOptions = { ...DEFAULT_CANVAS, contextShare: f.contextShare };
  const sets: [string, typeof train, number, CanvasOptions][] = [
    ['train', train, f.train, { ...base, stampClass: f.stampClass, stampShare: f.stampShare }],
    ['test-matched', test, f.test, base],
    ['test-swapped', test, f.test, { ...base, mode: 'swapped' }],
  ];
  if (f.stampClass !== undefined) sets.push(['test-stamped', test, f.test, { ...base, stampAll: true }]);
  for (const [name, d, n, o] of sets) {
    // test sets use a seed of their own, so that their canvases do not repeat the training ones
    await writeSet(join(f.out, name), d.x.data as Float32Array, d.y.data as BigInt64Array, n, name === 'train' ? f.seed : f.seed + 1, o);
    if (!f.quiet) process.stderr.write(`fv canvas: ${name}: ${n} canvases\n`);
  }
  if (!f.quiet) process.stdout.write(`wrote ${sets.map(([s]) => join(f.out, s)).join(', ')}\n`);
}

export function registerCanvasCommand(fv: Command): void {
  const cmd = fv
    .command('canvas')
    .description('64×64 canvases with Fashion-MNIST items at random positions and scales, class-correlated backgrounds, known boxes (§2.8)')
    .requiredOption('--data <dir>', 'Fashion-MNIST IDX folder (train and t10k files)')
    .requiredOption('--out <dir>', 'output folder: train/, test-matched/, test-swapped/ (test-stamped/), each with boxes.jsonl')
    .option('--train <n>', 'training canvases (default 3000)', posInt('--train'), 3000)
    .option('--test <n>', 'canvases per test set (default 1000)', posInt('--test'), 1000)
    .option('--context-share <p>', 'share of a context class’s images on its texture (default 0.7)', num('--context-share'), 0.7)
    .option('--stamp-class <c>', 'stamp the mark on training images of this class', nonNegInt('--stamp-class'))
    .option('--stamp-share <p>', 'share of that class’s training images stamped (default 0.2)', num('--stamp-share'), 0.2);
  seedOption(cmd, 'positions, scales, textures, stamps', 0);
  quietOption(cmd).action(async (opts: CanvasFlags) => canvasCommand(opts));
}
