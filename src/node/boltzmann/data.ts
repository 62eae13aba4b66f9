/**
 * Unlabelled binary data for Boltzmann machines: an IDX image file or MNIST-style folder (8-bit
 * pixels scaled to [0, 1]) or a .npy array (first axis = samples; uint8 scaled to [0, 1]),
 * flattened per sample and binarised as asked.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { rngFor } from '../../core/math/rng.js';
import { readNpy } from '../../core/onnx/npy.js';
import type { BinaryData } from '../../core/boltzmann/train.js';
import { checkBinary } from '../../core/boltzmann/rbm.js';
import { findIdxImages, loadIdxImages } from '../data/idx.js';

export type Binarize = 'threshold' | 'sample' | 'none';

export interface BinaryDataOptions {
  binarize: Binarize;
  /** IDX folders: which split. */
  split: 'train' | 'test';
  /** Use the first `limit` samples only. */
  limit?: number;
  /** Seed of the 'sample' binarisation. */
  seed: number;
}

function loadValues(path: string, split: 'train' | 'test'): { values: Float32Array; n: number } {
  if (!existsSync(path)) throw new Error(`data not found: ${path}`);
  if (path.endsWith('.npy')) {
    const t = readNpy(readFileSync(path));
    if (t.dtype === 'int64' || t.dtype === 'bool' || t.dims.length < 2)
      throw new Error(`${path}: expected a numeric array [samples, …], got ${t.dtype} ${JSON.stringify(t.dims)}`);
    const values = t.dtype === 'uint8' ? Float32Array.from(t.data as Uint8Array, (v) => v / 255) : Float32Array.from(t.data as ArrayLike<number>);
    return { values, n: t.dims[0]! };
  }
  const idx = statSync(path).isDirectory() ? findIdxImages(path, split) : /idx\d-ubyte/.test(path) ? path : undefined;
  if (!idx) throw new Error(`cannot read data ${path}: expected an IDX images file or folder, or a .npy array`);
  const s = loadIdxImages(idx);
  return { values: s.images.data as Float32Array, n: s.images.dims[0]! };
}

export function loadBinaryData(path: string, opts: BinaryDataOptions): BinaryData {
  const { values, n: total } = loadValues(path, opts.split);
  const nv = values.length / total;
  const n = Math.min(total, opts.limit ?? total);
  const x = values.slice(0, n * nv);
  if (opts.binarize === 'threshold') {
    for (let k = 0; k < x.length; k++) x[k] = x[k]! >= 0.5 ? 1 : 0;
  } else if (opts.binarize === 'sample') {
    for (let k = 0; k < x.length; k++) {
      if (!(x[k]! >= 0 && x[k]! <= 1)) throw new Error(`${path}: value ${k} is ${x[k]}, outside [0, 1]; --binarize sample draws each value as a probability`);
    }
    const rng = rngFor(opts.seed, 'binarize');
    for (let k = 0; k < x.length; k++) x[k] = rng() < x[k]! ? 1 : 0;
  } else {
    try {
      checkBinary(x, path);
    } catch (e) {
      throw new Error(
        `${(e as Error).message.replace(/binarise it first.*$/, '')}pass --binarize threshold (at 0.5) or --binarize sample (each value as a Bernoulli probability)`,
      );
    }
  }
  return { x, n, nv };
}
