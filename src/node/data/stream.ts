/**
 * Data sets read a batch at a time, so that explaining a set needs memory for one batch, not for
 * the set: an IDX images file (or a folder holding one; labels found beside it), a `.npy` array
 * (rows read from the file at their offsets) or a folder of PNG/JPEG images (decoded per batch).
 * A gzipped IDX file is the exception: gzip cannot be read from the middle, so it is inflated
 * once, at one byte per 8-bit pixel (a quarter of the float32 set).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { extname, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { npyData, readNpyHeader } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { listImageFolder } from './image-folder.js';
import { decodeIdx, findIdxImages, labelsPathFor } from './idx.js';
import { type ImageConversion, type ImageOptions, readImage } from '../io/image.js';

export interface SampleStream {
  /** The file or folder the samples come from. */
  source: string;
  /** Samples in the selected range. */
  count: number;
  /** Offset of the first selected sample in the source. */
  offset: number;
  /** Dimensions of one sample (the model input without the batch axis). */
  sampleDims: number[];
  labels?: number[];
  classes?: string[];
  /** Image folders: each selected sample's file, relative to the folder. */
  files?: string[];
  /** How raw values became the float inputs, when they did (one phrase), e.g. "8-bit pixels / 255". */
  scaling?: string;
  /** Selected samples [start, start + n) as float32 [n, ...sampleDims]; image folders also say how each image was converted. */
  read(start: number, n: number): { x: TensorData; conversions?: ImageConversion[] };
  close(): void;
}

export interface StreamOptions {
  offset?: number;
  limit?: number;
  /** Labels (.npy or IDX, one per sample of the source) overriding those found with the data. */
  labels?: string;
  /** IDX folders: which split (default test). */
  split?: 'test' | 'train';
  /** Image folders: decoding at the model's input size and channels. */
  image?: ImageOptions;
}

function readLabelsFile(path: string): number[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read labels ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (extname(path).toLowerCase() === '.npy') {
    const h = readNpyHeader(bytes);
    if (h.dims.length !== 1 || !['int64', 'int32', 'uint8'].includes(h.dtype))
      throw new Error(`${path}: labels must be a 1-D integer array, got ${h.dtype} ${JSON.stringify(h.dims)}`);
    const d = npyData(h.dtype, bytes.subarray(h.dataStart, h.dataStart + h.dims[0]! * h.itemSize));
    return Array.from(d as ArrayLike<number | bigint>, Number);
  }
  const a = decodeIdx(bytes, path);
  if (a.dims.length !== 1) throw new Error(`${path}: labels must be 1-D, got shape ${JSON.stringify(a.dims)}`);
  return Array.from(a.data as ArrayLike<number>);
}

/** Reads byte ranges of a file (or of bytes already in memory). */
interface ByteReader {
  size: number;
  read(pos: number, length: number): Uint8Array;
  close(): void;
}

function fileReader(path: string): ByteReader {
  const fd = openSync(path, 'r');
  return {
    size: statSync(path).size,
    read(pos, length) {
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = readSync(fd, out, got, length - got, pos + got);
        if (n === 0) throw new Error(`${path}: unexpected end of file at byte ${pos + got}`);
        got += n;
      }
      return out;
    },
    close: () => closeSync(fd),
  };
}

function memoryReader(bytes: Uint8Array): ByteReader {
  return { size: bytes.length, read: (pos, length) => bytes.subarray(pos, pos + length), close: () => undefined };
}

function selectRange(total: number, opts: StreamOptions, source: string): { offset: number; count: number } {
  const offset = opts.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new Error(`--offset must be an integer ≥ 0, got ${offset}`);
  if (opts.limit !== undefined && (!Number.isInteger(opts.limit) || opts.limit < 1)) throw new Error(`--limit must be a positive integer, got ${opts.limit}`);
  if (offset >= total) throw new Error(`${source} holds ${total} samples: nothing from offset ${offset}`);
  return { offset, count: Math.min(total - offset, opts.limit ?? Number.POSITIVE_INFINITY) };
}

function withLabels(total: number, found: number[] | undefined, opts: StreamOptions, source: string, offset: number, count: number): number[] | undefined {
  const all = opts.labels ? readLabelsFile(opts.labels) : found;
  if (all && all.length !== total) throw new Error(`${opts.labels ?? source}: ${all.length} labels for ${total} samples`);
  return all?.slice(offset, offset + count);
}

const IDX_SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

function idxStream(path: string, opts: StreamOptions): SampleStream {
  let head: Uint8Array;
  let reader: ByteReader;
  const probe = fileReader(path);
  try {
    head = probe.read(0, Math.min(2, probe.size));
  } catch (e) {
    probe.close();
    throw e;
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    probe.close();
    try {
      reader = memoryReader(new Uint8Array(gunzipSync(readFileSync(path))));
    } catch (e) {
      throw new Error(`${path}: cannot gunzip: ${(e as Error).message}`);
    }
  } else reader = probe;
  try {
    const h = reader.read(0, Math.min(reader.size, 4));
    if (h.length < 4 || h[0] !== 0 || h[1] !== 0) throw new Error(`${path} is not an IDX file (bad magic number)`);
    const type = h[2]!;
    const nd = h[3]!;
    const size = IDX_SIZES[type];
    if (!size) throw new Error(`${path}: unknown IDX element type 0x${type.toString(16)}`);
    if (nd !== 3 && nd !== 4) throw new Error(`${path}: expected IDX images [N, H, W] or [N, H, W, C], got ${nd} dimensions`);
    const dv = new DataView(reader.read(4, 4 * nd).slice().buffer);
    const dims = Array.from({ length: nd }, (_, i) => dv.getUint32(4 * i, false));
    const [N, H, W] = dims as [number, number, number];
    const C = dims[3] ?? 1;
    const per = H * W * C;
    const start = 4 + 4 * nd;
    if (reader.size !== start + N * per * size)
      throw new Error(`${path}: IDX header says ${JSON.stringify(dims)} (${N * per * size} bytes of data) but the file holds ${reader.size - start}`);
    const labelsPath = labelsPathFor(path);
    const { offset, count } = selectRange(N, opts, path);
    const found = labelsPath ? readLabelsFile(labelsPath) : undefined;
    const labels = withLabels(N, found, opts, labelsPath ?? path, offset, count);
    const scale = type === 0x08 ? 1 / 255 : 1;
    return {
      source: path,
      count,
      offset,
      sampleDims: [C, H, W],
      labels,
      scaling: type === 0x08 ? '8-bit IDX pixels / 255' : undefined,
      read(s, n) {
        const raw = reader.read(start + (offset + s) * per * size, n * per * size);
        const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        const at = (i: number) =>
          type === 0x08
            ? raw[i]!
            : type === 0x09
              ? v.getInt8(i)
              : type === 0x0b
                ? v.getInt16(i * 2, false)
                : type === 0x0c
                  ? v.getInt32(i * 4, false)
                  : type === 0x0d
                    ? v.getFloat32(i * 4, false)
                    : v.getFloat64(i * 8, false);
        const out = new Float32Array(n * per);
        // [n, H, W, C] on disk → [n, C, H, W]
        for (let k = 0; k < n; k++)
          for (let p = 0; p < H * W; p++) for (let c = 0; c < C; c++) out[(k * C + c) * H * W + p] = at((k * H * W + p) * C + c) * scale;
        return { x: { dtype: 'float32', dims: [n, C, H, W], data: out } };
      },
      close: () => reader.close(),
    };
  } catch (e) {
    reader.close();
    throw e;
  }
}

function npyStream(path: string, opts: StreamOptions): SampleStream {
  const reader = fileReader(path);
  try {
    const h = readNpyHeader(reader.read(0, Math.min(reader.size, 10 + 0xffff)));
    if (h.dims.length < 2) throw new Error(`${path}: expected samples along the first axis, got shape ${JSON.stringify(h.dims)}`);
    if (!['float32', 'float64', 'uint8'].includes(h.dtype))
      throw new Error(`${path} holds ${h.dtype} values; give float32, float64 or uint8 (pixels, divided by 255)`);
    const [N, ...sampleDims] = h.dims as [number, ...number[]];
    const per = sampleDims.reduce((a, b) => a * b, 1);
    if (reader.size !== h.dataStart + N * per * h.itemSize)
      throw new Error(`${path}: the header says ${JSON.stringify(h.dims)} ${h.dtype} but the file holds ${reader.size - h.dataStart} bytes of data`);
    const { offset, count } = selectRange(N, opts, path);
    const labels = withLabels(N, undefined, opts, path, offset, count);
    return {
      source: path,
      count,
      offset,
      sampleDims,
      labels,
      scaling: h.dtype === 'uint8' ? 'uint8 values / 255' : h.dtype === 'float64' ? 'float64 → float32' : undefined,
      read(s, n) {
        const d = npyData(h.dtype, reader.read(h.dataStart + (offset + s) * per * h.itemSize, n * per * h.itemSize));
        const data =
          h.dtype === 'float32'
            ? (d as Float32Array)
            : h.dtype === 'uint8'
              ? Float32Array.from(d as Uint8Array, (v) => v / 255)
              : Float32Array.from(d as Float64Array);
        return { x: { dtype: 'float32', dims: [n, ...sampleDims], data } };
      },
      close: () => reader.close(),
    };
  } catch (e) {
    reader.close();
    throw e;
  }
}

function imageFolderStream(root: string, opts: StreamOptions): SampleStream {
  const all = listImageFolder(root);
  if (all.files.length === 0) throw new Error(`${root} holds no PNG/JPEG images (nor IDX files)`);
  const { offset, count } = selectRange(all.files.length, opts, root);
  const labels = withLabels(all.files.length, all.labels, opts, root, offset, count);
  const files = all.files.slice(offset, offset + count);
  const decode = (f: string) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read image ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      return readImage(bytes, opts.image ?? {});
    } catch (e) {
      throw new Error(`cannot read image ${f}: ${(e as Error).message}`);
    }
  };
  const first = decode(files[0]!).tensor;
  return {
    source: root,
    count,
    offset,
    sampleDims: first.dims.slice(1),
    labels,
    classes: all.classes,
    files: files.map((f) => relative(root, f)),
    scaling: '8-bit pixels / 255',
    read(s, n) {
      const per = first.data.length;
      const data = new Float32Array(n * per);
      const conversions: ImageConversion[] = [];
      for (let k = 0; k < n; k++) {
        const f = files[s + k]!;
        const r = decode(f);
        if (r.tensor.data.length !== per)
          throw new Error(
            `${f}: decodes to ${JSON.stringify(r.tensor.dims.slice(1))}, the other images to ${JSON.stringify(first.dims.slice(1))}; give --size`,
          );
        data.set(r.tensor.data as Float32Array, k * per);
        conversions.push(r.conversion);
      }
      return { x: { dtype: 'float32', dims: [n, ...first.dims.slice(1)], data }, conversions };
    },
    close: () => undefined,
  };
}

/** Open a data set for reading a batch at a time. */
export function openSampleStream(path: string, opts: StreamOptions = {}): SampleStream {
  if (!existsSync(path)) throw new Error(`data set ${path} does not exist`);
  if (statSync(path).isDirectory()) {
    const idx = findIdxImages(path, opts.split ?? 'test');
    return idx ? idxStream(idx, opts) : imageFolderStream(path, opts);
  }
  if (extname(path).toLowerCase() === '.npy') return npyStream(path, opts);
  const head = new Uint8Array(2);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 2, 0);
  } finally {
    closeSync(fd);
  }
  if ((head[0] === 0x1f && head[1] === 0x8b) || (head[0] === 0 && head[1] === 0)) return idxStream(path, opts);
  throw new Error(`cannot read data set ${path}: expected an IDX file (.gz or raw), a folder of IDX files, a .npy array or a folder of PNG/JPEG images`);
}
