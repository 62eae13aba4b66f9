/** Word vectors: PPMI vectors that group co-occurring words (the SVD itself: linalg.test.ts). */
import { describe, expect, it } from 'vitest';
import { ppmiSvdVectors } from '../src/core/text/word-vectors.js';

describe('word vectors', () => {
  it('words that share contexts get similar vectors', () => {
    // Two topics: words 2–5 co-occur, words 6–9 co-occur; 0 and 1 are padding/unknown.
    const docs: number[][] = [];
    for (let d = 0; d < 200; d++) {
      const topic = d % 2 ? [2, 3, 4, 5] : [6, 7, 8, 9];
      docs.push(Array.from({ length: 12 }, (_, i) => topic[(d * 7 + i * 3) % 4]!));
    }
    const v = ppmiSvdVectors(docs, 10, { dim: 2, window: 2, skip: [0, 1] });
    const cos = (a: number, b: number) => {
      const x = [v[a * 2]!, v[a * 2 + 1]!];
      const y = [v[b * 2]!, v[b * 2 + 1]!];
      return (x[0]! * y[0]! + x[1]! * y[1]!) / (Math.hypot(...x) * Math.hypot(...y));
    };
    expect(cos(2, 3)).toBeGreaterThan(0.9);
    expect(cos(6, 7)).toBeGreaterThan(0.9);
    expect(cos(2, 6)).toBeLessThan(0.5);
    expect(v[0]).toBe(0); // padding has no vector
  });
});
