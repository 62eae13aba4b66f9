/**
 * Tests of the float64 LRP reference itself (test/reference/lrp64.ts): hand-computed values pin
 * each formula of fixtures/lrp/README.md, and structural identities (conservation, zplus =
 * alphabeta(1,0), epsilon → gradient×input, flat = wsquare on ones, 1×1 conv = dense) tie the
 * dense, conv and pool code paths together.
 */
import { describe, expect, it } from 'vitest';
import {
  type LinearRule64,
  type Tensor64,
  addNorm64,
  avgpoolForward64,
  avgpoolNorm64,
  conv2d64,
  conv2dForward64,
  convConnections64,
  connectionsForward64,
  dense64,
  denseForward64,
  globalAvgpoolNorm64,
  maxpoolForward64,
  maxpoolWta64,
  stab,
  transpose2d64,
} from './reference/lrp64.js';

// ---- deterministic random numbers --------------------------------------------------------------

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(n: number, seed: number, scale = 1): Float64Array {
  const u = rng(seed);
  return Float64Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u()));
}

function uniform(n: number, seed: number, lo: number, hi: number): Float64Array {
  const u = rng(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * u());
}

const t64 = (dims: number[], data: ArrayLike<number>): Tensor64 => ({ dims, data: Float64Array.from(data) });
const sum = (a: ArrayLike<number>, from = 0, to = a.length): number => {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i]!;
  return s;
};

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= tol * Math.max(1, Math.abs(expected[i]!)))) {
      throw new Error(`index ${i}: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Every Gemm/Conv rule, with a tiny stabiliser where conservation is checked to 1e-9. */
const TIGHT: LinearRule64[] = [
  { rule: 'epsilon', epsilon: 1e-13 },
  { rule: 'zplus', stabilizer: 1e-13 },
  { rule: 'alphabeta', alpha: 2, beta: 1, stabilizer: 1e-13 },
  { rule: 'alphabeta', alpha: 1, beta: 0, stabilizer: 1e-13 },
  { rule: 'gamma', gamma: 0.25, stabilizer: 1e-13 },
  { rule: 'zbox', low: -3, high: 3, stabilizer: 1e-13 },
  { rule: 'wsquare', stabilizer: 1e-13 },
  { rule: 'flat', stabilizer: 1e-13 },
];
const ALL_DEFAULT: LinearRule64[] = [
  { rule: 'epsilon', epsilon: 1e-6 },
  { rule: 'epsilon', epsilon: 0.25 },
  { rule: 'zplus' },
  { rule: 'alphabeta', alpha: 2, beta: 1 },
  { rule: 'gamma', gamma: 0.25 },
  { rule: 'zbox', low: -3, high: 3 },
  { rule: 'wsquare' },
  { rule: 'flat' },
];
const name = (r: LinearRule64): string => JSON.stringify(r);

// ---- the stabiliser --------------------------------------------------------------------------

describe('stab', () => {
  it('adds ε with the sign of d, and sgn(0) = +1', () => {
    expect(stab(2, 0.1)).toBe(2.1);
    expect(stab(-2, 0.1)).toBe(-2.1);
    expect(stab(0, 1e-6)).toBe(1e-6);
  });
});

// ---- hand-computed single-layer values -------------------------------------------------------

describe('dense64: hand-computed values of each formula', () => {
  // one output, two inputs: x = [1, -2], w = [0.5, 1], b = -0.5, R = 1; z = 0.5 - 2 - 0.5 = -2
  const layer = { x: Float64Array.of(1, -2), W: Float64Array.of(0.5, 1), b: Float64Array.of(-0.5), R: Float64Array.of(1) };
  const exact = (rule: LinearRule64, want: number[]) => expectClose(dense64(layer, rule), want, 1e-14);

  it('epsilon: R_i = x_i w_i R / (z + ε·sgn z)', () => {
    exact({ rule: 'epsilon', epsilon: 0.1 }, [0.5 / -2.1, -2 / -2.1]);
  });

  it('zplus: x⁻w⁻ counts as positive, b⁺ in the denominator (here p = 0.5, x₁w₁ < 0 gets nothing)', () => {
    exact({ rule: 'zplus', stabilizer: 0 }, [1, 0]);
  });

  it('alphabeta(2,1): p = x⁺w⁺ + x⁻w⁻ + b⁺ = 0.5, n = x⁺w⁻ + x⁻w⁺ + b⁻ = -2.5', () => {
    exact({ rule: 'alphabeta', alpha: 2, beta: 1, stabilizer: 0 }, [2 * (0.5 / 0.5), -(-2 / -2.5)]);
    // the stabiliser sits in both denominators with their own signs
    exact({ rule: 'alphabeta', alpha: 2, beta: 1, stabilizer: 0.5 }, [2 * (0.5 / 1), -(-2 / -3)]);
  });

  it('gamma at a negative output: u = w + γw⁻ for x⁺, v = w + γw⁺ for x⁻, c = b + γb⁻', () => {
    // u0 = 0.5, v1 = 1.25, c = -0.625, d = 0.5 - 2.5 - 0.625 = -2.625
    exact({ rule: 'gamma', gamma: 0.25, stabilizer: 0 }, [0.5 / -2.625, -2.5 / -2.625]);
  });

  it('gamma at a positive output: u = w + γw⁺, v = w + γw⁻, c = b + γb⁺', () => {
    // x = [1, -2], w = [0.5, -1], b = 0.5: z = 3; u0 = 0.625, v1 = -1.25, c = 0.625, d = 3.75
    const r = dense64(
      { x: Float64Array.of(1, -2), W: Float64Array.of(0.5, -1), b: Float64Array.of(0.5), R: Float64Array.of(1) },
      {
        rule: 'gamma',
        gamma: 0.25,
        stabilizer: 0,
      },
    );
    expectClose(r, [0.625 / 3.75, 2.5 / 3.75], 1e-14);
  });

  it('zbox: terms x w − l w⁺ − h w⁻, no bias', () => {
    // terms: 0.5 + 1.5 - 0 = 2, -2 + 3 - 0 = 1; d = 3
    exact({ rule: 'zbox', low: -3, high: 3, stabilizer: 0 }, [2 / 3, 1 / 3]);
  });

  it('wsquare: the squared bias is in the denominator', () => {
    // w² = [0.25, 1], b² = 0.25, d = 1.5
    exact({ rule: 'wsquare', stabilizer: 0 }, [0.25 / 1.5, 1 / 1.5]);
  });

  it('flat: d = number of inputs, values and weights ignored', () => {
    exact({ rule: 'flat', stabilizer: 0 }, [0.5, 0.5]);
    exact({ rule: 'flat' }, [1 / (2 + 1e-6), 1 / (2 + 1e-6)]);
  });

  it('a zero denominator is stabilised with +ε (sgn(0) = +1)', () => {
    // x = [1, -1], w = [1, 1], b = 0: z = 0 → stab = +ε
    const zero = { x: Float64Array.of(1, -1), W: Float64Array.of(1, 1), b: Float64Array.of(0), R: Float64Array.of(1) };
    expectClose(dense64(zero, { rule: 'epsilon', epsilon: 0.5 }), [2, -2], 1e-14);
  });

  it('gamma drops the relevance of outputs with z = 0', () => {
    const zero = { x: Float64Array.of(1, -1), W: Float64Array.of(1, 1), b: Float64Array.of(0), R: Float64Array.of(1) };
    expect([...dense64(zero, { rule: 'gamma', gamma: 0.25 })]).toEqual([0, 0]);
  });

  it('sums over outputs and keeps samples apart (N = 2, out = 2)', () => {
    // W[i*out + j]: w00 = 1, w01 = 2, w10 = 3, w11 = 4
    const W = Float64Array.of(1, 2, 3, 4);
    const x = Float64Array.of(1, 1, 2, 0);
    const R = Float64Array.of(1, 1, 0, 5);
    // sample 0: z = [4, 6]; R_i = x_i (w_i0/4 + w_i1/6). sample 1: z = [2, 4]; R_i = x_i w_i1 * 5/4
    expectClose(dense64({ x, W, b: new Float64Array(2), R }, { rule: 'epsilon', epsilon: 0 }), [1 / 4 + 2 / 6, 3 / 4 + 4 / 6, 2 * 2 * 1.25, 0]);
    expectClose(denseForward64({ x, W, b: Float64Array.of(0.5, -1) }), [4.5, 5, 2.5, 3]);
  });
});

// ---- structural identities on random layers ---------------------------------------------------

describe('dense64: identities on a random layer', () => {
  const N = 3;
  const nIn = 7;
  const nOut = 5;
  const x = uniform(N * nIn, 1, -2.5, 2.5); // inside the zbox bounds, both signs
  const W = normals(nIn * nOut, 2, 0.6);
  const b = normals(nOut, 3, 0.3);
  const R = normals(N * nOut, 4);
  const zero = new Float64Array(nOut);

  it.each(TIGHT.map((r) => [name(r), r] as const))('conserves relevance with zero bias: %s', (_n, rule) => {
    const Rin = dense64({ x, W, b: zero, R }, rule);
    for (let n = 0; n < N; n++) {
      const out = sum(R, n * nOut, (n + 1) * nOut);
      expect(Math.abs(sum(Rin, n * nIn, (n + 1) * nIn) - out)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(out)));
    }
  });

  it('zplus equals alphabeta(1, 0), with bias and negative inputs', () => {
    expectClose(dense64({ x, W, b, R }, { rule: 'zplus' }), dense64({ x, W, b, R }, { rule: 'alphabeta', alpha: 1, beta: 0 }), 1e-13);
  });

  it('epsilon with tiny ε is gradient × input of the linear layer', () => {
    // seed R_j = z_j c_j: then R_i = x_i Σ_j w_ij c_j z_j / stab(z_j) → x_i (W c)_i = x ⊙ ∂(c·z)/∂x
    const c = normals(N * nOut, 5);
    const z = denseForward64({ x, W, b });
    const Rz = z.map((zj, k) => zj * c[k]!);
    const Rin = dense64({ x, W, b, R: Rz }, { rule: 'epsilon', epsilon: 1e-10 });
    const gxi = new Float64Array(N * nIn);
    for (let n = 0; n < N; n++)
      for (let i = 0; i < nIn; i++) for (let j = 0; j < nOut; j++) gxi[n * nIn + i]! += x[n * nIn + i]! * W[i * nOut + j]! * c[n * nOut + j]!;
    expectClose(Rin, gxi, 1e-8);
  });

  it('gamma(0) is epsilon with the same stabiliser', () => {
    expectClose(dense64({ x, W, b, R }, { rule: 'gamma', gamma: 0, stabilizer: 1e-3 }), dense64({ x, W, b, R }, { rule: 'epsilon', epsilon: 1e-3 }), 1e-12);
  });

  it('flat equals wsquare with all-ones weights and zero bias, and ignores W and x', () => {
    const ones = new Float64Array(nIn * nOut).fill(1);
    const flat = dense64({ x, W, b, R }, { rule: 'flat' });
    expectClose(flat, dense64({ x, W: ones, b: zero, R }, { rule: 'wsquare' }), 1e-14);
    expectClose(flat, dense64({ x: normals(N * nIn, 9), W: normals(nIn * nOut, 10), b, R }, { rule: 'flat' }), 1e-14);
  });

  it('transpose2d64 turns a Gemm transB weight [out,in] into [in,out]', () => {
    const Wt = transpose2d64(W, nIn, nOut); // [out, in]
    expectClose(transpose2d64(Wt, nOut, nIn), W, 0);
    expect(Wt[2 * nIn + 3]).toBe(W[3 * nOut + 2]);
  });

  it('validates shapes', () => {
    expect(() => dense64({ x, W, b, R: new Float64Array(4) }, { rule: 'flat' })).toThrow(/R has 4 values/);
    expect(() => dense64({ x: new Float64Array(5), W, b, R }, { rule: 'flat' })).toThrow(/not a multiple of in=7/);
  });
});

// ---- convolution -------------------------------------------------------------------------------

describe('conv2dForward64', () => {
  it('matches hand-computed outputs (cross-correlation, stride, padding, dilation, groups, 1-D)', () => {
    const x = t64([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const diag = t64([1, 1, 2, 2], [1, 0, 0, 1]);
    expect(conv2dForward64({ x, W: diag })).toEqual(t64([1, 1, 2, 2], [6, 8, 12, 14]));
    expect(conv2dForward64({ x, W: diag, b: Float64Array.of(0.5), strides: [2, 2], pads: [1, 1, 1, 1] })).toEqual(t64([1, 1, 2, 2], [1.5, 3.5, 7.5, 14.5]));
    expect(conv2dForward64({ x, W: diag, dilations: [2, 2] })).toEqual(t64([1, 1, 1, 1], [10]));
    // asymmetric pads: only bottom/right
    expect(conv2dForward64({ x, W: diag, pads: [0, 0, 1, 1] }).data).toEqual(Float64Array.of(6, 8, 3, 12, 14, 6, 7, 8, 9));
    // groups = 2: each output channel sees only its own input channel
    const x2 = t64([1, 2, 1, 2], [1, 2, 10, 20]);
    expect(conv2dForward64({ x: x2, W: t64([2, 1, 1, 1], [1, -1]), groups: 2 })).toEqual(t64([1, 2, 1, 2], [1, 2, -10, -20]));
    // 1-D: [N, C, L]
    expect(conv2dForward64({ x: t64([1, 1, 4], [1, 2, 4, 8]), W: t64([1, 1, 2], [1, -1]), pads: [0, 1] })).toEqual(t64([1, 1, 4], [-1, -2, -4, 8]));
  });
});

describe('conv2d64', () => {
  // N=2, C=4, 5×6 input, 6 output channels, groups 2, 3×3 kernel, stride 2, asymmetric padding, dilation
  const conf = {
    x: t64([2, 4, 5, 6], uniform(2 * 4 * 5 * 6, 11, -2.5, 2.5)),
    W: t64([6, 2, 3, 3], normals(6 * 2 * 9, 12, 0.5)),
    b: normals(6, 13, 0.3),
    strides: [2, 1],
    pads: [1, 2, 0, 1],
    dilations: [1, 2],
    groups: 2,
  };
  const y = conv2dForward64(conf);
  const R = t64(y.dims, normals(y.data.length, 14));

  it('its connection list reproduces the direct forward pass', () => {
    // H: (5 + 1 + 0 - 3) / 2 + 1 = 2;  W: 6 + 2 + 1 - (2·2 + 1) + 1 = 5
    expect(y.dims).toEqual([2, 6, 2, 5]);
    const conn = convConnections64(conf);
    const per = conn.nIn;
    for (let n = 0; n < 2; n++) {
      const z = connectionsForward64(conn, conf.x.data.subarray(n * per, (n + 1) * per));
      expectClose(z, y.data.subarray(n * conn.nOut, (n + 1) * conn.nOut), 1e-13);
    }
  });

  it('epsilon with tiny ε equals x ⊙ gradient of the forward pass (by finite differences)', () => {
    // f(x) = Σ c ⊙ conv(x) is linear in x, so f(x + e_i) − f(x) is the exact gradient
    const c = normals(y.data.length, 15);
    const f = (x: Tensor64): number => conv2dForward64({ ...conf, x }).data.reduce((s, v, k) => s + v * c[k]!, 0);
    const Rin = conv2d64(
      {
        ...conf,
        R: t64(
          y.dims,
          y.data.map((v, k) => v * c[k]!),
        ),
      },
      { rule: 'epsilon', epsilon: 1e-10 },
    );
    const f0 = f(conf.x);
    const want = new Float64Array(conf.x.data.length);
    for (let i = 0; i < want.length; i++) {
      const xp = Float64Array.from(conf.x.data);
      xp[i]! += 1;
      want[i] = conf.x.data[i]! * (f({ dims: conf.x.dims, data: xp }) - f0);
    }
    expectClose(Rin.data, want, 1e-7);
  });

  it.each(TIGHT.map((r) => [name(r), r] as const))('conserves relevance with zero bias, padding included: %s', (_n, rule) => {
    const Rin = conv2d64({ ...conf, b: undefined, R }, rule);
    expect(Rin.dims).toEqual(conf.x.dims);
    const half = Rin.data.length / 2;
    for (let n = 0; n < 2; n++) {
      const out = sum(R.data, n * (R.data.length / 2), (n + 1) * (R.data.length / 2));
      expect(Math.abs(sum(Rin.data, n * half, (n + 1) * half) - out)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(out)));
    }
  });

  it('zplus equals alphabeta(1, 0)', () => {
    expectClose(conv2d64({ ...conf, R }, { rule: 'zplus' }).data, conv2d64({ ...conf, R }, { rule: 'alphabeta', alpha: 1, beta: 0 }).data, 1e-13);
  });

  it('flat equals wsquare with all-ones weights and zero bias', () => {
    const ones = t64(conf.W.dims, new Float64Array(conf.W.data.length).fill(1));
    expectClose(conv2d64({ ...conf, R }, { rule: 'flat' }).data, conv2d64({ ...conf, W: ones, b: undefined, R }, { rule: 'wsquare' }).data, 1e-14);
  });

  it('flat counts only real inputs at a padded border', () => {
    // 2×2 input, 3×3 kernel, pad 1: every output sees the 4 real inputs, not 9 positions
    const x = t64([1, 1, 2, 2], [5, 6, 7, 8]);
    const W = t64([1, 1, 3, 3], new Float64Array(9).fill(1));
    const Rin = conv2d64({ x, W, pads: [1, 1, 1, 1], R: t64([1, 1, 2, 2], [1, 0, 0, 0]) }, { rule: 'flat', stabilizer: 0 });
    expect([...Rin.data]).toEqual([0.25, 0.25, 0.25, 0.25]);
    // wsquare likewise sums w² over real inputs only: weights 1..9, output (0,0) sees w at kernel (1..2, 1..2)
    const W2 = t64([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const Rw = conv2d64({ x, W: W2, pads: [1, 1, 1, 1], R: t64([1, 1, 2, 2], [1, 0, 0, 0]) }, { rule: 'wsquare', stabilizer: 0 });
    const d = 25 + 36 + 64 + 81;
    expectClose(Rw.data, [25 / d, 36 / d, 64 / d, 81 / d], 1e-14);
  });

  it.each(ALL_DEFAULT.map((r) => [name(r), r] as const))('a 1×1 conv equals the dense rule at every pixel: %s', (_n, rule) => {
    const [N, C, O, H, Wd] = [2, 3, 4, 2, 3];
    const x = t64([N, C, H, Wd], uniform(N * C * H * Wd, 21, -2.5, 2.5));
    const Wc = t64([O, C, 1, 1], normals(O * C, 22));
    const b = normals(O, 23, 0.3);
    const R = t64([N, O, H, Wd], normals(N * O * H * Wd, 24));
    const conv = conv2d64({ x, W: Wc, b, R }, rule);
    // dense weight [in=C, out=O]: W[c*O + o] = Wc[o, c]
    const Wd2 = transpose2d64(Wc.data, O, C);
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < H * Wd; p++) {
        const xp = Float64Array.from({ length: C }, (_, c) => x.data[(n * C + c) * H * Wd + p]!);
        const Rp = Float64Array.from({ length: O }, (_, o) => R.data[(n * O + o) * H * Wd + p]!);
        const dense = dense64({ x: xp, W: Wd2, b, R: Rp }, rule);
        const convP = Float64Array.from({ length: C }, (_, c) => conv.data[(n * C + c) * H * Wd + p]!);
        expectClose(convP, dense, 1e-13);
      }
    }
  });

  it('1-D convolution equals the 2-D one with height 1', () => {
    const x1 = t64([1, 2, 7], uniform(14, 31, -2, 2));
    const W1 = t64([3, 2, 3], normals(18, 32));
    const b = normals(3, 33, 0.2);
    const y1 = conv2dForward64({ x: x1, W: W1, b, pads: [1, 0], strides: [2] });
    expect(y1.dims).toEqual([1, 3, 3]);
    const R1 = t64(y1.dims, normals(9, 34));
    const R2d = conv2d64(
      { x: t64([1, 2, 1, 7], x1.data), W: t64([3, 2, 1, 3], W1.data), b, pads: [0, 1, 0, 0], strides: [1, 2], R: t64([1, 3, 1, 3], R1.data) },
      { rule: 'gamma', gamma: 0.25 },
    );
    const R1d = conv2d64({ x: x1, W: W1, b, pads: [1, 0], strides: [2], R: R1 }, { rule: 'gamma', gamma: 0.25 });
    expect(R1d.dims).toEqual([1, 2, 7]);
    expectClose(R1d.data, R2d.data, 0);
  });

  it('validates shapes', () => {
    expect(() => conv2d64({ ...conf, R: t64([2, 6, 3, 3], new Float64Array(108)) }, { rule: 'flat' })).toThrow(/output dims are \[2,6,2,5\]/);
    expect(() => conv2dForward64({ ...conf, groups: 3 })).toThrow(/divisible by groups/);
  });
});

// ---- pooling and Add ---------------------------------------------------------------------------

describe('maxpoolWta64', () => {
  it('gives each window’s relevance to its first maximum; overlapping windows add up', () => {
    const x = t64([1, 1, 1, 4], [1, 3, 3, 2]);
    const args = { x, kernel: [1, 2], strides: [1, 1] };
    expect([...maxpoolForward64(args).data]).toEqual([3, 3, 3]);
    // windows [1,3] → index 1, [3,3] → index 1 (first of the tie), [3,2] → index 2
    expect([...maxpoolWta64({ ...args, R: t64([1, 1, 1, 3], [1, 2, 4]) }).data]).toEqual([0, 3, 4, 0]);
  });

  it('first maximum in row-major order inside a 2-D window', () => {
    // window values [[5, 9], [9, 1]]: the 9 at (0, 1) comes first in row-major order
    const x = t64([1, 1, 2, 2], [5, 9, 9, 1]);
    expect([...maxpoolWta64({ x, kernel: [2, 2], strides: [2, 2], R: t64([1, 1, 1, 1], [7]) }).data]).toEqual([0, 7, 0, 0]);
  });

  it('padding never wins, also with all-negative inputs; 1-D works the same', () => {
    const x = t64([1, 1, 1, 2], [-5, -7]);
    const args = { x, kernel: [1, 2], strides: [1, 1], pads: [0, 1, 0, 1] };
    expect([...maxpoolForward64(args).data]).toEqual([-5, -5, -7]);
    expect([...maxpoolWta64({ ...args, R: t64([1, 1, 1, 3], [1, 1, 1]) }).data]).toEqual([2, 1]);
    const x1 = t64([1, 1, 2], [-5, -7]);
    expect([...maxpoolWta64({ x: x1, kernel: [2], pads: [1, 1], R: t64([1, 1, 3], [1, 1, 1]) }).data]).toEqual([2, 1]);
  });

  it('conserves relevance and keeps channels and samples apart', () => {
    const x = t64([2, 3, 4, 5], normals(120, 41));
    const args = { x, kernel: [2, 2], strides: [2, 2] };
    const y = maxpoolForward64(args);
    expect(y.dims).toEqual([2, 3, 2, 2]);
    const R = t64(y.dims, normals(24, 42));
    const Rin = maxpoolWta64({ ...args, R });
    expect(sum(Rin.data)).toBeCloseTo(sum(R.data), 12);
    for (let k = 0; k < 120; k++) if (Rin.data[k] !== 0) expect(y.data).toContain(x.data[k]);
  });
});

describe('avgpoolNorm64', () => {
  it('adds ε to the mean, not to the sum', () => {
    // y = (1 + 3)/2 = 2, stab = 2.5; R_i = x_i (1/2) R / 2.5
    const x = t64([1, 1, 1, 2], [1, 3]);
    const Rin = avgpoolNorm64({ x, kernel: [1, 2], R: t64([1, 1, 1, 1], [1]) }, 0.5);
    expectClose(Rin.data, [0.2, 0.6], 1e-14);
  });

  it('is the epsilon rule on the pool as a dense layer with weights 1/K (global pool)', () => {
    const [N, C, H, W] = [2, 3, 2, 3];
    const K = H * W;
    const x = t64([N, C, H, W], uniform(N * C * K, 51, -1, 2));
    const R = t64([N, C, 1, 1], normals(N * C, 52));
    const eps = 0.1;
    const Rin = globalAvgpoolNorm64({ x, R }, eps);
    const Wd = new Float64Array(C * K * C); // [in = C*K, out = C]
    for (let c = 0; c < C; c++) for (let p = 0; p < K; p++) Wd[(c * K + p) * C + c] = 1 / K;
    expectClose(Rin.data, dense64({ x: x.data, W: Wd, b: new Float64Array(C), R: R.data }, { rule: 'epsilon', epsilon: eps }), 1e-13);
    expectClose(avgpoolForward64({ x, kernel: [H, W] }).data, denseForward64({ x: x.data, W: Wd, b: new Float64Array(C) }), 1e-14);
  });

  it('counts padding in K only with countIncludePad', () => {
    const x = t64([1, 1, 1, 2], [2, 4]);
    const args = { x, kernel: [1, 2], strides: [1, 1], pads: [0, 1, 0, 0] };
    expect([...avgpoolForward64(args).data]).toEqual([2, 3]);
    expect([...avgpoolForward64({ ...args, countIncludePad: true }).data]).toEqual([1, 3]);
    const R = t64([1, 1, 1, 2], [1, 1]);
    // window 0 = [pad, 2]: excluded K = 1 → all of R₀ to x₀; included K = 2, y = 1 → still all of R₀ to x₀
    expectClose(avgpoolNorm64({ ...args, R }, 0).data, [1 + 2 / 6, 4 / 6], 1e-14);
    expectClose(avgpoolNorm64({ ...args, R, countIncludePad: true }, 0).data, [1 + 2 / 6, 4 / 6], 1e-14);
  });

  it('conserves relevance with overlapping windows (tiny ε)', () => {
    const x = t64([1, 2, 5, 5], uniform(50, 61, 0.1, 2));
    const args = { x, kernel: [3, 3], strides: [1, 1] };
    const R = t64([1, 2, 3, 3], normals(18, 62));
    expect(sum(avgpoolNorm64({ ...args, R }, 1e-13).data)).toBeCloseTo(sum(R.data), 10);
  });
});

describe('addNorm64', () => {
  it('splits R in proportion to the operands', () => {
    const { Ra, Rb } = addNorm64(Float64Array.of(1, -2), Float64Array.of(3, 1), Float64Array.of(2, 1), 0);
    expectClose(Ra, [0.5, 2], 1e-15);
    expectClose(Rb, [1.5, -1], 1e-15);
    const s = addNorm64(Float64Array.of(1), Float64Array.of(1), Float64Array.of(1)); // default ε = 1e-6
    expectClose(s.Ra, [1 / (2 + 1e-6)], 1e-15);
  });
});
