/**
 * Data sets for evaluation: an IDX images file (Fashion-MNIST style, labels found beside it), a
 * folder of IDX files (the `t10k` test split by default), a `.npy` array (first axis = samples,
 * optional labels `.npy`), or a folder of PNG/JPEG images (flat or one sub-folder per class).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { decodeIdx, findIdxImages, loadIdxImages } from '../data/idx.js';
import { loadImageFolder } from '../data/image-folder.js';
import type { ImageOptions } from '../io/image.js';
import { readNpy } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { Dataset } from '../../core/evaluate/region-perturbation.js';

export interface DatasetOptions {
  /** First sample (default 0) and number of samples (default all). */
  offset?: number;
  limit?: number;
  /** Labels file (.npy or IDX) when they are not found automatically. */
  labels?: string;
  /** IDX folders: which split (default test). */
  split?: 'test' | 'train';
  /** Image folders: decoding options (size, channels, layout, scale, mean, std). */
  image?: ImageOptions;
}

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readLabels(path: string): number[] {
  const bytes = readBytes(path);
  if (extname(path).toLowerCase() === '.npy') {
    const t = readNpy(bytes);
    if (t.dims.length !== 1) throw new Error(`${path}: labels must be a 1-D array, got shape ${JSON.stringify(t.dims)}`);
    return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
  }
  const a = decodeIdx(bytes, path);
  if (a.dims.length !== 1) throw new Error(`${path}: labels must be 1-D, got shape ${JSON.stringify(a.dims)}`);
  return Array.from(a.data as ArrayLike<number>);
}

function toFloat32(t: TensorData, path: string): TensorData {
  if (t.dtype === 'float32') return t;
  if (t.dtype === 'float64') return { dtype: 'float32', dims: t.dims, data: Float32Array.from(t.data as Float64Array) };
  throw new Error(`${path} holds ${t.dtype} values; give float32 (or float64) images already in the model's input range`);
}

function slice(x: TensorData, labels: number[] | undefined, offset: number, limit: number | undefined, source: string): Dataset {
  const N = x.dims[0] ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`offset must be an integer ≥ 0, got ${offset}`);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`limit must be a positive integer, got ${limit}`);
  if (labels && labels.length !== N) throw new Error(`${source}: ${labels.length} labels for ${N} samples`);
  const end = limit === undefined ? N : Math.min(N, offset + limit);
  const n = Math.max(0, end - offset);
  const per = N > 0 ? x.data.length / N : 0;
  return {
    x: { dtype: 'float32', dims: [n, ...x.dims.slice(1)], data: (x.data as Float32Array).slice(offset * per, (offset + n) * per) },
    labels: labels?.slice(offset, offset + n),
    ids: Array.from({ length: n }, (_, i) => offset + i),
    source,
  };
}

export function loadDataset(path: string, opts: DatasetOptions = {}): Dataset & { conversion?: string } {
  if (!existsSync(path)) throw new Error(`data set ${path} does not exist`);
  const offset = opts.offset ?? 0;
  const labelsOverride = opts.labels ? readLabels(opts.labels) : undefined;
  if (statSync(path).isDirectory()) {
    const idx = findIdxImages(path, opts.split ?? 'test');
    if (idx) {
      const set = loadIdxImages(idx);
      return slice(set.images, labelsOverride ?? set.labels, offset, opts.limit, idx);
    }
    const set = loadImageFolder(path, { ...opts.image, offset, limit: opts.limit });
    const n = set.images.dims[0]!;
    return {
      x: set.images,
      labels: labelsOverride ? labelsOverride.slice(offset, offset + n) : set.labels,
      ids: Array.from({ length: n }, (_, i) => offset + i),
      source: path,
      conversion: set.conversion,
    };
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    let t: TensorData;
    try {
      t = readNpy(readBytes(path));
    } catch (e) {
      throw new Error(`cannot read ${path}: ${(e as Error).message}`);
    }
    return slice(toFloat32(t, path), labelsOverride, offset, opts.limit, path);
  }
  const bytes = readBytes(path);
  const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gz || (bytes[0] === 0 && bytes[1] === 0)) {
    const set = loadIdxImages(path);
    return slice(set.images, labelsOverride ?? set.labels, offset, opts.limit, path);
  }
  throw new Error(`cannot read data set ${path}: expected an IDX file (.gz or raw), a folder of IDX files, a .npy array or a folder of PNG/JPEG images`);
}
