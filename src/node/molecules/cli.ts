/**
 * `relprop molecules baselines DATA`, `relprop molecules train DATA` and `relprop molecules test
 * MODEL DATA` (also `relprop qm …`): the fixed split, the mean predictor and kernel ridge
 * regression, the multi-task network, and a saved network scored again, on the molecules data
 * set (a folder of JSONL parts or one JSONL file). Results print as a table per target and, with
 * --out, go to JSON (and the network to ONNX + JSON) written all or none.
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { DEFAULT_TARGETS, type MoleculeRecord, targetUnit } from '../../core/molecules/dataset.js';
import { krrPredict, KRR_DEFAULTS, makeSplit, matrixSet, meanPredictor, representationRows, targetRows } from '../../core/molecules/experiment.js';
import { expansionWidth } from '../../core/molecules/expand.js';
import type { KernelKind } from '../../core/molecules/krr.js';
import { pipelineOf, predictQm, QM_DEFAULTS, qmInferenceModel, scores, trainQm } from '../../core/molecules/network.js';
import { coulombMatrix } from '../../core/molecules/coulomb.js';
import { pipelineToJson, predictMatrices } from '../../core/molecules/pipeline.js';
import { openSession } from '../../core/runtime.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { nonNegInt, num, posInt } from '../cli/values.js';
import { loadMoleculeRecords } from './data.js';
import { loadQmModel, registerMoleculesUseCommands } from './use.js';

const nonNegNum = (v: string): number => {
  const x = num('--noise')(v);
  if (x < 0) throw new Error(`--noise needs a number ≥ 0, got "${v}"`);
  return x;
};
const hiddenList = (v: string): number[] => v.split(',').map((p) => posInt('--hidden')(p.trim()));

interface Common {
  targets?: string;
  folds: number;
  testFold: number;
  splitSeed: number;
  size: number;
  out?: string;
  quiet?: boolean;
}

const DATA_ARGUMENT = ['<data>', 'the molecules data set: a folder of .jsonl parts or one .jsonl file'] as const;

function splitOptions(cmd: Command): Command {
  return cmd
    .option('--folds <n>', 'stratified folds of the split', posInt('--folds'), 5)
    .option('--test-fold <k>', 'the fold held out for testing (0-based)', nonNegInt('--test-fold'), 0)
    .option('--split-seed <n>', 'seed of the fold assignment', nonNegInt('--split-seed'), 0);
}

function common(cmd: Command): Command {
  return splitOptions(
    cmd
      .argument(...DATA_ARGUMENT)
      .option('--targets <list>', `comma-separated "level.property" names (default: ${DEFAULT_TARGETS.length} targets, see README)`),
  )
    .option('--size <n>', 'Coulomb matrix size (atoms)', posInt('--size'), 23)
    .option('--out <file>', 'results as JSON')
    .option('--quiet', 'no progress on stderr');
}

/** The records and the split; `holds` says what limits the atoms (the --size flag or a model's matrices). */
function load(data: string, o: Common, holds = `--size ${o.size}`) {
  const targets = o.targets ? o.targets.split(',').map((s) => s.trim()) : DEFAULT_TARGETS;
  const records = loadMoleculeRecords(data, targets);
  for (const r of records) if (r.Z.length > o.size) throw new Error(`${r.at}: molecule ${r.name}: ${r.Z.length} atoms, more than ${holds}`);
  const split = makeSplit(strata(data, targets, records), { folds: o.folds, testFold: o.testFold, seed: o.splitSeed, size: o.size });
  return { targets, records, split };
}

/**
 * The records the split is stratified by: those of the default target set (every target present or
 * not; the first, GFN2 atomization energy), whatever --targets chooses, so that runs on different
 * targets share one test fold. Data without those properties are stratified by the chosen targets.
 */
function strata(data: string, targets: string[], records: MoleculeRecord[]): MoleculeRecord[] {
  if (targets.join() === DEFAULT_TARGETS.join()) return records;
  try {
    return loadMoleculeRecords(data, DEFAULT_TARGETS);
  } catch {
    return records;
  }
}

type Row = { method: string; target: string; unit: string; mae: number; rmse: number; n: number };

function table(rows: Row[], std: Map<string, number>): string {
  const lines = ['method                    target                                   unit      n_test      MAE     RMSE  target std'];
  for (const r of rows)
    lines.push(
      `${r.method.padEnd(25)} ${r.target.padEnd(40)} ${r.unit.padEnd(8)} ${String(r.n).padStart(7)} ${r.mae.toPrecision(4).padStart(8)} ${r.rmse.toPrecision(4).padStart(8)} ${std.get(r.target)!.toPrecision(4).padStart(11)}`,
    );
  return `${lines.join('\n')}\n`;
}

function testStd(records: MoleculeRecord[], test: number[], targets: string[]): Map<string, number> {
  const T = targets.length;
  const Y = targetRows(records, test, T);
  return new Map(
    targets.map((t, k) => {
      const v: number[] = [];
      for (let i = k; i < Y.length; i += T) if (!Number.isNaN(Y[i]!)) v.push(Y[i]!);
      const m = v.reduce((a, b) => a + b, 0) / v.length;
      return [t, Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length)];
    }),
  );
}

const rowsOf = (method: string, targets: string[], s: { mae: number; rmse: number; n: number }[]): Row[] =>
  targets.map((t, k) => ({ method, target: t, unit: targetUnit(t), ...s[k]! }));

async function baselines(data: string, o: Common & { kernels: string; representations: string; krrMaxTrain: number; krrCvSize: number }) {
  const log = (s: string) => o.quiet || process.stderr.write(`${s}\n`);
  const { targets, records, split } = load(data, o);
  const T = targets.length;
  log(`${records.length} molecules, train ${split.train.length}, test ${split.test.length} (fold ${o.testFold} of ${o.folds}, seed ${o.splitSeed})`);
  const Ytr = targetRows(records, split.train, T);
  const Yte = targetRows(records, split.test, T);
  const rows: Row[] = rowsOf('mean predictor', targets, scores(meanPredictor(Ytr, T, split.test.length), Yte, T));
  const chosen: Record<string, { sigma: number; lambda: number }[]> = {};
  for (const rep of o.representations.split(',') as ('sorted' | 'eigenspectrum')[]) {
    if (rep !== 'sorted' && rep !== 'eigenspectrum') throw new Error(`--representations: unknown "${rep}" (sorted, eigenspectrum)`);
    const tr = representationRows(records, split.train, rep, o.size);
    const te = representationRows(records, split.test, rep, o.size);
    for (const kind of o.kernels.split(',') as KernelKind[]) {
      if (kind !== 'gaussian' && kind !== 'laplacian') throw new Error(`--kernels: unknown "${kind}" (gaussian, laplacian)`);
      log(`KRR ${kind} on ${rep} …`);
      const r = krrPredict(tr.X, Ytr, te.X, tr.D, T, { ...KRR_DEFAULTS, kind, maxTrain: o.krrMaxTrain, cvSize: o.krrCvSize });
      const name = `KRR ${kind} ${rep}`;
      chosen[name] = r.chosen;
      rows.push(...rowsOf(name, targets, scores(r.pred, Yte, T)));
    }
  }
  process.stdout.write(table(rows, testStd(records, split.test, targets)));
  if (o.out)
    await writeFilesAtomic([
      [
        o.out,
        `${JSON.stringify({ data, split: { folds: o.folds, testFold: o.testFold, seed: o.splitSeed, train: split.train.length, test: split.test.length, testIds: split.test.map((i) => records[i]!.id) }, krr: { maxTrain: o.krrMaxTrain, cvSize: o.krrCvSize, chosen }, results: rows }, null, 1)}\n`,
      ],
    ]);
}

async function train(
  data: string,
  o: Common & {
    epochs: number;
    hidden: number[];
    batchSize: number;
    lr: number;
    seed: number;
    testRealisations: number;
    threads?: number;
    noise: number;
    maxTrain?: number;
    model?: string;
  },
) {
  const log = (s: string) => o.quiet || process.stderr.write(`${s}\n`);
  // Checked before the work: the pipeline JSON goes beside the model and must not replace the results.
  if (o.model && !o.model.endsWith('.onnx')) throw new Error(`--model must end in .onnx, got ${o.model}`);
  const pipeline = o.model?.replace(/\.onnx$/, '.json');
  if (pipeline && o.out && resolve(pipeline) === resolve(o.out))
    throw new Error(`--out ${o.out} is where the model's pipeline goes (${pipeline}); choose another name`);
  const { targets, records, split } = load(data, o);
  const T = targets.length;
  const trainIdx = o.maxTrain ? split.train.slice(0, o.maxTrain) : split.train;
  log(`${records.length} molecules, train ${trainIdx.length}, test ${split.test.length} (fold ${o.testFold} of ${o.folds}, seed ${o.splitSeed})`);
  const opts = {
    ...QM_DEFAULTS,
    size: o.size,
    epochs: o.epochs,
    hidden: o.hidden,
    noise: o.noise,
    batchSize: o.batchSize,
    lr: o.lr,
    seed: o.seed,
    testRealisations: o.testRealisations,
    threads: o.threads,
  };
  const model = await trainQm(matrixSet(records, trainIdx, o.size), targetRows(records, trainIdx, T), targets, {
    ...opts,
    onEpoch: (e) => log(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`),
  });
  log(`input width ${expansionWidth(model.expansion)}`);
  const pred = await predictQm(model, matrixSet(records, split.test, o.size));
  const method = o.noise > 0 ? `network (${o.testRealisations} random CMs)` : 'network (sorted CM)';
  const rows = rowsOf(method, targets, scores(pred, targetRows(records, split.test, T), T));
  process.stdout.write(table(rows, testStd(records, split.test, targets)));
  const files: [string, string | Uint8Array][] = [];
  const summary = {
    data,
    split: {
      folds: o.folds,
      testFold: o.testFold,
      seed: o.splitSeed,
      train: trainIdx.length,
      test: split.test.length,
      testIds: split.test.map((i) => records[i]!.id),
    },
    options: { hidden: o.hidden, noise: o.noise, epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, seed: o.seed, testRealisations: o.testRealisations },
    history: model.history,
    results: rows,
  };
  if (o.out) files.push([o.out, `${JSON.stringify(summary, null, 1)}\n`]);
  if (o.model && pipeline) {
    const { onEpoch: _, runtime: __, ...options } = model.options;
    files.push([o.model, qmInferenceModel(model)]);
    files.push([pipeline, `${JSON.stringify(pipelineToJson(pipelineOf(model), options))}\n`]);
  }
  if (files.length) await writeFilesAtomic(files);
}

/** A saved network (train --model) scored on the test fold of the same split, or on every molecule of DATA. */
async function test(modelPath: string, data: string, o: Omit<Common, 'targets' | 'size'> & { all?: boolean; threads?: number }) {
  const { model, pipeline: p } = loadQmModel(modelPath);
  const { targets, records, split } = load(data, { ...o, targets: p.targets.join(','), size: p.size }, `the ${p.size} the model's Coulomb matrices hold`);
  const T = targets.length;
  const idx = o.all ? records.map((_, i) => i) : split.test;
  const session = await openSession(undefined, model, { threads: o.threads }, 'the molecules network');
  let pred: Float64Array;
  try {
    pred = await predictMatrices(
      session,
      p,
      idx.map((i) => coulombMatrix(records[i]!, p.size)),
      idx.map((i) => records[i]!.id),
    );
  } finally {
    await session.release();
  }
  const method = p.noise > 0 ? `network (${p.testRealisations} random CMs)` : 'network (sorted CM)';
  const rows = rowsOf(method, targets, scores(pred, targetRows(records, idx, T), T));
  process.stdout.write(table(rows, testStd(records, idx, targets)));
  const scored = o.all ? { all: idx.length } : { folds: o.folds, testFold: o.testFold, seed: o.splitSeed, test: idx.length };
  if (o.out) await writeFilesAtomic([[o.out, `${JSON.stringify({ model: modelPath, data, molecules: scored, results: rows }, null, 1)}\n`]]);
}

export function registerMoleculesCommands(program: Command): void {
  const m = program.command('molecules').alias('qm').description('the "quantum machine": properties of molecules from Coulomb matrices');
  common(m.command('baselines').description('mean predictor and kernel ridge regression on the fixed split; MAE/RMSE per target'))
    .addOption(new Option('--kernels <list>', 'gaussian,laplacian').default('gaussian,laplacian'))
    .option('--representations <list>', 'sorted (Coulomb matrix), eigenspectrum', 'sorted,eigenspectrum')
    .option(
      '--krr-max-train <n>',
      'at most this many training molecules in the final KRR fit (seeded sample)',
      posInt('--krr-max-train'),
      KRR_DEFAULTS.maxTrain,
    )
    .option('--krr-cv-size <n>', 'molecules in the cross-validation of σ and λ', posInt('--krr-cv-size'), KRR_DEFAULTS.cvSize)
    .action(async (data, opts) => baselines(data, opts));
  common(m.command('train').description('train the multi-task network on the training folds and score it on the test fold'))
    .option('--epochs <n>', 'epochs', posInt('--epochs'), QM_DEFAULTS.epochs)
    .option('--hidden <units>', 'hidden layer widths, comma-separated', hiddenList, QM_DEFAULTS.hidden)
    .option('--noise <sigma>', 'σ of the noise on the row norms (0: the sorted Coulomb matrix)', nonNegNum, QM_DEFAULTS.noise)
    .option('--batch-size <n>', 'molecules per step', posInt('--batch-size'), QM_DEFAULTS.batchSize)
    .option('--lr <rate>', 'Adam learning rate', num('--lr'), QM_DEFAULTS.lr)
    .option('--seed <n>', 'initialisation, shuffling, random matrices', nonNegInt('--seed'), 0)
    .option('--test-realisations <n>', 'random matrices averaged per test molecule', posInt('--test-realisations'), QM_DEFAULTS.testRealisations)
    .option('--max-train <n>', 'use only the first n training molecules (learning curves, quick runs)', posInt('--max-train'))
    .option('--threads <n>', 'ONNX Runtime threads', posInt('--threads'))
    .option('--model <file.onnx>', 'save the network (ONNX: expanded input → standardised targets) and its pipeline JSON beside it')
    .action(async (data, opts) => train(data, opts));
  splitOptions(
    m
      .command('test')
      .description('MAE and RMSE per property, in its unit, of a saved network on the test fold of the split (or --all molecules)')
      .argument('<model>', 'the .onnx file of relprop molecules train --model (its pipeline .json beside it)')
      .argument(...DATA_ARGUMENT),
  )
    .option('--all', 'score every molecule of the data, not the test fold')
    .option('--out <file>', 'results as JSON')
    .option('--threads <n>', 'ONNX Runtime threads', posInt('--threads'))
    .action(async (model, data, opts) => test(model, data, opts));
  registerMoleculesUseCommands(m);
}
