/**
 * Coulomb matrices (Rupp et al. 2012) and the representations built from them (Montavon et al.,
 * NIPS 2012): the eigenspectrum, the sorted matrix and random matrices. Units are fixed here and
 * nowhere else: coordinates arrive in Ångström and distances are taken in bohr, so
 * C_ii = 0.5·Z_i^2.4 and C_ij = Z_i·Z_j / |R_i − R_j|[bohr], in hartree-like atomic units. The
 * unit matters because the input expansion's step (1) is applied to these values.
 */
import { gaussian } from '../math/rng.js';
import { symmetricEigen } from '../math/linalg.js';
import { elementSymbol, type Molecule } from './molecule.js';

/** Bohr per Ångström (QM7b's readme: 100 / 52.917720859). */
export const BOHR_PER_ANGSTROM = 100 / 52.917720859;

/** The size × size Coulomb matrix of m (row-major, zero-padded after the molecule's atoms). */
export function coulombMatrix(m: Molecule, size: number): Float64Array {
  const n = m.Z.length;
  if (n > size) throw new Error(`molecule ${m.name}: ${n} atoms, more than the ${size} the matrices hold`);
  const C = new Float64Array(size * size);
  for (let i = 0; i < n; i++) {
    const zi = m.Z[i]!;
    C[i * size + i] = 0.5 * zi ** 2.4;
    const a = m.xyz[i]!;
    for (let j = 0; j < i; j++) {
      const b = m.xyz[j]!;
      const r = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) * BOHR_PER_ANGSTROM;
      if (!(r > 0)) throw new Error(`molecule ${m.name}: atoms ${j + 1} and ${i + 1} (${elementSymbol(m.Z[j]!)}, ${elementSymbol(zi)}) are at the same place`);
      const v = (zi * m.Z[j]!) / r;
      C[i * size + j] = v;
      C[j * size + i] = v;
    }
  }
  return C;
}

/** Euclidean norm of each row. */
export function rowNorms(C: ArrayLike<number>, size: number): Float64Array {
  const n = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let j = 0; j < size; j++) s += C[i * size + j]! ** 2;
    n[i] = Math.sqrt(s);
  }
  return n;
}

/** P·C·Pᵀ: row and column k of the result are row and column perm[k] of C (the same permutation for both). */
export function permuteBoth(C: ArrayLike<number>, size: number, perm: ArrayLike<number>): Float64Array {
  const out = new Float64Array(size * size);
  for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) out[a * size + b] = C[perm[a]! * size + perm[b]!]!;
  return out;
}

/** Indices ordering `keys` decreasingly; ties keep index order, so the result is deterministic. */
export function decreasingOrder(keys: ArrayLike<number>): number[] {
  return Array.from({ length: keys.length }, (_, i) => i).sort((a, b) => keys[b]! - keys[a]! || a - b);
}

/** The sorted Coulomb matrix: rows and columns ordered by decreasing row norm. */
export function sortedCoulomb(C: ArrayLike<number>, size: number): Float64Array {
  return permuteBoth(C, size, decreasingOrder(rowNorms(C, size)));
}

/**
 * A random Coulomb matrix (NIPS 2012, following the reference code): noise ε_i ~ N(0, σ²) is added
 * to the row norms — not to the entries — and the permutation sorting norm + ε decreasingly is
 * applied to rows and columns alike. Padding rows (norm 0) take part, so noise can move them among
 * the hydrogens, as in the reference code. Returns the matrix and the permutation used.
 */
export function randomCoulomb(C: ArrayLike<number>, size: number, rng: () => number, sigma = 1): { matrix: Float64Array; perm: number[] } {
  const perm = randomPermutation(C, size, rng, sigma);
  return { matrix: permuteBoth(C, size, perm), perm };
}

/** The permutation of randomCoulomb alone (the same draws from rng). */
export function randomPermutation(C: ArrayLike<number>, size: number, rng: () => number, sigma = 1): number[] {
  const n = rowNorms(C, size);
  for (let i = 0; i < size; i++) n[i] = n[i]! + sigma * gaussian(rng);
  return decreasingOrder(n);
}

/**
 * randomPermutation written into `perm`, with `norms` as scratch (each `size` long): the same
 * draws and the same order, without allocating (the training pipeline runs it for every molecule
 * of every batch).
 */
export function randomPermutationInto(C: ArrayLike<number>, size: number, rng: () => number, sigma: number, norms: Float64Array, perm: Int32Array): Int32Array {
  for (let i = 0; i < size; i++) {
    let s = 0;
    for (let j = 0; j < size; j++) s += C[i * size + j]! ** 2;
    norms[i] = Math.sqrt(s);
  }
  for (let i = 0; i < size; i++) norms[i] = norms[i]! + sigma * gaussian(rng);
  // Insertion sort by decreasing key, ties in index order: decreasingOrder's order.
  for (let i = 0; i < size; i++) {
    const key = norms[i]!;
    let j = i - 1;
    while (j >= 0 && norms[perm[j]!]! < key) {
      perm[j + 1] = perm[j]!;
      j--;
    }
    perm[j + 1] = i;
  }
  return perm;
}

/** Length of the upper triangle with the diagonal: size·(size+1)/2 (276 for 23). */
export const triangleLength = (size: number) => (size * (size + 1)) / 2;

/** The upper triangle including the diagonal, row by row (C_00, C_01, …, C_0n, C_11, …): one fixed order for every molecule. */
export function upperTriangle(C: ArrayLike<number>, size: number, out = new Float64Array(triangleLength(size)), at = 0): Float64Array {
  let k = at;
  for (let i = 0; i < size; i++) for (let j = i; j < size; j++) out[k++] = C[i * size + j]!;
  return out;
}

/** upperTriangle(permuteBoth(C, size, perm), size, out, at) without building the permuted matrix. */
export function permutedUpperTriangle(
  C: ArrayLike<number>,
  size: number,
  perm: ArrayLike<number>,
  out = new Float64Array(triangleLength(size)),
  at = 0,
): Float64Array {
  let k = at;
  for (let i = 0; i < size; i++) {
    const row = perm[i]! * size;
    for (let j = i; j < size; j++) out[k++] = C[row + perm[j]!]!;
  }
  return out;
}

/** Eigenvalues of C sorted by decreasing absolute value, zero-padded to `size` (only the molecule's block is decomposed). */
export function eigenspectrum(C: ArrayLike<number>, size: number, atoms: number): Float64Array {
  const block = new Float64Array(atoms * atoms);
  for (let i = 0; i < atoms; i++) for (let j = 0; j < atoms; j++) block[i * atoms + j] = C[i * size + j]!;
  const { values } = symmetricEigen(block, atoms);
  const order = decreasingOrder(Array.from(values, Math.abs));
  const out = new Float64Array(size);
  order.forEach((i, k) => {
    out[k] = values[i]!;
  });
  return out;
}
