/**
 * IDX files (the MNIST / Fashion-MNIST format), plain or gzipped: a big-endian magic
 * `0x0000 TT NN` (TT = element type, NN = number of dimensions), NN big-endian uint32 sizes,
 * then the elements in row-major order. http://yann.lecun.com/exdb/mnist/ describes the format.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join } from 'node:path';
import type { TensorData } from '../../core/onnx/tensor.js';

export interface IdxArray {
  dims: number[];
  /** Element type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. */
  type: number;
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { name: string; size: number }> = {
  0x08: { name: 'uint8', size: 1 },
  0x09: { name: 'int8', size: 1 },
  0x0b: { name: 'int16', size: 2 },
  0x0c: { name: 'int32', size: 4 },
  0x0d: { name: 'float32', size: 4 },
  0x0e: { name: 'float64', size: 8 },
};

/** Decode IDX bytes; gzip is recognised by its magic bytes (1f 8b), not by the file name. */
export function decodeIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  let b = bytes;
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = new Uint8Array(gunzipSync(b));
    } catch (e) {
      throw new Error(`${source}: cannot gunzip: ${(e as Error).message}`);
    }
  }
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) throw new Error(`${source} is not an IDX file (bad magic number)`);
  const type = b[2]!;
  const nd = b[3]!;
  const t = TYPES[type];
  if (!t) throw new Error(`${source}: unknown IDX element type 0x${type.toString(16)}`);
  if (nd < 1) throw new Error(`${source}: IDX file with 0 dimensions`);
  if (b.length < 4 + 4 * nd) throw new Error(`${source}: truncated IDX header`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < nd; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, d) => a * d, 1);
  const off = 4 + 4 * nd;
  if (b.length !== off + count * t.size) {
    throw new Error(`${source}: IDX header says ${JSON.stringify(dims)} ${t.name} (${count * t.size} bytes of data) but the file holds ${b.length - off}`);
  }
  let data: IdxArray['data'];
  switch (type) {
    case 0x08:
      data = b.slice(off);
      break;
    case 0x09:
      data = new Int8Array(b.slice(off).buffer);
      break;
    default: {
      // Big-endian multi-byte elements: read through a DataView.
      const out =
        type === 0x0b ? new Int16Array(count) : type === 0x0c ? new Int32Array(count) : type === 0x0d ? new Float32Array(count) : new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const p = off + i * t.size;
        out[i] =
          type === 0x0b
            ? view.getInt16(p, false)
            : type === 0x0c
              ? view.getInt32(p, false)
              : type === 0x0d
                ? view.getFloat32(p, false)
                : view.getFloat64(p, false);
      }
      data = out;
    }
  }
  return { dims, type, data };
}

export function readIdx(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodeIdx(bytes, path);
}

export interface IdxImageSet {
  /** float32 [N, 1, H, W]; uint8 pixels are scaled by `scale` (default 1/255). */
  images: TensorData;
  labels?: number[];
  imagesPath: string;
  labelsPath?: string;
  /** True where 8-bit pixels were divided by 255 (so the images lie in [0, 1]). */
  scaled: boolean;
}

/** The labels file that goes with an images file by the MNIST naming (`…-images-idx3-ubyte` → `…-labels-idx1-ubyte`). */
export function labelsPathFor(imagesPath: string): string | undefined {
  const name = basename(imagesPath);
  if (!name.includes('images-idx3')) return undefined;
  const stem = name.replace('images-idx3', 'labels-idx1').replace(/\.gz$/, '');
  return [stem, `${stem}.gz`].map((n) => join(dirname(imagesPath), n)).find((p) => existsSync(p));
}

/** An IDX image file ([N, H, W] or [N, H, W, C]) as an [N, C, H, W] float tensor, with its labels when found. */
export function loadIdxImages(imagesPath: string, opts: { labelsPath?: string; scale?: number } = {}): IdxImageSet {
  const arr = readIdx(imagesPath);
  if (arr.dims.length !== 3 && arr.dims.length !== 4)
    throw new Error(`${imagesPath}: expected IDX images [N, H, W] or [N, H, W, C], got shape ${JSON.stringify(arr.dims)}`);
  const [N, H, W] = arr.dims as [number, number, number];
  const C = arr.dims[3] ?? 1;
  const scale = opts.scale ?? (arr.type === 0x08 ? 1 / 255 : 1);
  const out = new Float32Array(N * C * H * W);
  const src = arr.data;
  for (let n = 0; n < N; n++) {
    for (let p = 0; p < H * W; p++) {
      for (let c = 0; c < C; c++) out[(n * C + c) * H * W + p] = src[(n * H * W + p) * C + c]! * scale;
    }
  }
  const labelsPath = opts.labelsPath ?? labelsPathFor(imagesPath);
  let labels: number[] | undefined;
  if (labelsPath) {
    const l = readIdx(labelsPath);
    if (l.dims.length !== 1 || l.dims[0] !== N) throw new Error(`${labelsPath}: expected ${N} labels (IDX [N]), got shape ${JSON.stringify(l.dims)}`);
    labels = Array.from(l.data as ArrayLike<number>);
  }
  return { images: { dtype: 'float32', dims: [N, C, H, W], data: out }, labels, imagesPath, labelsPath, scaled: arr.type === 0x08 && scale === 1 / 255 };
}

/** The images file of a split in an MNIST-style folder (`t10k-images-idx3-ubyte[.gz]` or `train-…`). */
export function findIdxImages(dir: string, split: 'test' | 'train' = 'test'): string | undefined {
  const stem = split === 'test' ? 't10k-images-idx3-ubyte' : 'train-images-idx3-ubyte';
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}
