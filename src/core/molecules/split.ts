/**
 * The fixed split of the molecules experiments: K stratified folds, seeded. Molecules are ordered
 * by whether all targets are present (so the subset with ab initio values is spread evenly) and
 * then by the stratifying target (as QM7's folds are stratified by energy); each consecutive block
 * of K molecules sends one to each fold, which fold by a permutation keyed by (seed, block). The
 * folds depend on the molecules' values and ids only, not on file order.
 */
import { permutation, rngFor } from '../math/rng.js';

export interface SplitItem {
  id: number;
  /** The stratifying value. */
  key: number;
  /** Stratum before the key (e.g. 1 = has every target). */
  group: number;
}

/** fold[i] ∈ 0..K−1 for each item. */
export function stratifiedFolds(items: SplitItem[], K: number, seed: number): Int32Array {
  if (!(Number.isInteger(K) && K >= 2)) throw new Error(`folds must be an integer ≥ 2, got ${K}`);
  if (items.length < K) throw new Error(`${items.length} molecules cannot fill ${K} folds`);
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.group - items[b]!.group || items[a]!.key - items[b]!.key || items[a]!.id - items[b]!.id);
  const fold = new Int32Array(items.length);
  for (let s = 0, block = 0; s < order.length; s += K, block++) {
    const p = permutation(K, rngFor(seed, 'molecule-folds', block));
    for (let j = 0; j < K && s + j < order.length; j++) fold[order[s + j]!] = p[j]!;
  }
  return fold;
}

/** Indices of the items in `folds` (or not in them, with invert). */
export function foldIndices(fold: Int32Array, folds: number[], invert = false): number[] {
  const set = new Set(folds);
  const out: number[] = [];
  fold.forEach((f, i) => {
    if (set.has(f) !== invert) out.push(i);
  });
  return out;
}
