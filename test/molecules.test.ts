/**
 * Molecules: XYZ/JSONL input and its errors, Coulomb matrices against hand-computed values (H2,
 * H2O), invariances of the sorted matrix and the eigenspectrum, random matrices, the expansion,
 * the split, kernel ridge regression, and the multi-task network trained by relprop's trainer.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rngFor } from '../src/core/math/rng.js';
import {
  BOHR_PER_ANGSTROM,
  coulombMatrix,
  eigenspectrum,
  permutedUpperTriangle,
  permuteBoth,
  randomCoulomb,
  randomPermutation,
  randomPermutationInto,
  rowNorms,
  sortedCoulomb,
  upperTriangle,
} from '../src/core/molecules/coulomb.js';
import { parseMoleculeJsonl, SEMI_EMPIRICAL_TARGETS } from '../src/core/molecules/dataset.js';
import { expandRows, expandRowsReference, fitExpansion } from '../src/core/molecules/expand.js';
import { krrPredict, KRR_DEFAULTS, makeSplit, matrixSet, meanPredictor, targetRows } from '../src/core/molecules/experiment.js';
import { cholesky, choleskySolve, fitKrr, predictKrr } from '../src/core/molecules/krr.js';
import { type Molecule, parseXyz } from '../src/core/molecules/molecule.js';
import { predictQm, QM_DEFAULTS, scores, trainQm } from '../src/core/molecules/network.js';
import { stratifiedFolds } from '../src/core/molecules/split.js';

const FIXTURE = 'test/fixtures/molecules/sample.jsonl';
const H2O: Molecule = {
  name: 'water',
  Z: [8, 1, 1],
  xyz: [
    [0, 0, 0],
    [0.9572, 0, 0],
    [0.9572 * Math.cos((104.52 * Math.PI) / 180), 0.9572 * Math.sin((104.52 * Math.PI) / 180), 0],
  ],
};

function transform(m: Molecule, perm: number[], rot: number, shift: [number, number, number]): Molecule {
  const [c, s] = [Math.cos(rot), Math.sin(rot)];
  return {
    name: m.name,
    Z: perm.map((i) => m.Z[i]!),
    xyz: perm.map((i) => {
      const [x, y, z] = m.xyz[i]!;
      return [c * x - s * z + shift[0], y + shift[1], s * x + c * z + shift[2]] as [number, number, number];
    }),
  };
}

describe('molecule input', () => {
  it('reads several molecules from one XYZ text, names from the comment line', () => {
    const ms = parseXyz('2\nhydrogen\nH 0 0 0\nH 0.74 0 0\n\n3\n\nO 0 0 0\nh 0.9572 0 0\n1 -0.24 0.93 0\n', 'two.xyz');
    expect(ms.map((m) => m.Z)).toEqual([
      [1, 1],
      [8, 1, 1],
    ]);
    expect(ms[0]!.name).toBe('1 ("hydrogen")');
    expect(ms[1]!.xyz[2]).toEqual([-0.24, 0.93, 0]);
  });

  it('bad XYZ input: one clear error naming the file, line and molecule', () => {
    expect(() => parseXyz('2\nx\nH 0 0 0\nXx 1 0 0\n', 'f.xyz')).toThrow('f.xyz:4: molecule 1 ("x"): unknown element "Xx"');
    expect(() => parseXyz('2\nx\nH 0 0 0\nH 1 zero 0\n', 'f.xyz')).toThrow('f.xyz:4: molecule 1 ("x"): expected "Symbol x y z", got "H 1 zero 0"');
    expect(() => parseXyz('2\nx\nH 0 0 0\nH 0 0 0\n', 'f.xyz')).toThrow('f.xyz: molecule 1 ("x"), line 4: overlaps line 3 (distance 0.000 Å)');
    expect(() => parseXyz('3\nx\nH 0 0 0\nH 1 0 0\n', 'f.xyz')).toThrow('f.xyz:5: molecule 1 ("x") declares 3 atoms but has 2');
    expect(() => parseXyz('two\nx\n', 'f.xyz')).toThrow('f.xyz:1: expected the atom count of molecule 1, got "two"');
    expect(() => coulombMatrix(parseXyz('3\nbig\nH 0 0 0\nH 1 0 0\nH 0 1 0\n')[0]!, 2)).toThrow(
      'molecule 1 ("big"): 3 atoms, more than the 2 the matrices hold',
    );
  });

  it('reads the data set’s JSONL by target name, null levels as missing, bad lines named', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    const rs = parseMoleculeJsonl(text, ['gfn2.homo_eV', 'pbe0_631g.homo_eV'], 'sample.jsonl');
    expect(rs).toHaveLength(60);
    expect(rs[0]!.id).toBe(0);
    expect(rs[0]!.values[0]).toBeCloseTo(-10.0516, 6);
    expect(rs[0]!.values[1]).toBeCloseTo(-5.940552, 6);
    expect(Number.isNaN(rs[59]!.values[1]!)).toBe(true);
    expect(() => parseMoleculeJsonl(text, ['gfn2.homo_ev'], 'sample.jsonl')).toThrow('sample.jsonl:1: molecule id 0 has no numeric "homo_ev" at level "gfn2"');
    expect(() => parseMoleculeJsonl('{"id": 3, "Z": [1, 99], "xyz": [[0,0,0],[1,0,0]]}\n', [], 'x.jsonl')).toThrow(
      'x.jsonl:1: molecule id 3, atom 2: unknown element (nuclear charge 99)',
    );
    expect(() => parseMoleculeJsonl('{"id": 3,\n', [], 'x.jsonl')).toThrow(/^x.jsonl:1: not JSON/);
  });
});

describe('Coulomb matrices', () => {
  it('H2 and H2O against hand-computed values (distances in bohr)', () => {
    const h2 = coulombMatrix(parseXyz('2\n\nH 0 0 0\nH 0.74 0 0\n')[0]!, 3);
    // 1 / (0.74 Å · 1.8897261 bohr/Å) = 0.715104; padding stays zero.
    expect(Array.from(h2)).toEqual([0.5, expect.closeTo(0.7151043, 6), 0, expect.closeTo(0.7151043, 6), 0.5, 0, 0, 0, 0]);
    const w = coulombMatrix(H2O, 3);
    const want = [73.5166947, 4.4227096, 4.4227096, 4.4227096, 0.5, 0.3495455, 4.4227096, 0.3495455, 0.5];
    w.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    expect(BOHR_PER_ANGSTROM).toBeCloseTo(1.8897261, 7);
  });

  it('the sorted matrix and the eigenspectrum do not change under atom order, rotation and translation', () => {
    const m = parseMoleculeJsonl(readFileSync(FIXTURE, 'utf8'), [])[1]!; // 20 atoms
    const n = m.Z.length;
    const perm = Array.from({ length: n }, (_, i) => (i * 7 + 3) % n);
    const moved = transform(m, perm, 0.7, [3, -2, 5]);
    const [a, b] = [coulombMatrix(m, 23), coulombMatrix(moved, 23)];
    expect(Math.max(...Array.from(a).map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(1); // the raw matrix does change
    const [sa, sb] = [sortedCoulomb(a, 23), sortedCoulomb(b, 23)];
    sa.forEach((v, i) => expect(v).toBeCloseTo(sb[i]!, 8));
    const [ea, eb] = [eigenspectrum(a, 23, n), eigenspectrum(b, 23, n)];
    ea.forEach((v, i) => expect(v).toBeCloseTo(eb[i]!, 7));
    // Sorted by decreasing |λ|, padded with zeros; the trace is kept.
    for (let i = 1; i < 23; i++) expect(Math.abs(ea[i]!)).toBeLessThanOrEqual(Math.abs(ea[i - 1]!) + 1e-12);
    expect(ea.slice(n).every((v) => v === 0)).toBe(true);
    expect(ea.reduce((s, v) => s + v, 0)).toBeCloseTo(
      m.Z.reduce((s, z) => s + 0.5 * z ** 2.4, 0),
      6,
    );
    // Row norms decrease along the sorted matrix.
    const norms = rowNorms(sa, 23);
    for (let i = 1; i < 23; i++) expect(norms[i]!).toBeLessThanOrEqual(norms[i - 1]!);
  });

  it('random matrices: noise on the row norms, one permutation for rows and columns, seeded', () => {
    const C = coulombMatrix(H2O, 5);
    const { matrix, perm } = randomCoulomb(C, 5, rngFor(1, 'x'), 1);
    expect(Array.from(matrix)).toEqual(Array.from(permuteBoth(C, 5, perm)));
    expect([...perm].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(randomCoulomb(C, 5, rngFor(1, 'x'), 1).matrix)).toEqual(Array.from(matrix)); // same key, same matrix
    // σ = 0 is the sorted matrix; with σ = 1 the two hydrogens (equal norms) and the padding rows
    // trade places across draws, while oxygen (norm ≈ 73.8) always stays first.
    expect(Array.from(randomCoulomb(C, 5, rngFor(2), 0).matrix)).toEqual(Array.from(sortedCoulomb(C, 5)));
    const firsts = new Set<string>();
    for (let r = 0; r < 50; r++) {
      const p = randomCoulomb(C, 5, rngFor('draw', r), 1).perm;
      expect(p[0]).toBe(0);
      firsts.add(p.slice(1).join());
    }
    expect(firsts.size).toBeGreaterThan(3);
  });

  it('upper triangle with the diagonal, row by row', () => {
    expect(Array.from(upperTriangle([1, 2, 3, 2, 4, 5, 3, 5, 6], 3))).toEqual([1, 2, 3, 4, 5, 6]);

    // The training and test pipelines take the triangle of the permuted matrix without building it.
    const C = coulombMatrix(H2O, 5);
    for (let r = 0; r < 5; r++) {
      const perm = randomPermutation(C, 5, rngFor('tri', r), 1);
      expect(perm).toEqual(randomCoulomb(C, 5, rngFor('tri', r), 1).perm);
      expect(Array.from(permutedUpperTriangle(C, 5, perm))).toEqual(Array.from(upperTriangle(permuteBoth(C, 5, perm), 5)));
    }
  });

  it('the allocation-free permutation of the training pipeline draws the same numbers and gives the same order', () => {
    const C = coulombMatrix(H2O, 5);
    // Equal norms everywhere: the order of ties must be index order, as decreasingOrder's.
    const flat = new Float64Array(25).fill(1);
    const norms = new Float64Array(5);
    const perm = new Int32Array(5);
    for (const [M, sigma] of [
      [C, 1],
      [C, 0],
      [flat, 0],
      [C, 30],
    ] as const)
      for (let r = 0; r < 20; r++) {
        const a = rngFor('into', r);
        const b = rngFor('into', r);
        expect([...randomPermutationInto(M, 5, a, sigma, norms, perm)]).toEqual(randomPermutation(M, 5, b, sigma));
        expect(a()).toBe(b()); // as many draws
      }
  });
});

describe('input expansion', () => {
  it('tanh thermometer up to the training maximum, centred per feature, one global scale', () => {
    // Dimension 0 has maximum 1.5 → thresholds 0, 1, 2 (numpy arange(0, 2.5, 1)); dimension 1 max 0 → one threshold.
    const stat = Float64Array.from([0.5, 0, 1.5, 0]);
    const e = fitExpansion([Float64Array.from([1.5, -1, 0, 0])], stat, 2, 1);
    expect(Array.from(e.offsets)).toEqual([0, 3, 4]);
    const raw = (x: number) => [Math.tanh(x), Math.tanh(x - 1), Math.tanh(x - 2)];
    const r0 = [...raw(0.5), 0];
    const r1 = [...raw(1.5), 0];
    const mean = r0.map((v, i) => (v + r1[i]!) / 2);
    const std = Math.sqrt(r0.reduce((s, v, i) => s + (v - mean[i]!) ** 2 + (r1[i]! - mean[i]!) ** 2, 0) / 8);
    expect(e.std).toBeCloseTo(std, 12);
    const out = expandRows(e, Float64Array.from([0.5, 0, 3, 0]));
    r0.forEach((v, i) => expect(out[i]).toBeCloseTo((v - mean[i]!) / std, 5));
    // A test value above the training maximum saturates instead of growing a new feature.
    expect(out.length).toBe(8);
    expect(out[6]).toBeCloseTo((Math.tanh(1) - mean[2]!) / std, 5);
  });

  it('skipping tanh where it saturates or the input is 0 changes no bit, and writes into a given buffer', () => {
    // Maxima up to 450 (a chlorine's diagonal): hundreds of thresholds, most codes saturated.
    const D = 6;
    const rng = rngFor('expand-fast');
    const rows = (n: number, scale: number) => Float64Array.from({ length: n * D }, (_, i) => (rng() - 0.2) * scale * (1 + (i % D)));
    const e = fitExpansion([rows(20, 75)], rows(20, 75), D, 1);
    expect(e.offsets[D]!).toBeGreaterThan(500);
    for (const step of [1, 0.7]) {
      const f = { ...e, step };
      const x = rows(30, 80);
      // Exactly at the cut-off and around it; zeros (padding) take a precomputed code.
      x.set([10, 9.999999999999998, -10, 9, 0, 10 * step], 0);
      x.fill(0, 6 * 10, 6 * 12);
      x.set([-0, 0, -0], 6 * 13);
      expect([...expandRows(f, x)]).toEqual([...expandRowsReference(f, x)]);
      const out = new Float32Array(30 * e.offsets[D]! + 5).fill(7);
      expandRows(f, x, out);
      expect([...out.subarray(0, 30 * e.offsets[D]!)]).toEqual([...expandRowsReference(f, x)]);
      expect([...out.subarray(30 * e.offsets[D]!)]).toEqual([7, 7, 7, 7, 7]);
    }
  });
});

describe('split and baselines', () => {
  const records = parseMoleculeJsonl(readFileSync(FIXTURE, 'utf8'), ['gfn2.atomization_energy_kcal_mol', 'pbe0_631g.atomization_energy_kcal_mol']);

  it('stratified folds: equal sizes, both strata spread, independent of input order, seeded', () => {
    const split = makeSplit(records, { folds: 5, testFold: 0, seed: 0, size: 23 });
    const count = (g: (i: number) => boolean) => [0, 1, 2, 3, 4].map((f) => records.filter((_, i) => split.fold[i] === f && g(i)).length);
    expect(count(() => true)).toEqual([12, 12, 12, 12, 12]);
    expect(count((i) => Number.isNaN(records[i]!.values[1]!))).toEqual([4, 4, 4, 4, 4]);
    // The folds follow the molecules, not the file order.
    const rev = [...records].reverse();
    const foldOfId = new Map(rev.map((r, i) => [r.id, makeSplit(rev, { folds: 5, testFold: 0, seed: 0, size: 23 }).fold[i]]));
    records.forEach((r, i) => expect(foldOfId.get(r.id)).toBe(split.fold[i]));
    expect(Array.from(makeSplit(records, { folds: 5, testFold: 0, seed: 1, size: 23 }).fold)).not.toEqual(Array.from(split.fold));
    // Stratified: each block of 5 consecutive energies sends one molecule to every fold.
    const items = records.map((r) => ({ id: r.id, key: r.values[0]!, group: 0 }));
    const f = stratifiedFolds(items, 5, 0);
    const sorted = items.map((_, i) => i).sort((a, b) => items[a]!.key - items[b]!.key);
    for (let s = 0; s < 60; s += 5) expect(new Set(sorted.slice(s, s + 5).map((i) => f[i])).size).toBe(5);
    expect(split.test).toEqual([...split.fold.keys()].filter((i) => split.fold[i] === 0));
  });

  it('Cholesky solve and KRR: exact solutions, interpolation at tiny λ, mean predictor', () => {
    const A = Float64Array.from([4, 2, 0.4, 2, 5, 1, 0.4, 1, 3]);
    const x = Float64Array.from([1, -2, 0.5, 3, 0, 1]); // two right-hand sides
    const b = new Float64Array(6);
    for (let i = 0; i < 3; i++) for (let q = 0; q < 2; q++) for (let k = 0; k < 3; k++) b[i * 2 + q] = b[i * 2 + q]! + A[i * 3 + k]! * x[k * 2 + q]!;
    choleskySolve(cholesky(Float64Array.from(A), 3), 3, b, 2).forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 10));
    const X = Float64Array.from([0, 1, 2, 3.5]);
    const Y = Float64Array.from([1, 3, 2, 5]);
    for (const kind of ['gaussian', 'laplacian'] as const) predictKrr(fitKrr(kind, X, 1, Y, 1, 1, 1e-10), X).forEach((v, i) => expect(v).toBeCloseTo(Y[i]!, 5));
    expect(Array.from(meanPredictor(Float64Array.from([1, NaN, 3, 4]), 2, 2))).toEqual([2, 4, 2, 4]);
  });

  it('KRR on sorted matrices beats the mean predictor on held-out molecules; the missing target trains on present values', () => {
    const split = makeSplit(records, { folds: 3, testFold: 0, seed: 0, size: 23 });
    const T = 2;
    const rep = (idx: number[]) => {
      const { X } = { X: new Float64Array(idx.length * 276) };
      idx.forEach((i, k) => upperTriangle(sortedCoulomb(coulombMatrix(records[i]!, 23), 23), 23, X, k * 276));
      return X;
    };
    const Ytr = targetRows(records, split.train, T);
    const Yte = targetRows(records, split.test, T);
    const { pred } = krrPredict(rep(split.train), Ytr, rep(split.test), 276, T, { ...KRR_DEFAULTS, kind: 'laplacian', cvSize: 40 });
    const krr = scores(pred, Yte, T);
    const mean = scores(meanPredictor(Ytr, T, split.test.length), Yte, T);
    expect(krr[0]!.mae).toBeLessThan(0.5 * mean[0]!.mae);
    expect(krr[1]!.n).toBe(split.test.filter((i) => !Number.isNaN(records[i]!.values[1]!)).length);
    expect(krr[1]!.mae).toBeLessThan(mean[1]!.mae);
  });
});

describe('multi-task network', () => {
  it('trains with masks and fresh random matrices, and averages predictions over random matrices', async () => {
    const rs = parseMoleculeJsonl(readFileSync(FIXTURE, 'utf8'), [...SEMI_EMPIRICAL_TARGETS.slice(0, 3), 'pbe0_631g.atomization_energy_kcal_mol']);
    const idx = rs.map((_, i) => i);
    const set = matrixSet(rs, idx, 23);
    const Y = targetRows(rs, idx, 4);
    const o = { ...QM_DEFAULTS, size: 23, hidden: [32, 16], epochs: 30, batchSize: 10, lr: 3e-3, threads: 1, maxRealisations: 3, testRealisations: 4 };
    const model = await trainQm(set, Y, ['a', 'b', 'c', 'd'], o);
    expect(model.history[29]!.trainLoss).toBeLessThan(0.5 * model.history[0]!.trainLoss);
    const pred = await predictQm(model, set);
    const mean = scores(meanPredictor(Y, 4, rs.length), Y, 4);
    const net = scores(pred, Y, 4);
    for (let t = 0; t < 4; t++) expect(net[t]!.mae, `target ${t}`).toBeLessThan(0.7 * mean[t]!.mae);
    expect(net[3]!.n).toBe(40); // the 20 molecules without psi4 values are not scored (nor trained on)
    // A molecule's averaged prediction does not depend on its batch.
    const alone = await predictQm(model, { matrices: [set.matrices[7]!], ids: [set.ids[7]!] });
    alone.forEach((v, t) => expect(v).toBeCloseTo(pred[7 * 4 + t]!, 4));
  }, 60_000);
});
