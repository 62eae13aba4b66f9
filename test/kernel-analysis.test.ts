/** Kernel analysis (Montavon, Braun & Müller 2011): against a direct eigen-decomposition, and on representations of known quality. */
import { describe, expect, it } from 'vitest';
import { kernelAnalysis } from '../src/core/boltzmann/kernel-analysis.js';
import { descendingOrder, symmetricEigen } from '../src/core/math/linalg.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';

/** e(d) from a full Jacobi eigen-decomposition of the centered RBF kernel at one width (float64). */
function direct(x: number[][], labels: number[], sigma: number, D: number): number[] {
  const n = x.length;
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) K[i * n + j] = Math.exp(-x[i]!.reduce((s, v, k) => s + (v - x[j]![k]!) ** 2, 0) / (2 * sigma * sigma));
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) r[i]! += K[i * n + j]! / n;
  const g = r.reduce((s, v) => s + v, 0) / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) K[i * n + j] = K[i * n + j]! - r[i]! - r[j]! + g;
  const { values, vectors } = symmetricEigen(K, n);
  const order = descendingOrder(values);
  const C = Math.max(...labels) + 1;
  const mean = Array.from({ length: C }, (_, c) => labels.filter((l) => l === c).length / n);
  const errs: number[] = [];
  for (let d = 1; d <= D; d++) {
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      const yhat = mean.map((m, c) => {
        let s = m;
        for (let k = 0; k < d; k++) {
          const col = order[k]!;
          let proj = 0;
          for (let j = 0; j < n; j++) proj += vectors[j * n + col]! * ((labels[j] === c ? 1 : 0) - m);
          s += vectors[i * n + col]! * proj;
        }
        return s;
      });
      if (yhat.indexOf(Math.max(...yhat)) !== labels[i]) wrong++;
    }
    errs.push(wrong / n);
  }
  return errs;
}

function clusters(n: number, dim: number, separation: number, seed: number) {
  const rng = rngFor(seed, 'test-ka');
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const x = labels.map((l) => Array.from({ length: dim }, (_, k) => (k === l ? separation : 0) + gaussian(rng)));
  return { x, labels };
}

describe('kernel analysis', () => {
  it('equals the errors of a full eigen-decomposition at the same width', () => {
    const { x, labels } = clusters(45, 4, 1.5, 1);
    const r = kernelAnalysis(Float64Array.from(x.flat()), labels, 4, { maxComponents: 8, widthFactors: [1] });
    expect(Array.from(r.error)).toEqual(direct(x, labels, r.medianDistance, 8));
  });

  it('a representation that separates the classes explains them with fewer components than noise does', () => {
    const good = clusters(90, 5, 6, 2);
    const noise = clusters(90, 5, 0, 2); // the same Gaussian noise without the class offsets
    const a = kernelAnalysis(Float64Array.from(good.x.flat()), good.labels, 5, { maxComponents: 10 });
    const b = kernelAnalysis(Float64Array.from(noise.x.flat()), noise.labels, 5, { maxComponents: 10 });
    expect(a.error[1]!).toBe(0); // two components separate three clusters
    expect(b.error[1]!).toBeGreaterThan(0.4);
    expect(a.error.length).toBe(10);
  });

  it('refuses labels that are not class indices and data of the wrong size', () => {
    expect(() => kernelAnalysis(new Float64Array(6), [0, 1.5, 0], 2)).toThrow(/label 1 is 1.5/);
    expect(() => kernelAnalysis(new Float64Array(5), [0, 1, 0], 2)).toThrow(/5 values are not 3 samples × 2/);
  });
});
