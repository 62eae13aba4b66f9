/**
 * Per-atom relevance of the molecules network ("beyond the paper", issue 16): which atoms make a
 * property's prediction what it is. Montavon et al. (NJP 2013) explain nothing per atom; this is
 * LRP (Bach et al. 2015) carried through their input pipeline, step by step:
 *
 * 1. Network: relprop's explainer compiles LRP from the chosen property's output to the expanded
 *    features x̃_f, seeded with the output's (standardised) value. Dense layers take the ε-rule
 *    R_i = Σ_j x_i w_ij / (z_j + ε·sgn z_j) · R_j (z_j with its bias); the scaled tanh passes
 *    relevance unchanged (the usual treatment of element-wise activations).
 * 2. Expansion: feature f = (tanh((x_k − t_f)/θ) − μ_f)/s depends on one Coulomb entry k alone,
 *    so the entry gets the sum of its features, R_k = Σ_{f ∈ features(k)} R_f (as embedding
 *    dimensions are summed per token).
 * 3. Matrix: triangle entry k is (a, b), a ≤ b, of the random matrix P·C·Pᵀ, i.e. entry
 *    (perm[a], perm[b]) of C in file order. A diagonal entry C_ii = ½Z_i^2.4 is atom i's alone;
 *    an off-diagonal C_ij = Z_iZ_j/|R_i − R_j| is shared by atoms i and j, half each. Slots past
 *    the molecule's atoms are zero padding: their share is reported as `padding`, not hidden.
 * 4. Averaging: the prediction is the mean over R random matrices, so the relevance is the mean
 *    of the R per-matrix relevances (each mapped back to file order by its own permutation),
 *    times the target's training standard deviation, giving property units.
 *
 * Conservation: Σ_i R_i + R_padding = std · mean_r Σ_f R_f^(r). The network's output explains the
 * prediction's deviation from the training mean, std · mean_r f_t(x_r) = prediction − mean; the
 * difference (`absorbed`) is what biases and ε take, reported beside it.
 */
import type { Explainer, ExplainerOptions } from '../explain/explainer.js';
import { coulombMatrix, triangleLength } from './coulomb.js';
import { type Expansion, expandRows } from './expand.js';
import type { Molecule } from './molecule.js';
import { type QmPipeline, testRealisations } from './pipeline.js';

/** The explainer options of per-atom relevance: the ε-rule on every dense layer (the expanded features are signed, so z⁺ and flat/w² rules do not fit the first layer). */
export function moleculeExplainerOptions(epsilon: number, threads?: number): ExplainerOptions {
  if (!(epsilon > 0 && Number.isFinite(epsilon))) throw new Error(`epsilon must be a positive number, got ${epsilon}`);
  return { rule: 'epsilon', params: { epsilon }, threads, batchSize: 256 };
}

/** Step 2: relevance per Coulomb entry (length D), the sum over each entry's features of row `row` of Rf (rows of the expansion's width). */
export function entryRelevance(e: Expansion, Rf: ArrayLike<number>, row = 0): Float64Array {
  const D = e.max.length;
  const W = e.offsets[D]!;
  const out = new Float64Array(D);
  for (let k = 0; k < D; k++) {
    let s = 0;
    for (let f = e.offsets[k]!; f < e.offsets[k + 1]!; f++) s += Rf[row * W + f]!;
    out[k] = s;
  }
  return out;
}

/**
 * Step 3: relevance of the triangle entries of P·C·Pᵀ (row-major upper triangle with the diagonal,
 * as upperTriangle writes it) as a symmetric size×size matrix in the slots of C: entry (a, b) of
 * the permuted matrix is (perm[a], perm[b]) of C; a diagonal entry stays whole, an off-diagonal
 * one puts half at (i, j) and half at (j, i). The matrix sums to Σ Rk; row i is slot i's share.
 */
export function slotRelevance(Rk: ArrayLike<number>, size: number, perm: ArrayLike<number>): Float64Array {
  if (Rk.length !== triangleLength(size) || perm.length !== size)
    throw new Error(`slotRelevance: want ${triangleLength(size)} entries and a permutation of ${size}`);
  const out = new Float64Array(size * size);
  let k = 0;
  for (let a = 0; a < size; a++)
    for (let b = a; b < size; b++, k++) {
      const [i, j] = [perm[a]!, perm[b]!];
      if (i === j) out[i * size + i] = out[i * size + i]! + Rk[k]!;
      else {
        out[i * size + j] = out[i * size + j]! + Rk[k]! / 2;
        out[j * size + i] = out[j * size + i]! + Rk[k]! / 2;
      }
    }
  return out;
}

export interface AtomRelevance {
  name: string;
  property: string;
  unit: string;
  /** The prediction (units): training mean + std · mean over realisations of the network output. */
  prediction: number;
  /** The training mean of the property: what the relevance explains the deviation from. */
  baseline: number;
  /** Per atom in file order (units). */
  atoms: Float64Array;
  /** n×n in file order: (i, i) is C_ii's relevance, (i, j) and (j, i) half of C_ij's each (units). */
  pairs: Float64Array;
  /** The padding slots' share (entries between padding slots, and their half of atom–padding entries). */
  padding: number;
  /** Σ atoms + padding. */
  relevance: number;
  /** (prediction − baseline) − relevance: taken by biases and ε. */
  absorbed: number;
  realisations: number;
}

/**
 * Per-atom relevance of property `t` (index into p.targets) for molecules with ids (the ids key
 * the test-time random matrices, as in predict). `explainer` wraps the pipeline's ONNX model.
 */
export async function explainAtoms(
  explainer: Explainer,
  p: QmPipeline,
  molecules: Molecule[],
  ids: number[],
  t: number,
  R = p.testRealisations,
): Promise<AtomRelevance[]> {
  if (!(Number.isInteger(t) && t >= 0 && t < p.targets.length)) throw new Error(`property index ${t} out of range (${p.targets.length} targets)`);
  // Chunks of molecules bound the memory of the expanded rows (R × width floats per molecule).
  const chunk = 64;
  const out: AtomRelevance[] = [];
  for (let s = 0; s < molecules.length; s += chunk)
    out.push(...(await explainChunk(explainer, p, molecules.slice(s, s + chunk), ids.slice(s, s + chunk), t, R)));
  return out;
}

async function explainChunk(explainer: Explainer, p: QmPipeline, molecules: Molecule[], ids: number[], t: number, R: number): Promise<AtomRelevance[]> {
  const S = p.size;
  const D = triangleLength(S);
  const all = molecules.map((m, k) => testRealisations(p, coulombMatrix(m, S), ids[k]!, R));
  const rows = new Float64Array(molecules.length * R * D);
  all.forEach((a, k) => rows.set(a.x, k * R * D));
  const W = p.expansion.offsets[D]!;
  const ex = await explainer.explain({ dtype: 'float32', dims: [molecules.length * R, W], data: expandRows(p.expansion, rows) }, { target: t });
  const Rf = ex.relevance.data as Float32Array;
  const out = ex.logits.data as Float32Array;
  const T = ex.logits.dims[1]!;
  const std = p.targetStd[t]!;
  return molecules.map((m, k) => {
    const n = m.Z.length;
    const slots = new Float64Array(S * S);
    let output = 0;
    for (let r = 0; r < R; r++) {
      const row = k * R + r;
      const s = slotRelevance(entryRelevance(p.expansion, Rf, row), S, all[k]!.perms[r]!);
      for (let q = 0; q < S * S; q++) slots[q] = slots[q]! + (s[q]! * std) / R;
      output += (out[row * T + t]! * std) / R;
    }
    const atoms = new Float64Array(n);
    const pairs = new Float64Array(n * n);
    let total = 0;
    for (let i = 0; i < S; i++)
      for (let j = 0; j < S; j++) {
        const v = slots[i * S + j]!;
        total += v;
        if (i < n) atoms[i] = atoms[i]! + v;
        if (i < n && j < n) pairs[i * n + j] = v;
      }
    const relevance = total;
    const padding = total - atoms.reduce((a, b) => a + b, 0);
    return {
      name: m.name,
      property: p.targets[t]!,
      unit: p.units[t]!,
      prediction: p.targetMean[t]! + output,
      baseline: p.targetMean[t]!,
      atoms,
      pairs,
      padding,
      relevance,
      absorbed: output - relevance,
      realisations: R,
    };
  });
}

/** The index of a property by name: exact, or the one target whose name ends with ".NAME" or contains NAME. */
export function propertyIndex(targets: string[], name: string): number {
  const exact = targets.indexOf(name);
  if (exact >= 0) return exact;
  const hits = targets.map((t, i) => [t, i] as const).filter(([t]) => t.endsWith(`.${name}`) || t.includes(name));
  if (hits.length === 1) return hits[0]![1];
  const list = targets.join(', ');
  throw new Error(
    hits.length ? `property "${name}" is ambiguous: ${hits.map(([t]) => t).join(', ')}` : `unknown property "${name}"; the model predicts ${list}`,
  );
}
