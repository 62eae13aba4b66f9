/**
 * The quantum-machine network (issue 16): time to train it and predictions per second (each the
 * mean over random Coulomb matrices), relprop against PyTorch (bench/molecules_torch.py, Debian's
 * python3-torch) on the same molecules, split, network, input pipeline, optimiser, batch size,
 * epochs and thread count, in one run. Both sides start from the molecules' Coulomb matrices
 * (computed once by relprop and handed to PyTorch as .npy); training time covers the expansion's
 * statistics and every epoch, predictions/s the test fold with its random matrices and expansion.
 * Rounds alternate relprop / PyTorch because the machine is shared; medians are reported, of wall
 * time and of the process's CPU time (user + system, all its threads), which a loaded machine
 * inflates less than wall time.
 *
 *   npm run build && node dist/bench/molecules.js --data ../shared/datasets/molecules \
 *     [--threads 1,2] [--epochs 10] [--repeats 3] [--batch 25] [--realisations 10] [--max-train N]
 *     [--steps-per-run 32]
 * bench/molecules-step.ts times the training step alone, in parts, on both sides.
 */
import '../src/node/register.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { DEFAULT_TARGETS } from '../src/core/molecules/dataset.js';
import { makeSplit, matrixSet, targetRows } from '../src/core/molecules/experiment.js';
import { type MatrixSet, pipelineOf, QM_DEFAULTS, qmInferenceModel, scores, trainQm } from '../src/core/molecules/network.js';
import { predictMatrices } from '../src/core/molecules/pipeline.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { loadMoleculeRecords } from '../src/node/molecules/data.js';
import { closePeers, peerFor } from './peer.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    epochs: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '3' },
    batch: { type: 'string', default: String(QM_DEFAULTS.batchSize) },
    realisations: { type: 'string', default: String(QM_DEFAULTS.testRealisations) },
    'max-train': { type: 'string' },
    'steps-per-run': { type: 'string', default: String(QM_DEFAULTS.stepsPerRun) },
  },
});
if (!values.data) throw new Error('--data DIR: the molecules data set (a folder of .jsonl parts or one .jsonl file)');
// PyTorch's processes start before anything large is allocated (bench/peer.ts says why).
for (const t of values.threads.split(',').map(Number)) peerFor('/usr/bin/python3', t);
const epochs = Number(values.epochs);
const repeats = Number(values.repeats);
const batch = Number(values.batch);
const R = Number(values.realisations);
const stepsPerRun = Number(values['steps-per-run']);
const size = 23;
const targets = DEFAULT_TARGETS;
const T = targets.length;

const records = loadMoleculeRecords(values.data, targets);
const split = makeSplit(records, { folds: 5, testFold: 0, seed: 0, size });
const trainIdx = values['max-train'] ? split.train.slice(0, Number(values['max-train'])) : split.train;
const trainSet = matrixSet(records, trainIdx, size);
const testSet = matrixSet(records, split.test, size);
const Ytr = targetRows(records, trainIdx, T);
const Yte = targetRows(records, split.test, T);

const dir = mkdtempSync(join(tmpdir(), 'relprop-bench-qm-'));
const stack = (s: MatrixSet): TensorData => {
  const data = new Float64Array(s.matrices.length * size * size);
  s.matrices.forEach((m, i) => data.set(m, i * size * size));
  return { dtype: 'float64', dims: [s.matrices.length, size, size], data };
};
writeFileSync(join(dir, 'train_C.npy'), encodeNpy(stack(trainSet)));
writeFileSync(join(dir, 'test_C.npy'), encodeNpy(stack(testSet)));
writeFileSync(join(dir, 'train_Y.npy'), encodeNpy({ dtype: 'float64', dims: [trainIdx.length, T], data: Ytr }));
writeFileSync(join(dir, 'test_Y.npy'), encodeNpy({ dtype: 'float64', dims: [split.test.length, T], data: Yte }));

interface Side {
  train_s: number;
  train_cpu_s: number;
  train_loss: number;
  predictions_per_s: number;
  /** Per CPU second. */
  predictions_per_cpu_s: number;
  mae: number[];
}

/** CPU seconds of this process (user + system, every thread) since `from`. */
const cpuSince = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};

async function relpropRound(threads: number): Promise<Side> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const model = await trainQm(trainSet, Ytr, targets, { ...QM_DEFAULTS, size, epochs, batchSize: batch, testRealisations: R, threads, stepsPerRun });
  const train_s = (performance.now() - t0) / 1000;
  const train_cpu_s = cpuSince(c0);
  const session = await openSession(undefined, qmInferenceModel(model), { threads }, 'the molecules network');
  const p = pipelineOf(model);
  let pred = await predictMatrices(session, p, testSet.matrices, testSet.ids); // warm-up
  const times: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    pred = await predictMatrices(session, p, testSet.matrices, testSet.ids);
    times.push((performance.now() - t) / 1000);
    cpus.push(cpuSince(c));
  }
  await session.release();
  return {
    train_s,
    train_cpu_s,
    train_loss: model.history.at(-1)!.trainLoss,
    predictions_per_s: testSet.matrices.length / median(times),
    predictions_per_cpu_s: testSet.matrices.length / median(cpus),
    mae: scores(pred, Yte, T).map((s) => s.mae),
  };
}

async function torchRound(threads: number): Promise<(Side & { torch: string }) | null> {
  const script = fileURLToPath(new URL('../../bench/molecules_torch.py', import.meta.url));
  try {
    return await peerFor('/usr/bin/python3', threads).json<Side & { torch: string }>(script, [dir, String(threads), String(epochs), String(batch), String(R)]);
  } catch (e) {
    process.stderr.write(`PyTorch n/a: ${(e as Error).message}\n`); // e.g. no python3-torch here
    return null;
  }
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const f = (v: number, d = 0) => v.toFixed(d);

console.log(
  `quantum-machine network, ${trainIdx.length} training / ${split.test.length} test molecules, width from the data, ${QM_DEFAULTS.hidden.join('-')}-${T}, Adam lr ${QM_DEFAULTS.lr}, batch ${batch} (relprop: ${stepsPerRun} steps per run), ${epochs} epochs, ${R} random matrices per prediction`,
);
console.log(
  `${cpus()[0]?.model} ×${cpus().length}; Node ${process.versions.node}; onnxruntime-node ${ort.env.versions.common}; medians of ${repeats} alternating rounds`,
);
const rows: string[] = [];
for (const threads of values.threads.split(',').map(Number)) {
  const rs: Side[] = [];
  const ts: (Side & { torch: string })[] = [];
  for (let rep = 0; rep < repeats; rep++) {
    rs.push(await relpropRound(threads));
    const t = await torchRound(threads);
    if (t) ts.push(t);
    console.log(
      `  threads ${threads} round ${rep + 1}: relprop train ${f(rs.at(-1)!.train_s, 1)} s (CPU ${f(rs.at(-1)!.train_cpu_s, 1)} s), ${f(rs.at(-1)!.predictions_per_s)} molecules/s; ` +
        (t ? `PyTorch ${t.torch} train ${f(t.train_s, 1)} s (CPU ${f(t.train_cpu_s, 1)} s), ${f(t.predictions_per_s)} molecules/s` : 'PyTorch n/a'),
    );
  }
  const sum = (s: Side[]) => ({
    train: median(s.map((x) => x.train_s)),
    trainCpu: median(s.map((x) => x.train_cpu_s)),
    pred: median(s.map((x) => x.predictions_per_s)),
    predCpu: median(s.map((x) => x.predictions_per_cpu_s)),
  });
  const r = sum(rs);
  const t = ts.length ? sum(ts) : null;
  const mae = (s: Side[]) => f(median(s.map((x) => x.mae[0]!)), 1);
  const loss = (s: Side[]) => f(median(s.map((x) => x.train_loss)), 3);
  rows.push(
    `| ${threads} | training, ${epochs} epochs | ${f(r.train, 1)} s | ${t ? `${f(t.train, 1)} s` : 'n/a'} | ${t ? f(t.train / r.train, 2) : ''} |`,
    `| ${threads} | training, CPU time | ${f(r.trainCpu, 1)} s | ${t ? `${f(t.trainCpu, 1)} s` : 'n/a'} | ${t ? f(t.trainCpu / r.trainCpu, 2) : ''} |`,
    `| ${threads} | predictions (${R} matrices each) | ${f(r.pred)} molecules/s | ${t ? `${f(t.pred)} molecules/s` : 'n/a'} | ${t ? f(r.pred / t.pred, 2) : ''} |`,
    `| ${threads} | predictions per CPU second | ${f(r.predCpu)} molecules | ${t ? `${f(t.predCpu)} molecules` : 'n/a'} | ${t ? f(r.predCpu / t.predCpu, 2) : ''} |`,
    `| ${threads} | final train loss; test MAE ${targets[0]} | ${loss(rs)}; ${mae(rs)} | ${ts.length ? `${loss(ts)}; ${mae(ts)}` : 'n/a'} | |`,
  );
}
console.log('\n| threads | task | relprop | PyTorch | speed-up |\n|---|---|---|---|---|');
for (const row of rows) console.log(row);
closePeers();
