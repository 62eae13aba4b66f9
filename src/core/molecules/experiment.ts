/**
 * The fixed split and the baselines of the molecules experiments, on records read by the caller:
 * folds stratified by presence of every target and by the first target, seeded; the test fold is
 * one of them, the rest train. Kernel ridge regression gets σ, λ per target by cross-validation on
 * (a seeded subsample of) the training molecules, then fits on up to `krrMaxTrain` of them.
 */
import { permutation, rngFor } from '../math/rng.js';
import { coulombMatrix, eigenspectrum, sortedCoulomb, triangleLength, upperTriangle } from './coulomb.js';
import type { MoleculeRecord } from './dataset.js';
import { crossValidateKrr, fitKrr, type KernelKind, predictKrr, takeRows } from './krr.js';
import type { MatrixSet } from './network.js';
import { foldIndices, stratifiedFolds } from './split.js';

export interface SplitOptions {
  folds: number;
  testFold: number;
  seed: number;
  size: number;
}

export interface Split {
  fold: Int32Array;
  train: number[];
  test: number[];
}

export function makeSplit(records: MoleculeRecord[], o: SplitOptions): Split {
  if (!(Number.isInteger(o.testFold) && o.testFold >= 0 && o.testFold < o.folds)) throw new Error(`test fold must be in 0…${o.folds - 1}, got ${o.testFold}`);
  const fold = stratifiedFolds(
    records.map((r) => ({ id: r.id, key: Number.isNaN(r.values[0]!) ? 0 : r.values[0]!, group: r.values.some(Number.isNaN) ? 0 : 1 })),
    o.folds,
    o.seed,
  );
  return { fold, train: foldIndices(fold, [o.testFold], true), test: foldIndices(fold, [o.testFold]) };
}

export function matrixSet(records: MoleculeRecord[], idx: number[], size: number): MatrixSet {
  return { matrices: idx.map((i) => coulombMatrix(records[i]!, size)), ids: idx.map((i) => records[i]!.id) };
}

/** Target values of the molecules idx (N×T, NaN = missing). */
export function targetRows(records: MoleculeRecord[], idx: number[], T: number): Float64Array {
  const Y = new Float64Array(idx.length * T);
  idx.forEach((i, k) => Y.set(records[i]!.values, k * T));
  return Y;
}

export type Representation = 'sorted' | 'eigenspectrum';

/** Fixed-length rows of a representation (N×D) and D. */
export function representationRows(records: MoleculeRecord[], idx: number[], rep: Representation, size: number): { X: Float64Array; D: number } {
  const D = rep === 'sorted' ? triangleLength(size) : size;
  const X = new Float64Array(idx.length * D);
  idx.forEach((i, k) => {
    const C = coulombMatrix(records[i]!, size);
    if (rep === 'sorted') upperTriangle(sortedCoulomb(C, size), size, X, k * D);
    else X.set(eigenspectrum(C, size, records[i]!.Z.length), k * D);
  });
  return { X, D };
}

/** The mean predictor: each target's training mean over present values. */
export function meanPredictor(Ytrain: Float64Array, T: number, nTest: number): Float64Array {
  const mean = new Float64Array(T);
  const n = new Float64Array(T);
  for (let k = 0; k < Ytrain.length; k++)
    if (!Number.isNaN(Ytrain[k]!)) {
      mean[k % T] = mean[k % T]! + Ytrain[k]!;
      n[k % T] = n[k % T]! + 1;
    }
  const out = new Float64Array(nTest * T);
  for (let k = 0; k < out.length; k++) out[k] = mean[k % T]! / n[k % T]!;
  return out;
}

export interface KrrOptions {
  kind: KernelKind;
  /** Largest training subset the final fit uses (a seeded sample; O(n³) time, O(n²) memory). */
  maxTrain: number;
  /** Molecules of the cross-validation for σ and λ (a seeded sample of the training set). */
  cvSize: number;
  cvFolds: number;
  seed: number;
  sigmaFactors: number[];
  lambdas: number[];
}

export const KRR_DEFAULTS: Omit<KrrOptions, 'kind'> = {
  maxTrain: 2000,
  cvSize: 600,
  cvFolds: 3,
  seed: 0,
  sigmaFactors: [0.25, 0.5, 1, 2, 4, 8],
  lambdas: [1e-2, 1e-4, 1e-6, 1e-8],
};

/**
 * KRR predictions (nTest×T) per target: the training molecules where the target is present, a
 * seeded sample of at most maxTrain of them, σ and λ from cross-validation on at most cvSize.
 */
export function krrPredict(
  Xtr: Float64Array,
  Ytr: Float64Array,
  Xte: Float64Array,
  D: number,
  T: number,
  o: KrrOptions,
): { pred: Float64Array; chosen: { sigma: number; lambda: number }[] } {
  const nTr = Xtr.length / D;
  const nTe = Xte.length / D;
  const pred = new Float64Array(nTe * T);
  const chosen: { sigma: number; lambda: number }[] = new Array(T);
  // Targets with the same missing pattern share kernels and factorisations.
  const groups = new Map<string, number[]>();
  for (let t = 0; t < T; t++) {
    let key = '';
    for (let i = 0; i < nTr; i++) key += Number.isNaN(Ytr[i * T + t]!) ? '0' : '1';
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  for (const [key, ts] of groups) {
    const present = [...key].flatMap((c, i) => (c === '1' ? [i] : []));
    const order = Array.from(permutation(present.length, rngFor(o.seed, 'krr-sample', key.length, ts[0]!)), (k) => present[k]!);
    const c = ts.length;
    const Yg = (rows: number[]) => Float64Array.from(rows.flatMap((i) => ts.map((t) => Ytr[i * T + t]!)));
    const cvRows = order.slice(0, Math.min(o.cvSize, order.length));
    const cvFold = Int32Array.from(cvRows, (_, k) => k % o.cvFolds);
    const cv = crossValidateKrr(o.kind, takeRows(Xtr, D, cvRows), D, Yg(cvRows), c, cvFold, { sigmaFactors: o.sigmaFactors, lambdas: o.lambdas });
    const fitRows = order.slice(0, Math.min(o.maxTrain, order.length));
    const Xf = takeRows(Xtr, D, fitRows);
    const Yf = Yg(fitRows);
    // One fit per distinct (σ, λ) among the group's choices.
    const byChoice = new Map<string, number[]>();
    cv.forEach((ch, q) => byChoice.set(`${ch.sigma},${ch.lambda}`, [...(byChoice.get(`${ch.sigma},${ch.lambda}`) ?? []), q]));
    for (const qs of byChoice.values()) {
      const { sigma, lambda } = cv[qs[0]!]!;
      const Ysub = Float64Array.from(fitRows.flatMap((_, r) => qs.map((q) => Yf[r * c + q]!)));
      const p = predictKrr(fitKrr(o.kind, Xf, D, Ysub, qs.length, sigma, lambda), Xte);
      qs.forEach((q, j) => {
        const t = ts[q]!;
        chosen[t] = { sigma, lambda };
        for (let i = 0; i < nTe; i++) pred[i * T + t] = p[i * qs.length + j]!;
      });
    }
  }
  return { pred, chosen };
}
