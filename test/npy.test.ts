import { describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';

const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/**
 * The exact bytes numpy.save writes for np.arange(6, dtype='<f4').reshape(2, 3), written out by
 * hand from the format spec: magic, version 1.0, header length 118 (0x76), the dict padded with
 * spaces to a 64-byte boundary and ended by '\n', then 6 little-endian float32 values.
 */
function numpyArange6x2x3(): Uint8Array {
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const header = dict + ' '.repeat(118 - dict.length - 1) + '\n';
  const data = [
    [0x00, 0x00, 0x00, 0x00], // 0
    [0x00, 0x00, 0x80, 0x3f], // 1
    [0x00, 0x00, 0x00, 0x40], // 2
    [0x00, 0x00, 0x40, 0x40], // 3
    [0x00, 0x00, 0x80, 0x40], // 4
    [0x00, 0x00, 0xa0, 0x40], // 5
  ].flat();
  return new Uint8Array([0x93, ...ascii('NUMPY'), 0x01, 0x00, 0x76, 0x00, ...ascii(header), ...data]);
}

/** A file with an arbitrary header (padding not aligned: readers must not depend on it). */
function npyFile(dict: string, data: number[], version = 1): Uint8Array {
  const header = ascii(dict + '\n');
  const len = version === 1 ? [header.length & 0xff, header.length >> 8] : [header.length & 0xff, (header.length >> 8) & 0xff, 0, 0];
  return new Uint8Array([0x93, ...ascii('NUMPY'), version, 0, ...len, ...header, ...data]);
}

describe('readNpy', () => {
  it('reads the bytes numpy writes for arange(6, f4).reshape(2, 3)', () => {
    const t = readNpy(numpyArange6x2x3());
    expect(t.dtype).toBe('float32');
    expect(t.dims).toEqual([2, 3]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect([...t.data]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads version 2.0 and 3.0 headers (4-byte header length)', () => {
    const f8 = [...new Uint8Array(new Float64Array([1.5, -2.25]).buffer)];
    for (const v of [2, 3]) {
      const t = readNpy(npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", f8, v));
      expect(t).toEqual({ dtype: 'float64', dims: [2], data: new Float64Array([1.5, -2.25]) });
    }
  });

  it('reads 0-d arrays, bool and every supported integer dtype', () => {
    expect(readNpy(npyFile("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", [0xfe, 0xff, 0xff, 0xff]))).toEqual({
      dtype: 'int32',
      dims: [],
      data: new Int32Array([-2]),
    });
    const b = readNpy(npyFile("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", [1, 0, 1]));
    expect(b.dtype).toBe('bool');
    expect(b.data).toEqual(new Uint8Array([1, 0, 1]));
    const u = readNpy(npyFile("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", [7, 255]));
    expect(u).toEqual({ dtype: 'uint8', dims: [1, 2], data: new Uint8Array([7, 255]) });
    const i8 = readNpy(npyFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    expect(i8).toEqual({ dtype: 'int64', dims: [1], data: new BigInt64Array([-1n]) });
  });

  it('accepts keys in any order and an unaligned input view', () => {
    const file = npyFile("{'shape': (2,), 'fortran_order': False, 'descr': '<f4'}", [...new Uint8Array(new Float32Array([3, 4]).buffer)]);
    const shifted = new Uint8Array(file.length + 1);
    shifted.set(file, 1);
    const t = readNpy(shifted.subarray(1));
    expect(t.dims).toEqual([2]);
    expect([...t.data]).toEqual([3, 4]);
  });

  it('rejects Fortran order, big-endian, unsupported dtypes and bad files with clear errors', () => {
    const four = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    expect(() => readNpy(npyFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", four))).toThrow(/fortran_order/);
    expect(() => readNpy(npyFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", four))).toThrow(/big-endian/);
    expect(() => readNpy(npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", four))).toThrow(/unsupported dtype <c8/);
    expect(() => readNpy(npyFile("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }", [0, 0, 0, 0]))).toThrow(/unsupported dtype <f2/);
    expect(() => readNpy(npyFile("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]))).toThrow(/unsupported dtype.*structured/);
    expect(() => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))).toThrow(/not a \.npy file/);
    expect(() => readNpy(npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", [1, 2, 3, 4], 4))).toThrow(/version 4\.0/);
  });

  it('reports truncated data and truncated headers', () => {
    const full = numpyArange6x2x3();
    expect(() => readNpy(full.subarray(0, full.length - 1))).toThrow(/truncated data.*needs 24 bytes, file has 23/);
    expect(() => readNpy(full.subarray(0, 60))).toThrow(/truncated header/);
    const extra = new Uint8Array(full.length + 4);
    extra.set(full);
    expect(() => readNpy(extra)).toThrow(/4 unexpected bytes/);
  });
});

describe('encodeNpy', () => {
  it('writes exactly what numpy writes for arange(6, f4).reshape(2, 3)', () => {
    const t: TensorData = { dtype: 'float32', dims: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
    expect(encodeNpy(t)).toEqual(numpyArange6x2x3());
  });

  it('pads the header so the data starts at a multiple of 64 and uses Python tuple syntax', () => {
    const cases: [number[], string][] = [
      [[], '()'],
      [[5], '(5,)'],
      [[1, 2, 3, 4], '(1, 2, 3, 4)'],
    ];
    for (const [dims, repr] of cases) {
      const bytes = encodeNpy({ dtype: 'float64', dims, data: new Float64Array(dims.reduce((a, b) => a * b, 1)) });
      const headerLen = bytes[8]! | (bytes[9]! << 8);
      expect((10 + headerLen) % 64).toBe(0);
      const header = String.fromCharCode(...bytes.subarray(10, 10 + headerLen));
      expect(header).toContain(`'shape': ${repr}, }`);
      expect(header.endsWith('\n')).toBe(true);
    }
  });

  it('round-trips every dtype', () => {
    const tensors: TensorData[] = [
      { dtype: 'float32', dims: [2, 2], data: new Float32Array([1.5, -0, Number.NaN, -Infinity]) },
      { dtype: 'float64', dims: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
      { dtype: 'int64', dims: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
      { dtype: 'int32', dims: [1, 1, 2], data: new Int32Array([-7, 2147483647]) },
      { dtype: 'uint8', dims: [4], data: new Uint8Array([0, 1, 128, 255]) },
      { dtype: 'bool', dims: [2], data: new Uint8Array([1, 0]) },
      { dtype: 'float32', dims: [0, 3], data: new Float32Array(0) },
      { dtype: 'float64', dims: [], data: new Float64Array([42]) },
    ];
    for (const t of tensors) expect(readNpy(encodeNpy(t))).toEqual(t);
  });

  it('encodes a subarray view without the rest of its buffer', () => {
    const backing = new Float32Array([9, 1, 2, 9]);
    const t = readNpy(encodeNpy({ dtype: 'float32', dims: [2], data: backing.subarray(1, 3) }));
    expect([...t.data]).toEqual([1, 2]);
  });

  it('rejects a data length or array type that does not match', () => {
    expect(() => encodeNpy({ dtype: 'float32', dims: [3], data: new Float32Array(2) })).toThrow(/need 3 values/);
    expect(() => encodeNpy({ dtype: 'float32', dims: [2], data: new Float64Array(2) })).toThrow(/does not match/);
  });
});
