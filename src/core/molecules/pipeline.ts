/**
 * A trained molecules network as it is saved and used: the ONNX model (expanded, standardised
 * input → standardised targets) plus the pipeline around it — matrix size, noise on the row norms,
 * the input expansion, the target standardisation and the seed of the test-time random matrices.
 * `relprop molecules train --model` writes the pipeline as JSON beside the model; predict and
 * explain read it back, so a saved model predicts exactly what the trainer scored.
 *
 * Test-time random matrix r of the molecule with id k is drawn from the stream
 * (seed, 'qm-test', r, k), so a prediction depends on neither batching nor file order.
 */
import { rngFor } from '../math/rng.js';
import type { Session } from '../runtime.js';
import { permutedUpperTriangle, randomPermutation, triangleLength } from './coulomb.js';
import { targetUnit } from './dataset.js';
import { type Expansion, expandRows, expansionFromJson, expansionWidth } from './expand.js';

export interface QmPipeline {
  targets: string[];
  units: string[];
  /** Per target: training mean and standard deviation (prediction = mean + std · network output). */
  targetMean: Float64Array;
  targetStd: Float64Array;
  size: number;
  noise: number;
  seed: number;
  testRealisations: number;
  expansion: Expansion;
}

/** The random Coulomb matrices of realisations 0…R−1 of one molecule (C: its size×size matrix): upper triangles (R×D) and permutations. */
export function testRealisations(p: QmPipeline, C: Float64Array, id: number, R = p.testRealisations): { x: Float64Array; perms: number[][] } {
  const D = triangleLength(p.size);
  const x = new Float64Array(R * D);
  const perms: number[][] = [];
  for (let r = 0; r < R; r++) {
    const perm = randomPermutation(C, p.size, rngFor(p.seed, 'qm-test', r, id), p.noise);
    permutedUpperTriangle(C, p.size, perm, x, r * D);
    perms.push(perm);
  }
  return { x, perms };
}

/**
 * Predictions in the targets' units (N×T) for Coulomb matrices with ids: the mean of the
 * network's outputs over the R test realisations, de-standardised. `session` runs the inference
 * model (its first output is read).
 */
export async function predictMatrices(session: Session, p: QmPipeline, matrices: Float64Array[], ids: number[], batch = 256): Promise<Float64Array> {
  const T = p.targets.length;
  const N = matrices.length;
  const D = triangleLength(p.size);
  const R = p.testRealisations;
  const width = expansionWidth(p.expansion);
  const out = new Float64Array(N * T);
  for (let s = 0; s < N; s += batch) {
    const n = Math.min(batch, N - s);
    const rows = new Float64Array(n * R * D);
    for (let k = 0; k < n; k++) rows.set(testRealisations(p, matrices[s + k]!, ids[s + k]!).x, k * R * D);
    const res = await session.run({ input: { dtype: 'float32', dims: [n * R, width], data: expandRows(p.expansion, rows) } });
    const z = Object.values(res)[0]!.data as Float32Array;
    for (let k = 0; k < n; k++)
      for (let t = 0; t < T; t++) {
        let sum = 0;
        for (let r = 0; r < R; r++) sum += z[(k * R + r) * T + t]!;
        out[(s + k) * T + t] = p.targetMean[t]! + p.targetStd[t]! * (sum / R);
      }
  }
  return out;
}

/** The pipeline JSON `relprop molecules train --model` writes beside the model. */
export function pipelineToJson(p: QmPipeline, options: object): object {
  return {
    kind: 'relprop-molecules',
    targets: p.targets,
    units: p.units,
    targetMean: [...p.targetMean],
    targetStd: [...p.targetStd],
    options,
    expansion: { step: p.expansion.step, max: [...p.expansion.max], offsets: [...p.expansion.offsets], mean: [...p.expansion.mean], std: p.expansion.std },
  };
}

const isNumList = (v: unknown, n?: number): v is number[] =>
  Array.isArray(v) && (n === undefined || v.length === n) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Read and check a pipeline JSON (parsed); `where` names the file in errors. */
export function pipelineFromJson(j: unknown, where: string): QmPipeline {
  const bad = (what: string) => new Error(`${where}: not a molecules pipeline (${what})`);
  if (!j || typeof j !== 'object') throw bad('not a JSON object');
  const o = j as Record<string, unknown>;
  if (o.kind !== 'relprop-molecules') throw bad(`"kind" is ${JSON.stringify(o.kind)}, want "relprop-molecules"`);
  const targets = o.targets;
  if (!Array.isArray(targets) || !targets.length || !targets.every((t) => typeof t === 'string')) throw bad('"targets" must be a list of names');
  const T = targets.length;
  if (!isNumList(o.targetMean, T) || !isNumList(o.targetStd, T)) throw bad(`"targetMean" and "targetStd" must be ${T} numbers each`);
  const opt = (o.options ?? {}) as Record<string, unknown>;
  const int = (k: string, min: number) => {
    const v = opt[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw bad(`options.${k} must be an integer ≥ ${min}`);
    return v;
  };
  const size = int('size', 1);
  const e = o.expansion as Record<string, unknown> | undefined;
  const D = triangleLength(size);
  if (!e || typeof e.step !== 'number' || typeof e.std !== 'number' || !isNumList(e.max, D) || !isNumList(e.offsets, D + 1) || !isNumList(e.mean))
    throw bad(`"expansion" must hold step, std, max (${D}), offsets (${D + 1}) and mean`);
  if ((e.mean as number[]).length !== (e.offsets as number[])[D]) throw bad('expansion mean and offsets disagree');
  const noise = opt.noise;
  if (typeof noise !== 'number' || !(noise >= 0)) throw bad('options.noise must be a number ≥ 0');
  return {
    targets: targets as string[],
    units: (targets as string[]).map(targetUnit),
    targetMean: Float64Array.from(o.targetMean),
    targetStd: Float64Array.from(o.targetStd),
    size,
    noise,
    seed: int('seed', 0),
    testRealisations: int('testRealisations', 1),
    expansion: expansionFromJson(e as Parameters<typeof expansionFromJson>[0]),
  };
}
