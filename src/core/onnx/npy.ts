/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), the on-disk format for tensors: numpy can
 * read what relprop writes and the other way round. Only C-order, little-endian arrays of the
 * dtypes relprop's TensorData can hold are supported; anything else is a clear error rather than
 * a silently misread array.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { type DType, type TensorData, type TypedData, numel } from './tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

interface DtypeInfo {
  dtype: DType;
  size: number;
}

/** numpy descr → relprop dtype. 1-byte types have no byte order, numpy writes them as '|'. */
const DESCR_TO_DTYPE: Record<string, DtypeInfo> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '<i8': { dtype: 'int64', size: 8 },
  '<i4': { dtype: 'int32', size: 4 },
  '|u1': { dtype: 'uint8', size: 1 },
  '|b1': { dtype: 'bool', size: 1 },
};

const DTYPE_TO_DESCR: Record<DType, string> = {
  float32: '<f4',
  float64: '<f8',
  int64: '<i8',
  int32: '<i4',
  uint8: '|u1',
  bool: '|b1',
};

/** Typed arrays use the host's byte order; .npy here is little-endian, so big-endian hosts must swap. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytesInPlace(bytes: Uint8Array, size: number): void {
  for (let off = 0; off < bytes.length; off += size) {
    for (let a = off, b = off + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

function viewAs(dtype: DType, buf: ArrayBuffer): TypedData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float64':
      return new Float64Array(buf);
    case 'int64':
      return new BigInt64Array(buf);
    case 'int32':
      return new Int32Array(buf);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buf);
  }
}

/** Pull one key out of the header, which is a Python dict literal written by repr(). */
function headerField(header: string, key: string): string | undefined {
  const m = new RegExp(`['"]${key}['"]\\s*:\\s*`).exec(header);
  if (!m) return undefined;
  return header.slice(m.index + m[0].length);
}

function parseHeader(header: string): { descr: string; fortran: boolean; shape: number[] } {
  const h = header.trim();
  if (!h.startsWith('{') || !h.endsWith('}')) throw new Error(`npy: header is not a dict literal: ${JSON.stringify(h)}`);

  const descrRest = headerField(h, 'descr');
  if (descrRest === undefined) throw new Error('npy: header has no "descr"');
  const descrMatch = /^(['"])(.*?)\1/.exec(descrRest);
  if (!descrMatch) {
    // a list here means a structured (record) dtype
    throw new Error(`npy: unsupported dtype ${descrRest.split(/,\s*['"]/)[0]} (structured dtypes are not supported)`);
  }
  const descr = descrMatch[2]!;

  const fortranRest = headerField(h, 'fortran_order');
  const fortranMatch = fortranRest === undefined ? null : /^(True|False)\b/.exec(fortranRest);
  if (!fortranMatch) throw new Error('npy: header has no valid "fortran_order"');

  const shapeRest = headerField(h, 'shape');
  const shapeMatch = shapeRest === undefined ? null : /^\(([^)]*)\)/.exec(shapeRest);
  if (!shapeMatch) throw new Error('npy: header has no valid "shape"');
  const shape = shapeMatch[1]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      // numpy < 2 on Windows wrote "3L"; accept the suffix, reject anything else that is not a count
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`npy: bad dimension ${JSON.stringify(s)} in shape`);
      return n;
    });
  return { descr, fortran: fortranMatch[1] === 'True', shape };
}

/** Where a .npy file's data starts and what it holds (for reading rows without loading the file). */
export interface NpyHeader {
  dtype: DType;
  dims: number[];
  /** Byte offset of the first element. */
  dataStart: number;
  /** Bytes per element. */
  itemSize: number;
}

/**
 * Parse the header at the start of a .npy file; `bytes` may be just the file's first bytes (a
 * header is at most 10 + 65535 bytes for version 1.0; pass more for 2.0/3.0 if needed).
 */
export function readNpyHeader(bytes: Uint8Array): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('npy: not a .npy file (bad magic)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw new Error(`npy: unsupported format version ${major}.${minor}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new Error('npy: truncated header');
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart) throw new Error(`npy: truncated header (needs ${dataStart} bytes, file has ${bytes.length})`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lenBytes, dataStart));
  const { descr, fortran, shape } = parseHeader(header);

  if (descr.startsWith('>')) throw new Error(`npy: big-endian dtype ${descr} is not supported (save with dtype '<${descr.slice(1)}')`);
  const info = DESCR_TO_DTYPE[descr];
  if (!info) {
    throw new Error(`npy: unsupported dtype ${descr} (supported: ${Object.keys(DESCR_TO_DTYPE).join(' ')})`);
  }
  if (fortran) throw new Error('npy: fortran_order arrays are not supported (save a C-order array, e.g. np.ascontiguousarray)');
  return { dtype: info.dtype, dims: shape, dataStart, itemSize: info.size };
}

/** Decode a .npy file. The returned data is a fresh, aligned copy (the input may sit at any offset). */
export function readNpy(bytes: Uint8Array): TensorData {
  const h = readNpyHeader(bytes);
  const { dataStart, dims: shape } = h;
  const info = { dtype: h.dtype, size: h.itemSize };
  const descr = DTYPE_TO_DESCR[h.dtype];
  const n = numel(shape);

  const nbytes = n * info.size;
  const available = bytes.length - dataStart;
  if (available < nbytes) {
    throw new Error(`npy: truncated data: shape ${JSON.stringify(shape)} of ${descr} needs ${nbytes} bytes, file has ${available}`);
  }
  if (available > nbytes) {
    // trailing bytes mean the header and the data disagree: a corrupted or mislabelled file
    throw new Error(`npy: ${available - nbytes} unexpected bytes after the data of shape ${JSON.stringify(shape)} ${descr}`);
  }
  // A real copy: Node's Buffer#slice shares (and misaligns within) the pooled memory.
  const copy = Uint8Array.prototype.slice.call(bytes, dataStart, dataStart + nbytes);
  if (!HOST_LITTLE_ENDIAN && info.size > 1) swapBytesInPlace(copy, info.size);
  return { dtype: info.dtype, dims: shape, data: viewAs(info.dtype, copy.buffer) };
}

/** Elements of `dtype` from .npy data bytes (little-endian): a fresh, aligned copy. */
export function npyData(dtype: DType, bytes: Uint8Array): TypedData {
  const copy = Uint8Array.prototype.slice.call(bytes);
  const size = DESCR_TO_DTYPE[DTYPE_TO_DESCR[dtype]]!.size;
  if (!HOST_LITTLE_ENDIAN && size > 1) swapBytesInPlace(copy, size);
  return viewAs(dtype, copy.buffer);
}

/** Whether `data` is the typed array that holds `dtype` (instanceof, so a Node Buffer counts as Uint8Array). */
function holds(dtype: DType, data: TypedData): boolean {
  switch (dtype) {
    case 'float32':
      return data instanceof Float32Array;
    case 'float64':
      return data instanceof Float64Array;
    case 'int64':
      return data instanceof BigInt64Array;
    case 'int32':
      return data instanceof Int32Array;
    case 'uint8':
    case 'bool':
      return data instanceof Uint8Array;
  }
}

/** Python's repr of a shape tuple: "()", "(3,)", "(2, 3)". numpy evaluates it on load. */
function shapeRepr(dims: readonly number[]): string {
  if (dims.length === 1) return `(${dims[0]},)`;
  return `(${dims.join(', ')})`;
}

/**
 * The header numpy.save writes for an array of this dtype and shape (version 1.0 unless the header
 * needs more than 65535 bytes, then 2.0; padded so the data starts on a 64-byte boundary, with
 * numpy's spare room for growing the first axis). The data follows it, little-endian, C order.
 */
export function npyHeaderBytes(dtype: DType, dims: number[]): Uint8Array {
  const descr = DTYPE_TO_DESCR[dtype];
  if (!descr) throw new Error(`npy: cannot encode dtype ${String(dtype)}`);
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`npy: bad dimension ${d} in ${JSON.stringify(dims)}`);
  }
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeRepr(dims)}, }`;
  // numpy >= 1.24 leaves room for the first dimension to grow to 21 digits (in-place appends)
  if (dims.length > 0) header += ' '.repeat(Math.max(0, 21 - String(dims[0]).length));
  // numpy pads with 1..64 spaces (never 0) before the closing newline
  const padFor = (prefix: number): number => 64 - ((prefix + header.length + 1) % 64);
  let version = 1;
  let prefix = 10;
  if (header.length + padFor(10) + 1 > 0xffff) {
    version = 2;
    prefix = 12;
  }
  header += ' '.repeat(padFor(prefix)) + '\n';
  const out = new Uint8Array(prefix + header.length);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  return out;
}

/** Encode a tensor as .npy, byte-for-byte like numpy.save for the same array. */
export function encodeNpy(t: TensorData): Uint8Array {
  const head = npyHeaderBytes(t.dtype, t.dims);
  const n = numel(t.dims);
  if (!holds(t.dtype, t.data)) throw new Error(`npy: dtype ${t.dtype} does not match its data (${t.data.constructor.name})`);
  if (t.data.length !== n) throw new Error(`npy: dims ${JSON.stringify(t.dims)} need ${n} values, data has ${t.data.length}`);
  const itemSize = t.data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(head.length + n * itemSize);
  out.set(head, 0);
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, n * itemSize);
  const body = out.subarray(head.length);
  body.set(data);
  if (!HOST_LITTLE_ENDIAN && itemSize > 1) swapBytesInPlace(body, itemSize);
  return out;
}
