import { deflateSync } from 'node:zlib';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import {
  decodeImage,
  describeConversion,
  detectImageFormat,
  loadImage,
  parseColour,
  readImage,
  resizeBilinear,
  summarizeConversions,
} from '../src/node/io/image.js';

// ---- a minimal PNG writer, so the test files' exact sample values are known -----------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * PNG from per-row sample values (all channels of a row in order), packed MSB-first for depths
 * below 8 and big-endian for 16, filter type 0 on every row.
 */
function makePng(width: number, height: number, colorType: number, depth: number, rows: number[][], palette?: number[][], trns?: number[]): Uint8Array {
  const raw: number[] = [];
  for (const row of rows) {
    raw.push(0);
    if (depth === 16) {
      for (const v of row) raw.push(v >> 8, v & 0xff);
    } else if (depth === 8) {
      raw.push(...row);
    } else {
      const perByte = 8 / depth;
      for (let i = 0; i < row.length; i += perByte) {
        let byte = 0;
        for (let k = 0; k < perByte; k++) byte |= (row[i + k] ?? 0) << (8 - depth * (k + 1));
        raw.push(byte);
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr)];
  if (palette) parts.push(chunk('PLTE', new Uint8Array(palette.flat())));
  if (trns) parts.push(chunk('tRNS', new Uint8Array(trns)));
  parts.push(chunk('IDAT', new Uint8Array(deflateSync(new Uint8Array(raw)))), chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const close = (actual: ArrayLike<number>, expected: number[], digits = 6): void => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, digits));
};

// 2×2 RGB: red, green / blue, (10, 20, 30)
const rgb2x2 = () =>
  makePng(2, 2, 2, 8, [
    [255, 0, 0, 0, 255, 0],
    [0, 0, 255, 10, 20, 30],
  ]);

describe('loadImage: PNG', () => {
  it('RGB 8-bit → [1,3,H,W] (default nchw, rgb, /255) and [1,H,W,3] for nhwc', () => {
    const t = loadImage(rgb2x2());
    expect(t.dtype).toBe('float32');
    expect(t.dims).toEqual([1, 3, 2, 2]);
    close(t.data as Float32Array, [1, 0, 0, 10 / 255, 0, 1, 0, 20 / 255, 0, 0, 1, 30 / 255]);
    const h = loadImage(rgb2x2(), { layout: 'nhwc' });
    expect(h.dims).toEqual([1, 2, 2, 3]);
    close(h.data as Float32Array, [1, 0, 0, 0, 1, 0, 0, 0, 1, 10 / 255, 20 / 255, 30 / 255]);
  });

  it('bgr order swaps the colour channels', () => {
    const t = loadImage(rgb2x2(), { order: 'bgr', scale: 1 });
    close(t.data as Float32Array, [0, 0, 255, 30, 0, 255, 0, 20, 255, 0, 0, 10]);
  });

  it('scale, then per-channel mean and std (in output channel order)', () => {
    const t = loadImage(rgb2x2(), { mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    const px = [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [10 / 255, 20 / 255, 30 / 255],
    ];
    const m = [0.5, 0.25, 0];
    const s = [0.5, 0.25, 2];
    const want: number[] = [];
    for (let c = 0; c < 3; c++) for (const p of px) want.push((p[c]! - m[c]!) / s[c]!);
    close(t.data as Float32Array, want, 5);
    const b = loadImage(rgb2x2(), { order: 'bgr', mean: [1, 0, 0], std: [1, 1, 1] });
    // mean[0] applies to the first OUTPUT channel, which is blue under bgr
    close((b.data as Float32Array).subarray(0, 4), [-1, -1, 0, 30 / 255 - 1], 5);
  });

  it('channels 1 converts colour by BT.601 luminance', () => {
    const t = loadImage(rgb2x2(), { channels: 1, scale: 1 });
    expect(t.dims).toEqual([1, 1, 2, 2]);
    close(t.data as Float32Array, [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30], 3);
  });

  it('grayscale 8-bit: three equal channels, or the exact gray value with channels 1', () => {
    const png = makePng(3, 1, 0, 8, [[0, 77, 255]]);
    close(loadImage(png, { scale: 1 }).data as Float32Array, [0, 77, 255, 0, 77, 255, 0, 77, 255]);
    expect([...loadImage(png, { channels: 1, scale: 1 }).data]).toEqual([0, 77, 255]);
  });

  it('grayscale below 8 bits is scaled to 0..255', () => {
    const g4 = makePng(3, 1, 0, 4, [[0, 5, 15]]);
    close(loadImage(g4, { channels: 1 }).data as Float32Array, [0, 5 / 15, 1]);
    const g1 = makePng(3, 1, 0, 1, [[1, 0, 1]]);
    expect([...loadImage(g1, { channels: 1 }).data]).toEqual([1, 0, 1]);
  });

  it('16-bit samples keep their precision (not rounded to 8 bits first)', () => {
    const g16 = makePng(3, 1, 0, 16, [[0, 1000, 65535]]);
    // 8-bit rounding would give 4/255 = 0.01569 for the middle pixel
    close(loadImage(g16, { channels: 1 }).data as Float32Array, [0, 1000 / 65535, 1], 7);
    const c16 = makePng(1, 1, 2, 16, [[65535, 32768, 1]]);
    close(loadImage(c16).data as Float32Array, [1, 32768 / 65535, 1 / 65535], 7);
  });

  it('palette images use the palette colours', () => {
    const pal = [
      [255, 0, 0],
      [0, 0, 255],
      [10, 20, 30],
    ];
    const png = makePng(3, 1, 3, 2, [[2, 0, 1]], pal);
    close(loadImage(png, { layout: 'nhwc', scale: 1 }).data as Float32Array, [10, 20, 30, 255, 0, 0, 0, 0, 255]);
  });

  it('alpha: transparent pixels take the background (white by default), opaque ones keep their colour', () => {
    // one opaque, one half-transparent (alpha 51 = 0.2), one fully transparent pixel
    const png = makePng(3, 1, 6, 8, [[100, 150, 200, 255, 100, 150, 200, 51, 100, 150, 200, 0]]);
    const over = (c: number, a: number, bg: number) => a * c + (1 - a) * bg;
    const t = loadImage(png, { scale: 1, layout: 'nhwc' }).data as Float32Array;
    close(t, [100, 150, 200, over(100, 0.2, 255), over(150, 0.2, 255), over(200, 0.2, 255), 255, 255, 255], 4);
    const onColour = loadImage(png, { scale: 1, layout: 'nhwc', background: [10, 20, 30] }).data as Float32Array;
    close(onColour, [100, 150, 200, over(100, 0.2, 10), over(150, 0.2, 20), over(200, 0.2, 30), 10, 20, 30], 4);
    const ga = makePng(2, 1, 4, 8, [[90, 255, 90, 10]]);
    close(loadImage(ga, { channels: 1, scale: 1 }).data as Float32Array, [90, over(90, 10 / 255, 255)], 4);
    // 16-bit alpha is read at 16 bits
    const ga16 = makePng(1, 1, 4, 16, [[0, 32768]]);
    close(loadImage(ga16, { channels: 1, scale: 1 }).data as Float32Array, [over(0, 32768 / 65535, 255)], 3);
  });

  it('black ink on a transparent background becomes black on white, not all black', () => {
    // 2×2 RGBA, black everywhere, opaque only at the top left: how drawing programs save ink
    const ink = makePng(2, 2, 6, 8, [
      [0, 0, 0, 255, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ]);
    close(loadImage(ink, { channels: 1 }).data as Float32Array, [0, 1, 1, 1]);
    close(loadImage(ink, { channels: 1, background: parseColour('black') }).data as Float32Array, [0, 0, 0, 0]);
  });

  it('a palette with a transparency chunk is composited too', () => {
    const png = makePng(
      2,
      1,
      3,
      8,
      [[0, 1]],
      [
        [200, 0, 0],
        [0, 0, 200],
      ],
      [255, 0],
    );
    close(loadImage(png, { scale: 1, layout: 'nhwc' }).data as Float32Array, [200, 0, 0, 255, 255, 255]);
    expect(readImage(png).conversion.from.mode).toBe('RGBA');
  });
});

describe('parseColour', () => {
  it('white, black and #rrggbb; anything else is an error naming --background', () => {
    expect(parseColour('white')).toEqual([255, 255, 255]);
    expect(parseColour('Black')).toEqual([0, 0, 0]);
    expect(parseColour('#0a80ff')).toEqual([10, 128, 255]);
    for (const bad of ['purple', '#fff', '#12345g', '', '255,255,255']) expect(() => parseColour(bad)).toThrow(/--background needs white, black or #rrggbb/);
  });
});

describe('fit: another aspect ratio than the output', () => {
  // 6 wide, 2 high, grey, columns 0, 50, 100, 150, 200, 250
  const cols = [0, 50, 100, 150, 200, 250];
  const wide = () => makePng(6, 2, 0, 8, [cols, cols]);

  it('squash (the default) resizes the whole image', () => {
    const expected = Array.from(resizeBilinear(Float32Array.from([...cols, ...cols]), 2, 6, 1, 2, 2));
    close(loadImage(wide(), { channels: 1, size: [2, 2], scale: 1 }).data as Float32Array, expected, 4);
    close(loadImage(wide(), { channels: 1, size: [2, 2], scale: 1, fit: 'squash' }).data as Float32Array, expected, 4);
  });

  it('crop keeps the centre window of the output aspect ratio', () => {
    close(loadImage(wide(), { channels: 1, size: [2, 2], scale: 1, fit: 'crop' }).data as Float32Array, [100, 150, 100, 150]);
  });

  it('pad fits the whole image inside and fills the rest with the background', () => {
    // scale 1/3: the image becomes 1 row of 2, centred in 2 rows: the second row is padding
    const inner = Array.from(resizeBilinear(Float32Array.from([...cols, ...cols]), 2, 6, 1, 1, 2));
    close(loadImage(wide(), { channels: 1, size: [2, 2], scale: 1, fit: 'pad' }).data as Float32Array, [...inner, 255, 255], 4);
    close(loadImage(wide(), { channels: 1, size: [2, 2], scale: 1, fit: 'pad', background: [0, 0, 0] }).data as Float32Array, [...inner, 0, 0], 4);
    // an RGB output pads with the colour itself
    const rgb = loadImage(wide(), { size: [2, 2], scale: 1, fit: 'pad', background: [10, 20, 30], layout: 'nhwc' }).data as Float32Array;
    close(rgb.subarray(6), [10, 20, 30, 10, 20, 30]);
  });

  it('an image of the same aspect ratio is resized the same by every fit', () => {
    const sq = makePng(4, 4, 0, 8, [cols.slice(0, 4), cols.slice(1, 5), cols.slice(2, 6), cols.slice(0, 4)]);
    const squash = loadImage(sq, { channels: 1, size: [2, 2] }).data;
    expect(loadImage(sq, { channels: 1, size: [2, 2], fit: 'crop' }).data).toEqual(squash);
    expect(loadImage(sq, { channels: 1, size: [2, 2], fit: 'pad' }).data).toEqual(squash);
  });
});

describe('describeConversion: one line whenever the file is not what the model takes', () => {
  const rgba = (w: number, h: number, a: number) =>
    makePng(
      w,
      h,
      6,
      8,
      Array.from({ length: h }, () => Array.from({ length: w }, () => [0, 0, 0, a]).flat()),
    );
  const describe_ = (png: Uint8Array, opts: Parameters<typeof loadImage>[1]) => describeConversion(readImage(png, opts).conversion);

  it('says what was done', () => {
    expect(describe_(rgba(300, 200, 0), { channels: 1, size: [28, 28] })).toBe(
      '300×200 RGBA → 28×28 grey (alpha over white, resized without keeping the aspect ratio)',
    );
    expect(describe_(rgba(300, 200, 0), { channels: 1, size: [28, 28], fit: 'crop', background: [0, 0, 0] })).toBe(
      '300×200 RGBA → 28×28 grey (alpha over black, centre cropped to the aspect ratio, then resized)',
    );
    expect(describe_(rgba(300, 200, 255), { size: [20, 30] })).toBe('300×200 RGBA → 30×20 RGB (opaque alpha dropped, resized)');
    expect(describe_(rgb2x2(), { channels: 1, size: [2, 2] })).toBe('2×2 RGB → 2×2 grey');
    expect(
      describe_(
        makePng(6, 2, 0, 8, [
          [1, 2, 3, 4, 5, 6],
          [1, 2, 3, 4, 5, 6],
        ]),
        { channels: 3, size: [4, 4], fit: 'pad', background: [1, 2, 3] },
      ),
    ).toBe('6×2 grey → 4×4 RGB (resized keeping the aspect ratio, padded with #010203)');
  });

  it('says nothing when the file matches', () => {
    expect(describe_(rgb2x2(), { size: [2, 2] })).toBeUndefined();
    expect(describe_(rgb2x2(), {})).toBeUndefined();
    expect(describe_(makePng(2, 1, 0, 8, [[0, 255]]), { channels: 1, size: [1, 2] })).toBeUndefined();
  });

  it('a folder gets one line counting what was done', () => {
    const list = [
      rgba(30, 20, 0),
      rgba(28, 28, 255),
      makePng(
        28,
        28,
        0,
        8,
        Array.from({ length: 28 }, () => new Array(28).fill(7)),
      ),
    ].map((p) => readImage(p, { channels: 1, size: [28, 28] }).conversion);
    expect(summarizeConversions(list)).toBe(
      '2 of 3 images converted to 28×28 grey: 2 from RGBA; 1 alpha over white, 1 opaque alpha dropped; 1 resized without keeping the aspect ratio',
    );
    expect(summarizeConversions(list.slice(2))).toBeUndefined();
  });
});

describe('loadImage: resize', () => {
  it('keeps the image when the size already matches', () => {
    const t = loadImage(rgb2x2(), { size: [2, 2], scale: 1 });
    close(t.data as Float32Array, [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30]);
  });

  it('enlarges with bilinear interpolation at half-pixel centres (like torch align_corners=False)', () => {
    const png = makePng(2, 1, 0, 8, [[0, 255]]);
    const t = loadImage(png, { channels: 1, size: [1, 4] });
    expect(t.dims).toEqual([1, 1, 1, 4]);
    close(t.data as Float32Array, [0, 0.25, 0.75, 1]);
    const tall = loadImage(makePng(1, 2, 0, 8, [[0], [255]]), { channels: 1, size: [4, 1] });
    close(tall.data as Float32Array, [0, 0.25, 0.75, 1]);
  });

  it('shrinks with a widened (antialiasing) triangle filter like PIL', () => {
    const ramp = [0, 10, 20, 30, 40, 50, 60, 70];
    const out = resizeBilinear(Float32Array.from(ramp), 1, 8, 1, 1, 4);
    // interior outputs reproduce the ramp at their centres; edges renormalise the clipped filter
    close(out, [12.5 / 1.75, 25, 45, 110 / 1.75], 4);
  });

  it('a constant image stays constant at any size', () => {
    const src = new Float32Array(5 * 7 * 3).fill(42);
    for (const [h, w] of [
      [2, 3],
      [11, 4],
      [1, 1],
    ] as const) {
      const out = resizeBilinear(src, 5, 7, 3, h, w);
      expect(out.length).toBe(h * w * 3);
      for (const v of out) expect(v).toBeCloseTo(42, 4);
    }
  });
});

describe('loadImage: JPEG', () => {
  const solid = (w: number, h: number, rgb: [number, number, number]): Uint8Array => {
    const data = new Uint8Array(w * h * 4);
    for (let p = 0; p < w * h; p++) data.set([...rgb, 255], 4 * p);
    return new Uint8Array(encodeJpeg({ width: w, height: h, data }, 100).data);
  };

  it('decodes a JPEG (lossy: within a few levels)', () => {
    const jpg = solid(16, 8, [200, 100, 50]);
    expect(detectImageFormat(jpg)).toBe('jpeg');
    const t = loadImage(jpg, { scale: 1 });
    expect(t.dims).toEqual([1, 3, 8, 16]);
    const d = t.data as Float32Array;
    for (let p = 0; p < 128; p++) {
      expect(Math.abs(d[p]! - 200)).toBeLessThanOrEqual(3);
      expect(Math.abs(d[128 + p]! - 100)).toBeLessThanOrEqual(3);
      expect(Math.abs(d[256 + p]! - 50)).toBeLessThanOrEqual(3);
    }
    const small = loadImage(jpg, { size: [4, 4], channels: 1, scale: 1 });
    expect(small.dims).toEqual([1, 1, 4, 4]);
    for (const v of small.data as Float32Array) expect(Math.abs(v - (0.299 * 200 + 0.587 * 100 + 0.114 * 50))).toBeLessThanOrEqual(3);
  });
});

describe('errors', () => {
  it('rejects data that is neither PNG nor JPEG', () => {
    expect(detectImageFormat(new Uint8Array([0x47, 0x49, 0x46, 0x38]))).toBeUndefined();
    expect(() => loadImage(new TextEncoder().encode('hello, world'))).toThrow('not a PNG or JPEG image');
    expect(() => loadImage(new Uint8Array(0))).toThrow('not a PNG or JPEG image');
  });

  it("says a damaged file is truncated or corrupt, in relprop's words, not the decoder's", () => {
    const png = rgb2x2();
    for (const n of [40, 60, png.length - 12]) expect(() => decodeImage(png.subarray(0, n))).toThrow(/^the PNG file is truncated or corrupt$/);
    const badCrc = png.slice();
    badCrc[29] = badCrc[29]! ^ 0xff; // inside the IHDR CRC
    expect(() => decodeImage(badCrc)).toThrow(/^the PNG file is truncated or corrupt$/);
    expect(() => decodeImage(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]))).toThrow(/^the JPEG file is truncated or corrupt$/);
    const data = new Uint8Array(16 * 8 * 4).fill(100);
    const jpg = new Uint8Array(encodeJpeg({ width: 16, height: 8, data }, 90).data);
    for (const n of [jpg.length - 10, Math.floor(jpg.length / 2), 100])
      expect(() => decodeImage(jpg.subarray(0, n))).toThrow(/^the JPEG file is truncated or corrupt$/);
  });

  it('names formats it does not read', () => {
    expect(() => decodeImage(new TextEncoder().encode('GIF89a....'))).toThrow('it is a GIF file; relprop reads PNG and JPEG images');
    expect(() => decodeImage(new TextEncoder().encode('BM......'))).toThrow(/it is a BMP file/);
  });

  it('rejects bad options', () => {
    expect(() => loadImage(rgb2x2(), { mean: [0.5, 0.5] })).toThrow(/mean has 2 values.*3 channels/);
    expect(() => loadImage(rgb2x2(), { std: [1, 0, 1] })).toThrow(/std/);
    expect(() => loadImage(rgb2x2(), { size: [0, 3] })).toThrow(/size/);
    expect(() => loadImage(rgb2x2(), { size: [2.5, 3] })).toThrow(/size/);
    expect(() => loadImage(rgb2x2(), { channels: 2 as 1 })).toThrow(/channels/);
    expect(() => loadImage(rgb2x2(), { fit: 'stretch' as 'pad' })).toThrow(/fit/);
    expect(() => loadImage(rgb2x2(), { background: [0, 0, 300] })).toThrow(/background/);
  });

  it('one mean/std value applies to every channel', () => {
    const t = loadImage(rgb2x2(), { mean: [0.5], std: [0.5] });
    close((t.data as Float32Array).subarray(0, 4), [1, -1, -1, (10 / 255 - 0.5) / 0.5], 5);
  });
});
