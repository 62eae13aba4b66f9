/**
 * Per-atom relevance of the molecules network: the slot mapping against a hand-worked example, the
 * whole pipeline (ONNX Runtime, float32) against a float64 reference written with plain loops on a
 * tiny trained network, conservation with biases removed, and atom order: with the noise off the
 * random matrix is the sorted one, so reordering a molecule's atoms must reorder its relevance.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Explainer } from '../src/core/explain/explainer.js';
import { coulombMatrix, rowNorms, triangleLength } from '../src/core/molecules/coulomb.js';
import { type MoleculeRecord, parseMoleculeJsonl } from '../src/core/molecules/dataset.js';
import { matrixSet, targetRows } from '../src/core/molecules/experiment.js';
import type { Molecule } from '../src/core/molecules/molecule.js';
import { pipelineOf, predictQm, QM_DEFAULTS, type QmModel, qmInferenceModel, trainQm } from '../src/core/molecules/network.js';
import { type QmPipeline, testRealisations } from '../src/core/molecules/pipeline.js';
import { bondsByDistance, layout2d } from '../src/core/molecules/depict.js';
import { entryRelevance, explainAtoms, moleculeExplainerOptions, propertyIndex, slotRelevance } from '../src/core/molecules/relevance.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { dense64, denseForward64 } from './reference/lrp64.js';

const FIXTURE = 'test/fixtures/molecules/sample.jsonl';
const TARGETS = ['gfn2.atomization_energy_kcal_mol', 'gfn2.homo_eV'];
const EPS = 0.01;

let records: MoleculeRecord[];
let model: QmModel;
let pipeline: QmPipeline;

beforeAll(async () => {
  records = parseMoleculeJsonl(readFileSync(FIXTURE, 'utf8'), TARGETS);
  const idx = records.map((_, i) => i);
  const o = { ...QM_DEFAULTS, size: 23, hidden: [12, 6], epochs: 3, batchSize: 10, lr: 3e-3, threads: 1, maxRealisations: 2, testRealisations: 3 };
  model = await trainQm(matrixSet(records, idx, 23), targetRows(records, idx, 2), TARGETS, o);
  pipeline = pipelineOf(model);
}, 60_000);

const f64 = (t: TensorData) => Float64Array.from(t.data as Float32Array);

/**
 * Float64 reference: features tanh((x_k − iθ)/θ) − μ_f)/s, dense + scaled tanh forward, ε-rule
 * backward (tanh passes), features summed per entry, and each atom's share found from the inverse
 * permutation (atom i sits in slot a = inv[i]; it owns entry (a, a) and half of every (a, b)).
 */
function reference(m: QmModel, p: QmPipeline, mol: Molecule, id: number, t: number): { atoms: number[]; padding: number; output: number } {
  const S = p.size;
  const D = triangleLength(S);
  const e = p.expansion;
  const { x, perms } = testRealisations(p, coulombMatrix(mol, S), id);
  const R = perms.length;
  const layers = m.spec.layers
    .filter((l) => l.type === 'dense')
    .map((_, k) => ({ W: f64(m.params.get(`dense_${k}.weight`)!), b: f64(m.params.get(`dense_${k}.bias`)!) }));
  const s = m.options.scale;
  const atoms = new Array<number>(mol.Z.length).fill(0);
  let padding = 0;
  let output = 0;
  for (let r = 0; r < R; r++) {
    const feat = new Float64Array(e.offsets[D]!);
    for (let k = 0; k < D; k++)
      for (let f = e.offsets[k]!, i = 0; f < e.offsets[k + 1]!; f++, i++) feat[f] = (Math.tanh((x[r * D + k]! - i * e.step) / e.step) - e.mean[f]!) / e.std;
    const acts: Float64Array[] = [feat];
    layers.forEach((l, k) => {
      const z = denseForward64({ x: acts[k]!, W: l.W, b: l.b });
      acts.push(k < layers.length - 1 ? z.map((v) => s * Math.tanh(v / s)) : z);
    });
    const out = acts[layers.length]!;
    let Rel: Float64Array = out.map((v, j) => (j === t ? v : 0));
    for (let k = layers.length - 1; k >= 0; k--) Rel = dense64({ x: acts[k]!, W: layers[k]!.W, b: layers[k]!.b, R: Rel }, { rule: 'epsilon', epsilon: EPS });
    // Entry relevance as an S×S upper-triangle lookup.
    const entry = (a: number, b: number) => {
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      const k = lo * S - (lo * (lo - 1)) / 2 + (hi - lo);
      let sum = 0;
      for (let f = e.offsets[k]!; f < e.offsets[k + 1]!; f++) sum += Rel[f]!;
      return sum;
    };
    const inv = new Array<number>(S);
    perms[r]!.forEach((orig, slot) => {
      inv[orig] = slot;
    });
    const std = p.targetStd[t]!;
    for (let i = 0; i < S; i++) {
      const a = inv[i]!;
      let share = entry(a, a);
      for (let b = 0; b < S; b++) if (b !== a) share += entry(a, b) / 2;
      if (i < mol.Z.length) atoms[i] = atoms[i]! + (share * std) / R;
      else padding += (share * std) / R;
    }
    output += (out[t]! * std) / R;
  }
  return { atoms, padding, output };
}

describe('per-atom relevance', () => {
  it('slot mapping: entries of P·C·Pᵀ go back to the atoms of C, off-diagonals halved', () => {
    // size 3, perm [2, 0, 1]: slot 0 of the permuted matrix is atom 2, slot 1 atom 0, slot 2 atom 1.
    // Triangle order: (0,0) (0,1) (0,2) (1,1) (1,2) (2,2) → C entries (2,2) (2,0) (2,1) (0,0) (0,1) (1,1).
    const m = slotRelevance([1, 2, 4, 8, 16, 32], 3, [2, 0, 1]);
    expect(Array.from(m)).toEqual([8, 8, 1, 8, 32, 2, 1, 2, 1]);
    // Entry relevance: each input dimension's features summed.
    const e = { step: 1, max: new Float64Array(2), offsets: Int32Array.from([0, 2, 5]), mean: new Float64Array(5), std: 1 };
    expect(Array.from(entryRelevance(e, [9, 9, 1, 2, 3, 10, 20, 30, 40, 50], 1))).toEqual([30, 120]);
  });

  it('matches a float64 reference on a tiny trained network, for both properties, with padding and averaging', async () => {
    const ex = await Explainer.create(qmInferenceModel(model), moleculeExplainerOptions(EPS, 1));
    const mols = [records[3]!, records[11]!, records[40]!];
    for (let t = 0; t < 2; t++) {
      const got = await explainAtoms(
        ex,
        pipeline,
        mols,
        mols.map((m) => m.id),
        t,
      );
      got.forEach((g, k) => {
        const ref = reference(model, pipeline, mols[k]!, mols[k]!.id, t);
        const scale = Math.max(...ref.atoms.map(Math.abs), Math.abs(ref.padding));
        expect(scale).toBeGreaterThan(0);
        ref.atoms.forEach((v, i) => expect(Math.abs(g.atoms[i]! - v), `molecule ${k} atom ${i} target ${t}`).toBeLessThan(1e-4 * scale));
        expect(Math.abs(g.padding - ref.padding)).toBeLessThan(1e-4 * scale);
        expect(g.prediction - g.baseline).toBeCloseTo(ref.output, 4);
        // Bookkeeping: atoms + padding = relevance; relevance + absorbed = prediction − baseline; pairs sum to the atom–atom part.
        expect(g.atoms.reduce((a, b) => a + b, 0) + g.padding).toBeCloseTo(g.relevance, 9);
        expect(g.relevance + g.absorbed).toBeCloseTo(g.prediction - g.baseline, 9);
        expect(g.pairs.length).toBe(mols[k]!.Z.length ** 2);
      });
    }
  });

  it('prediction agrees with predictQm for the same molecules and ids', async () => {
    const ex = await Explainer.create(qmInferenceModel(model), moleculeExplainerOptions(EPS, 1));
    const idx = [5, 6];
    const pred = await predictQm(model, matrixSet(records, idx, 23));
    const got = await explainAtoms(
      ex,
      pipeline,
      idx.map((i) => records[i]!),
      idx.map((i) => records[i]!.id),
      1,
    );
    got.forEach((g, k) => expect(g.prediction).toBeCloseTo(pred[k * 2 + 1]!, 4));
  });

  it('a molecule’s relevance does not depend on its batch (70 molecules: two chunks)', async () => {
    const ex = await Explainer.create(qmInferenceModel(model), moleculeExplainerOptions(EPS, 1));
    const many = [...records, ...records.slice(0, 10)];
    const all = await explainAtoms(
      ex,
      pipeline,
      many,
      many.map((m) => m.id),
      0,
    );
    expect(all).toHaveLength(70);
    for (const k of [3, 65]) {
      const [alone] = await explainAtoms(ex, pipeline, [many[k]!], [many[k]!.id], 0);
      alone!.atoms.forEach((v, i) => expect(all[k]!.atoms[i]!).toBeCloseTo(v, 5));
      expect(all[k]!.padding).toBeCloseTo(alone!.padding, 5);
    }
  });

  it('conserves: without biases, Σ atoms + padding = prediction − training mean', async () => {
    const params = new Map([...model.params].map(([k, v]) => [k, k.endsWith('.bias') ? { ...v, data: new Float32Array(v.data.length) } : v]));
    const ex = await Explainer.create(qmInferenceModel({ ...model, params }), moleculeExplainerOptions(1e-9, 1));
    const got = await explainAtoms(ex, pipeline, [records[20]!, records[33]!], [records[20]!.id, records[33]!.id], 0);
    for (const g of got) {
      const out = g.prediction - g.baseline;
      expect(Math.abs(out)).toBeGreaterThan(1e-3);
      expect(Math.abs(g.relevance - out)).toBeLessThan(1e-4 * Math.abs(out));
      expect(Math.abs(g.absorbed)).toBeLessThan(1e-4 * Math.abs(out));
    }
  });

  it('undoes the permutation: reordering the atoms reorders their relevance (noise off: the sorted matrix)', async () => {
    const ex = await Explainer.create(qmInferenceModel(model), moleculeExplainerOptions(EPS, 1));
    const p0 = { ...pipeline, noise: 0 };
    // A molecule whose row norms are all distinct, so the sorted matrix does not depend on atom order.
    const mol = records.find((r) => {
      const n = Array.from(rowNorms(coulombMatrix(r, 23), 23)).slice(0, r.Z.length);
      return r.Z.length >= 6 && new Set(n.map((v) => v.toFixed(6))).size === n.length;
    })!;
    const n = mol.Z.length;
    const order = Array.from({ length: n }, (_, i) => (i * 5 + 3) % n); // new atom k is old atom order[k]
    expect(new Set(order).size).toBe(n);
    const shuffled: Molecule = { name: 'shuffled', Z: order.map((i) => mol.Z[i]!), xyz: order.map((i) => mol.xyz[i]!) };
    const [a, b] = await explainAtoms(ex, p0, [mol, shuffled], [mol.id, mol.id], 0);
    const scale = Math.max(...a!.atoms.map(Math.abs));
    order.forEach((old, k) => expect(Math.abs(b!.atoms[k]! - a!.atoms[old]!)).toBeLessThan(1e-5 * scale));
    order.forEach((oi, k) => order.forEach((oj, l) => expect(b!.pairs[k * n + l]!).toBeCloseTo(a!.pairs[oi * n + oj]!, 5)));
    // The relevance is not uniform, so the check above can fail.
    expect(Math.max(...a!.atoms) - Math.min(...a!.atoms)).toBeGreaterThan(1e-3 * scale);
  });

  it('finds a property by full name or unique suffix, and names the choices when it cannot', () => {
    expect(propertyIndex(TARGETS, 'gfn2.homo_eV')).toBe(1);
    expect(propertyIndex(TARGETS, 'homo_eV')).toBe(1);
    expect(() => propertyIndex(TARGETS, 'lumo')).toThrow('unknown property "lumo"; the model predicts gfn2.atomization_energy_kcal_mol, gfn2.homo_eV');
    expect(() => propertyIndex(['a.homo_eV', 'b.homo_eV'], 'homo_eV')).toThrow('ambiguous');
  });

  it('picture geometry: bonds by covalent radii; the layout does not depend on rotation, translation or atom order', () => {
    const mol = records[40]!;
    const bonds = bondsByDistance(mol);
    // Every hydrogen has exactly one bond; the molecule is connected (a tree or rings: bonds ≥ atoms − 1).
    mol.Z.forEach((z, i) => {
      if (z === 1) expect(bonds.filter(([a, b]) => a === i || b === i)).toHaveLength(1);
    });
    expect(bonds.length).toBeGreaterThanOrEqual(mol.Z.length - 1);
    const [c, s] = [Math.cos(0.7), Math.sin(0.7)];
    const n = mol.Z.length;
    const order = Array.from({ length: n }, (_, i) => n - 1 - i);
    const moved: Molecule = {
      name: 'moved',
      Z: order.map((i) => mol.Z[i]!),
      xyz: order.map((i) => {
        const [x, y, z] = mol.xyz[i]!;
        return [c * x - s * y + 3, s * x + c * y - 1, z + 2] as [number, number, number];
      }),
    };
    const [a, b] = [layout2d(mol), layout2d(moved)];
    order.forEach((old, k) => {
      expect(b[k]![0]).toBeCloseTo(a[old]![0], 6);
      expect(b[k]![1]).toBeCloseTo(a[old]![1], 6);
    });
  });
});
