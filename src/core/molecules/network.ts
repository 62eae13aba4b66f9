/**
 * The multi-task "quantum machine" network (Montavon et al., NIPS 2012 / NJP 2013): random Coulomb
 * matrices → upper triangle → thermometer expansion → 400 → 100 → T outputs, scaled tanh
 * 1.5·tanh(x/1.5), on standardised targets with a mask for missing ones (masked multi-task MSE),
 * trained by relprop's trainer with a fresh random matrix for every presentation of a molecule,
 * and evaluated as the mean over several random matrices per molecule.
 *
 * Not (yet) here: the reference code's trained input offsets A and its Polyak parameter averaging.
 */
import { gaussian, rngFor } from '../math/rng.js';
import { float32, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime } from '../runtime.js';
import type { OptimizerSpec } from '../train/graph.js';
import type { ModelSpec } from '../train/spec.js';
import { Trainer, type EpochRecord } from '../train/trainer.js';
import { permutedUpperTriangle, randomPermutationInto, triangleLength } from './coulomb.js';
import { targetUnit } from './dataset.js';
import { type Expansion, expandRows, expansionWidth, fitExpansion } from './expand.js';
import { predictMatrices, type QmPipeline } from './pipeline.js';

export interface QmOptions {
  /** Matrix size (atoms; 23 for QM7/QM7b and the data set). */
  size: number;
  hidden: number[];
  /** s of the scaled tanh s·tanh(x/s). */
  scale: number;
  /** σ of the noise on the row norms. */
  noise: number;
  /** θ of the expansion. */
  step: number;
  /** Random realisations of every training molecule for the expansion's maxima. */
  maxRealisations: number;
  /** Random matrices averaged per molecule at test time. */
  testRealisations: number;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerSpec;
  seed: number;
  /** Training steps per session run (TrainOptions.stepsPerRun): the same updates, less host work per step. */
  stepsPerRun?: number;
  threads?: number;
  runtime?: Runtime;
  onEpoch?: (e: EpochRecord) => void;
}

export const QM_DEFAULTS: Omit<QmOptions, 'size'> = {
  hidden: [400, 100],
  scale: 1.5,
  noise: 1,
  step: 1,
  maxRealisations: 10,
  testRealisations: 10,
  epochs: 20,
  batchSize: 25,
  lr: 1e-3,
  optimizer: { kind: 'adam' },
  seed: 0,
  stepsPerRun: 32,
};

/** Molecules as their (unpermuted) Coulomb matrices, with ids keying their random streams. */
export interface MatrixSet {
  matrices: Float64Array[];
  ids: number[];
}

/** Upper triangles of random Coulomb matrices of the molecules `idx`, each drawn from the stream (seed, purpose, id, …key). */
export function randomTriangles(set: MatrixSet, idx: ArrayLike<number>, size: number, noise: number, ...key: (number | string)[]): Float64Array {
  const D = triangleLength(size);
  const out = new Float64Array(idx.length * D);
  const norms = new Float64Array(size);
  const perm = new Int32Array(size);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    const C = set.matrices[i]!;
    permutedUpperTriangle(C, size, randomPermutationInto(C, size, rngFor(...key, set.ids[i]!), noise, norms, perm), out, k * D);
  }
  return out;
}

export function qmSpec(width: number, outputs: number, o: Pick<QmOptions, 'hidden' | 'scale'>): ModelSpec {
  return {
    input: { shape: [width] },
    layers: [
      ...o.hidden.flatMap((units) => [
        { type: 'dense' as const, units },
        { type: 'tanh' as const, scale: o.scale },
      ]),
      { type: 'dense', units: outputs },
    ],
  };
}

/** The reference code's initialisation: weights ~ N(0, 1/fan-in) (std 1/√fan-in), the output layer's zero, biases zero. */
export function qmInitialParams(spec: ModelSpec, seed: number): Map<string, TensorData> {
  const p = new Map<string, TensorData>();
  const dense = spec.layers.filter((l) => l.type === 'dense');
  let fanIn = spec.input.shape[0] as number;
  dense.forEach((l, k) => {
    const units = (l as { units: number }).units;
    const W = float32([fanIn, units]);
    if (k < dense.length - 1) {
      const rng = rngFor(seed, 'qm-init', k);
      const std = 1 / Math.sqrt(fanIn);
      (W.data as Float32Array).forEach((_, i, d) => (d[i] = std * gaussian(rng)));
    }
    p.set(`dense_${k}.weight`, W);
    p.set(`dense_${k}.bias`, float32([units]));
    fanIn = units;
  });
  return p;
}

export interface QmModel {
  options: QmOptions;
  expansion: Expansion;
  targets: string[];
  /** Target standardisation from the training molecules (present values only). */
  targetMean: Float64Array;
  targetStd: Float64Array;
  spec: ModelSpec;
  params: Map<string, TensorData>;
  history: EpochRecord[];
}

/** Per-target mean and standard deviation over present values (NaN = missing). */
export function targetStats(Y: Float64Array, T: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(T);
  const std = new Float64Array(T);
  const n = new Float64Array(T);
  for (let k = 0; k < Y.length; k++)
    if (!Number.isNaN(Y[k]!)) {
      mean[k % T] = mean[k % T]! + Y[k]!;
      n[k % T] = n[k % T]! + 1;
    }
  for (let t = 0; t < T; t++) mean[t] = mean[t]! / Math.max(n[t]!, 1);
  for (let k = 0; k < Y.length; k++) if (!Number.isNaN(Y[k]!)) std[k % T] = std[k % T]! + (Y[k]! - mean[k % T]!) ** 2;
  for (let t = 0; t < T; t++) {
    if (n[t]! < 2) throw new Error(`target ${t + 1} has fewer than 2 training values`);
    std[t] = Math.sqrt(std[t]! / n[t]!) || 1;
  }
  return { mean, std };
}

/** Train the network on molecules (set) with targets Y (N×T, NaN = missing). */
export async function trainQm(set: MatrixSet, Y: Float64Array, targets: string[], o: QmOptions): Promise<QmModel> {
  const N = set.matrices.length;
  const T = targets.length;
  const all = Array.from({ length: N }, (_, i) => i);
  const D = triangleLength(o.size);
  // Expansion statistics: maxima over several realisations, means and scale from one more (training molecules only).
  const maxRows = Array.from({ length: o.maxRealisations }, (_, r) => randomTriangles(set, all, o.size, o.noise, o.seed, 'qm-max', r));
  const statRows = randomTriangles(set, all, o.size, o.noise, o.seed, 'qm-stats');
  const expansion = fitExpansion(maxRows, statRows, D, o.step);
  const width = expansionWidth(expansion);
  const { mean, std } = targetStats(Y, T);
  const y = new Float32Array(N * T);
  const mask = new Float32Array(N * T);
  for (let k = 0; k < N * T; k++)
    if (!Number.isNaN(Y[k]!)) {
      y[k] = (Y[k]! - mean[k % T]!) / std[k % T]!;
      mask[k] = 1;
    }
  const spec = qmSpec(width, T, o);
  let batchBuffer = new Float32Array(0);
  const trainer = new Trainer(
    spec,
    {
      epochs: o.epochs,
      batchSize: o.batchSize,
      lr: o.lr,
      optimizer: o.optimizer,
      loss: { kind: 'multitask-mse' },
      seed: o.seed,
      stepsPerRun: o.stepsPerRun,
      threads: o.threads,
      runtime: o.runtime,
      onEpoch: o.onEpoch,
      // A fresh random Coulomb matrix every time a molecule is presented, expanded into one reused
      // buffer (the trainer is done with a batch before it asks for the next).
      augment: (idx, epoch, step) => {
        const x = randomTriangles(set, idx, o.size, o.noise, o.seed, 'qm-train', epoch, step);
        if (batchBuffer.length < idx.length * width) batchBuffer = new Float32Array(idx.length * width);
        return { dtype: 'float32', dims: [idx.length, width], data: expandRows(expansion, x, batchBuffer.subarray(0, idx.length * width)) };
      },
    },
    qmInitialParams(spec, o.seed),
  );
  // x only gives the shapes the trainer checks (zeros, nothing is expanded for it): steps read the augmenter.
  await trainer.fit({
    x: { dtype: 'float32', dims: [N, width], data: new Float32Array(N * width) },
    y: { dtype: 'float32', dims: [N, T], data: y },
    mask: { dtype: 'float32', dims: [N, T], data: mask },
  });
  return { options: o, expansion, targets, targetMean: mean, targetStd: std, spec, params: trainer.params, history: trainer.history };
}

/** The inference ONNX model of a trained network (expanded, standardised input → standardised targets). */
export function qmInferenceModel(m: QmModel): Uint8Array {
  return new Trainer(m.spec, { epochs: 1, batchSize: 1, lr: 1, loss: { kind: 'multitask-mse' } }, m.params).inferenceModel();
}

/** The pipeline of a trained network (what predict and explain need besides the ONNX model). */
export function pipelineOf(m: QmModel): QmPipeline {
  const o = m.options;
  return {
    targets: m.targets,
    units: m.targets.map(targetUnit),
    targetMean: m.targetMean,
    targetStd: m.targetStd,
    size: o.size,
    noise: o.noise,
    seed: o.seed,
    testRealisations: o.testRealisations,
    expansion: m.expansion,
  };
}

/**
 * Predictions in the targets' units (N×T): the mean of the network over `testRealisations` random
 * matrices per molecule (see pipeline.ts for the random streams), so a molecule's prediction does
 * not depend on what it is batched with.
 */
export async function predictQm(m: QmModel, set: MatrixSet, batch = 256): Promise<Float64Array> {
  const session = await openSession(m.options.runtime, qmInferenceModel(m), { threads: m.options.threads }, 'the molecules network');
  try {
    return await predictMatrices(session, pipelineOf(m), set.matrices, set.ids, batch);
  } finally {
    await session.release();
  }
}

/** MAE and RMSE per target over present values. */
export function scores(pred: Float64Array, Y: Float64Array, T: number): { mae: number; rmse: number; n: number }[] {
  return Array.from({ length: T }, (_, t) => {
    let ae = 0;
    let se = 0;
    let n = 0;
    for (let k = t; k < Y.length; k += T)
      if (!Number.isNaN(Y[k]!)) {
        const e = pred[k]! - Y[k]!;
        ae += Math.abs(e);
        se += e * e;
        n++;
      }
    return { mae: ae / n, rmse: Math.sqrt(se / n), n };
  });
}
