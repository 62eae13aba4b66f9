/**
 * Seeded randomness, relprop's only random-number module. Streams come from rngFor, keyed by the
 * run's seed and by what they are for (the sample's index in the data set, the repetition, a
 * purpose tag), never by processing order: a sample gets the same noise and the same random
 * ordering whether it is evaluated first, last, alone or after a resume.
 */

/** 32-bit FNV-1a over the key parts, then a murmur3 finaliser. */
export function hashKey(...parts: (number | string)[]): number {
  let h = 0x811c9dc5;
  const text = parts.map(String).join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A stream of uniforms in [0, 1); `fill` writes the next ones to `out` in one loop, at indices
 * [start, end) (default: all of it; a range costs no subarray object, which matters when filling
 * thousands of short rows).
 */
export interface Uniforms {
  (): number;
  fill(out: Float32Array | Float64Array, start?: number, end?: number): void;
}

/** sfc32: a small fast generator with a 128-bit state; returns uniforms in [0, 1). */
export function rngFor(...parts: (number | string)[]): Uniforms {
  // `| 0` keeps the state in int32 (hashKey's unsigned results above 2³¹ would make V8 treat the
  // state, and every step of the loops below, as doubles: fill then runs ~4× slower).
  let a = hashKey('a', ...parts) | 0;
  let b = hashKey('b', ...parts) | 0;
  let c = hashKey('c', ...parts) | 0;
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) * 2.3283064365386963e-10; // × 2⁻³², the same double as ÷ 2³², cheaper
  };
  // The same steps on local copies of the state: the numbers of as many next() calls, faster.
  const fill = (out: Float32Array | Float64Array, start = 0, end = out.length): void => {
    let A = a | 0;
    let B = b | 0;
    let C = c | 0;
    let D = d | 0;
    for (let i = start; i < end; i++) {
      const t = (((A + B) | 0) + D) | 0;
      D = (D + 1) | 0;
      A = B ^ (B >>> 9);
      B = (C + (C << 3)) | 0;
      C = (C << 21) | (C >>> 11);
      C = (C + t) | 0;
      out[i] = (t >>> 0) * 2.3283064365386963e-10;
    }
    a = A;
    b = B;
    c = C;
    d = D;
  };
  for (let i = 0; i < 12; i++) next();
  return Object.assign(next, { fill });
}

/** Fisher–Yates permutation of 0..n-1. */
export function permutation(n: number, rng: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Standard normal by Box–Muller from any uniform stream (two uniforms per draw, the sine half unused). */
export function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng());
}
