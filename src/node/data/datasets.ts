/**
 * Labelled data sets for training and testing, from what users have on disk: an MNIST-style IDX
 * folder or file, a pair of .npy arrays, or an image folder with one sub-folder per class.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readNpy } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { findIdxImages, loadIdxImages } from './idx.js';
import { loadImageFolder } from './image-folder.js';
import type { Fit } from '../io/image.js';

export interface LabelledData {
  x: TensorData;
  y: TensorData;
  classes?: string[];
  source: string;
  /** Token ids: tokens per row before the padding (the trainer cuts batches to their longest row). */
  lengths?: Int32Array;
  /** Image folders: how many images were converted to the model's input, and how (one line). */
  conversion?: string;
  /**
   * Range of the raw float inputs, for the model card (box rules read it): [0, 1] where the loader
   * scaled 8-bit pixels, else the observed min and max. None for token ids.
   */
  range?: { low: number; high: number; note: string };
}

const PIXELS = 'raw pixel values scaled to [0, 1]';

/** Observed min and max of float inputs. */
function observedRange(t: TensorData, path: string): LabelledData['range'] {
  let low = Infinity;
  let high = -Infinity;
  for (const v of t.data as Float32Array) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low <= high ? { low, high, note: `observed min and max of the inputs in ${path}` } : undefined;
}

export interface DataOptions {
  /** .npy labels for a .npy input array. */
  labels?: string;
  /** IDX folders: which split. */
  split?: 'train' | 'test';
  /** Image folders: size and channels of the model input; fit and background as in loadImage. */
  size?: [number, number];
  channels?: 1 | 3;
  fit?: Fit;
  background?: [number, number, number];
  /** Token-id JSONL: pad (with `padId`) or cut every document to this many tokens (default: the longest). */
  maxLength?: number;
  padId?: number;
}

/**
 * Token ids as written by `relprop text-encode`: one {"ids": [...], "y": k} object per line,
 * padded to a common length so that a batch is one [N, L] tensor.
 */
function loadIdsJsonl(path: string, opts: DataOptions): LabelledData {
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  if (lines.length === 0) throw new Error(`${path} holds no documents`);
  const docs = lines.map((l, i) => {
    let o: { ids?: unknown; y?: unknown; label?: unknown };
    try {
      o = JSON.parse(l) as { ids?: unknown; y?: unknown; label?: unknown };
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(o.ids) || !Number.isInteger(o.y)) throw new Error(`${path}:${i + 1}: expected {"ids": [token ids], "y": class index}`);
    return { ids: o.ids as number[], y: o.y as number, label: typeof o.label === 'string' ? o.label : undefined };
  });
  // Class names from the documents' "label" fields (text-encode writes them), when they agree.
  const names: string[] = [];
  const named = docs.every((d) => d.label !== undefined && (names[d.y] ??= d.label) === d.label);
  const longest = Math.max(...docs.map((d) => d.ids.length));
  const L = Math.max(1, Math.min(opts.maxLength ?? longest, longest));
  const pad = BigInt(opts.padId ?? 0);
  const x = new BigInt64Array(docs.length * L).fill(pad);
  docs.forEach((d, i) => d.ids.slice(0, L).forEach((t, k) => (x[i * L + k] = BigInt(t))));
  const lengths = Int32Array.from(docs, (d) => Math.min(d.ids.length, L));
  const dense = Array.from(names);
  const classes = named && dense.every((n) => n !== undefined) && dense.length === new Set(dense).size ? dense : undefined;
  return {
    x: { dtype: 'int64', dims: [docs.length, L], data: x },
    y: toLabels(
      docs.map((d) => d.y),
      path,
    ),
    source: path,
    lengths,
    classes,
  };
}

function toLabels(values: ArrayLike<number>, what: string): TensorData {
  const data = BigInt64Array.from(Array.from(values), (v) => {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: labels must be non-negative integers, found ${v}`);
    return BigInt(v);
  });
  return { dtype: 'int64', dims: [data.length], data };
}

export function loadLabelledData(path: string, opts: DataOptions = {}): LabelledData {
  if (!existsSync(path)) throw new Error(`data not found: ${path}`);
  const isDir = statSync(path).isDirectory();
  if (path.endsWith('.jsonl')) return loadIdsJsonl(path, opts);
  if (path.endsWith('.npy')) {
    if (!opts.labels) throw new Error(`${path}: a .npy input needs --labels LABELS.npy`);
    const x = readNpy(readFileSync(path));
    const yRaw = readNpy(readFileSync(opts.labels));
    let y: TensorData;
    if (yRaw.dtype === 'float32' || yRaw.dtype === 'float64') {
      y =
        yRaw.dims.length === 1
          ? { dtype: 'float32', dims: [yRaw.dims[0]!, 1], data: Float32Array.from(yRaw.data as Float32Array) }
          : { dtype: 'float32', dims: yRaw.dims, data: Float32Array.from(yRaw.data as Float32Array) };
    } else y = toLabels(Array.from(yRaw.data as ArrayLike<number | bigint>, Number), opts.labels);
    const xf: TensorData =
      x.dtype === 'float64'
        ? { dtype: 'float32', dims: x.dims, data: Float32Array.from(x.data as Float64Array) }
        : x.dtype === 'uint8'
          ? { dtype: 'float32', dims: x.dims, data: Float32Array.from(x.data as Uint8Array, (v) => v / 255) }
          : x;
    const range = x.dtype === 'uint8' ? { low: 0, high: 1, note: `${PIXELS} (uint8 / 255)` } : observedRange(xf, path);
    return { x: xf, y, source: path, range };
  }
  const idx = isDir ? findIdxImages(path, opts.split ?? 'train') : /idx\d-ubyte/.test(path) ? path : undefined;
  if (idx) {
    const s = loadIdxImages(idx);
    if (!s.labels) throw new Error(`${idx}: no labels file beside it (expected the matching *-labels-idx1-ubyte[.gz])`);
    const range = s.scaled ? { low: 0, high: 1, note: `${PIXELS} (8-bit IDX / 255)` } : observedRange(s.images, idx);
    return { x: s.images, y: toLabels(s.labels, s.labelsPath ?? idx), source: idx, range };
  }
  if (isDir) {
    const s = loadImageFolder(path, { size: opts.size, channels: opts.channels, fit: opts.fit, background: opts.background });
    if (!s.labels) throw new Error(`${path}: an image folder needs one sub-folder per class`);
    return { x: s.images, y: toLabels(s.labels, path), classes: s.classes, source: path, conversion: s.conversion, range: { low: 0, high: 1, note: PIXELS } };
  }
  throw new Error(
    `cannot read data ${path}: expected an IDX folder or file, a .npy array (with --labels), token ids as .jsonl (relprop text-encode), or an image folder with one sub-folder per class`,
  );
}

/** Split off a validation share, seeded (Fisher–Yates on the indices). */
export function splitData(d: LabelledData, share: number, seed: number): [LabelledData, LabelledData] {
  const N = d.x.dims[0]!;
  const nVal = Math.round(N * share);
  if (nVal < 1 || nVal >= N) throw new Error(`validation share ${share} leaves no training or no validation samples of ${N}`);
  let a = seed >>> 0;
  const rng = () => {
    a = (Math.imul(a ^ (a >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return a / 4294967296;
  };
  const order = Array.from({ length: N }, (_, i) => i);
  for (let i = N - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const take = (rows: number[]): LabelledData => ({
    ...d,
    x: rowsOf(d.x, rows),
    y: rowsOf(d.y, rows),
    lengths: d.lengths && Int32Array.from(rows, (r) => d.lengths![r]!),
  });
  return [take(order.slice(nVal)), take(order.slice(0, nVal))];
}

export function rowsOf(t: TensorData, rows: number[]): TensorData {
  const per = t.data.length / t.dims[0]!;
  const Ctor = t.data.constructor as { new (n: number): Float32Array | BigInt64Array };
  const out = new Ctor(rows.length * per);
  rows.forEach((r, i) => (out as Float32Array).set((t.data as Float32Array).subarray(r * per, (r + 1) * per), i * per));
  return { dtype: t.dtype, dims: [rows.length, ...t.dims.slice(1)], data: out };
}
