/** The one symmetric eigen-solver (PCA, truncated SVD) against matrices with known eigenpairs, and the truncated SVD against known singular values. */
import { describe, expect, it } from 'vitest';
import { descendingOrder, symmetricEigen, truncatedSvd } from '../src/core/math/linalg.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';

/** Householder reflection I − 2uuᵀ/|u|²: orthogonal and symmetric, so its columns are known eigenvectors. */
function householder(u: number[]): Float64Array {
  const n = u.length;
  const uu = u.reduce((s, x) => s + x * x, 0);
  return Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0) - (2 * u[Math.floor(k / n)]! * u[k % n]!) / uu);
}

/** Q diag(λ) Qᵀ. */
function withEigenpairs(Q: Float64Array, lambda: number[]): Float64Array {
  const n = lambda.length;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j]! += Q[i * n + k]! * lambda[k]! * Q[j * n + k]!;
  return A;
}

describe('symmetricEigen', () => {
  it('finds the eigenpairs of Q diag(λ) Qᵀ: every value, every vector up to sign, orthonormal vectors', () => {
    const lambda = [7, -2, 3.5, 0.25, 1];
    const n = lambda.length;
    const Q = householder([1, 2, 3, 4, 5]);
    const A = withEigenpairs(Q, lambda);
    const before = Float64Array.from(A);
    const { values, vectors } = symmetricEigen(A, n);
    expect(A).toEqual(before); // the input is not modified
    const order = descendingOrder(values);
    expect(order.map((i) => values[i]!)).toEqual([7, 3.5, 1, 0.25, -2].map((v) => expect.closeTo(v, 12)));
    for (let j = 0; j < n; j++) {
      // The found vector for λ_j is ± column j of Q.
      const found = lambda.findIndex((l) => Math.abs(l - values[j]!) < 1e-9);
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[i * n + j]! * Q[i * n + found]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 12);
      for (let k = 0; k < n; k++) {
        let vk = 0;
        for (let i = 0; i < n; i++) vk += vectors[i * n + j]! * vectors[i * n + k]!;
        expect(vk).toBeCloseTo(j === k ? 1 : 0, 12);
      }
    }
  });

  it('solves a 3×3 by hand: [[2,1,0],[1,2,0],[0,0,5]] has 1, 3, 5 with (1,−1,0)/√2, (1,1,0)/√2, (0,0,1)', () => {
    const { values, vectors } = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    const col = (j: number) => [vectors[j]!, vectors[3 + j]!, vectors[6 + j]!];
    const expected: Record<number, number[]> = { 1: [Math.SQRT1_2, -Math.SQRT1_2, 0], 3: [Math.SQRT1_2, Math.SQRT1_2, 0], 5: [0, 0, 1] };
    expect(Array.from(values).sort((a, b) => a - b)).toEqual([1, 3, 5].map((v) => expect.closeTo(v, 12)));
    for (let j = 0; j < 3; j++) {
      const e = expected[Math.round(values[j]!)]!;
      const sign = Math.sign(col(j).reduce((s, x, i) => s + x * e[i]!, 0));
      expect(col(j).map((x) => sign * x)).toEqual(e.map((v) => expect.closeTo(v, 12)));
    }
  });

  it('A·V = V·Λ with a repeated eigenvalue, and a diagonal matrix is its own answer', () => {
    const n = 6;
    const Q = householder([2, -1, 0.5, 3, 1, -2]);
    const lambda = [4, 4, -1, 2, 2, 0];
    const A = withEigenpairs(Q, lambda);
    const { values, vectors } = symmetricEigen(A, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += A[i * n + k]! * vectors[k * n + j]!;
        expect(av).toBeCloseTo(vectors[i * n + j]! * values[j]!, 12);
      }
    expect(Array.from(values).sort((a, b) => a - b)).toEqual([-1, 0, 2, 2, 4, 4].map((v) => expect.closeTo(v, 12)));
    const diag = symmetricEigen([3, 0, 0, -1], 2);
    expect(Array.from(diag.values)).toEqual([3, -1]);
    expect(Array.from(diag.vectors)).toEqual([1, 0, 0, 1]);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/expected 2×2/);
  });
});

describe('truncatedSvd', () => {
  it('recovers the singular values of a rank-2 matrix (numpy: 58.9950714, 9.12136468) with orthonormal left vectors', () => {
    const m = 50;
    const n = 30;
    const A = new Float32Array(m * n);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) A[i * n + j] = 3 * Math.sin(i) * Math.cos(j) + 0.5 * Math.cos(2 * i) * Math.sin(3 * j);
    const rng = rngFor(0, 'test');
    const { S, U } = truncatedSvd(A, m, n, 3, () => gaussian(rng));
    expect(S[0]).toBeCloseTo(58.9950714, 4);
    expect(S[1]).toBeCloseTo(9.12136468, 4);
    expect(S[2]).toBeLessThan(1e-4);
    let dot = 0;
    let norm = 0;
    for (let r = 0; r < m; r++) {
      dot += U[r * 3]! * U[r * 3 + 1]!;
      norm += U[r * 3]! ** 2;
    }
    expect(dot).toBeCloseTo(0, 6);
    expect(norm).toBeCloseTo(1, 6);
  });
});
