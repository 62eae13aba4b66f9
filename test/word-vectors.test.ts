/** Word vectors: the truncated SVD against known singular values, and PPMI vectors that group co-occurring words. */
import { describe, expect, it } from 'vitest';
import { jacobiEigen, ppmiSvdVectors, truncatedSvd } from '../src/core/text/word-vectors.js';

describe('word vectors', () => {
  it('truncated SVD recovers the singular values of a rank-2 matrix (numpy: 58.9950714, 9.12136468)', () => {
    const m = 50;
    const n = 30;
    const A = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) A[i * n + j] = 3 * Math.sin(i) * Math.cos(j) + 0.5 * Math.cos(2 * i) * Math.sin(3 * j);
    const { S, U } = truncatedSvd(A, m, n, 3, 0);
    expect(S[0]).toBeCloseTo(58.9950714, 4);
    expect(S[1]).toBeCloseTo(9.12136468, 4);
    expect(S[2]).toBeLessThan(1e-4);
    // Left singular vectors are orthonormal.
    let dot = 0;
    let norm = 0;
    for (let r = 0; r < m; r++) {
      dot += U[r * 3]! * U[r * 3 + 1]!;
      norm += U[r * 3]! ** 2;
    }
    expect(dot).toBeCloseTo(0, 6);
    expect(norm).toBeCloseTo(1, 6);
  });

  it('Jacobi eigen-decomposition of a symmetric matrix', () => {
    const { values } = jacobiEigen(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
    expect(Array.from(values).sort((a, b) => a - b).map((v) => +v.toFixed(9))).toEqual([1, 3, 5]);
  });

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
