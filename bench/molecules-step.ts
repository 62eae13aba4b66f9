/**
 * The quantum-machine network's training step alone, to state the floor under bench/molecules.ts:
 * per step, (1) the input pipeline (random Coulomb matrices of a batch, upper triangles,
 * expansion), (2) the trainer's step on pre-expanded inputs (one step per run, and stepsPerRun
 * steps per run), (3) ONNX Runtime's kernel time per step and per operator type (its profiler, on
 * the chained graph), and the same parts of PyTorch's step (bench/molecules_torch.py --step).
 * Medians of the repeats; wall and CPU time (user + system of the process).
 *
 *   npm run build && node dist/bench/molecules-step.js --data ../shared/datasets/molecules \
 *     [--threads 1] [--steps 192] [--steps-per-run 32] [--repeats 3]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { triangleLength } from '../src/core/molecules/coulomb.js';
import { DEFAULT_TARGETS } from '../src/core/molecules/dataset.js';
import { expandRows, expansionWidth, fitExpansion } from '../src/core/molecules/expand.js';
import { makeSplit, matrixSet, targetRows } from '../src/core/molecules/experiment.js';
import { QM_DEFAULTS, qmInitialParams, qmSpec, randomTriangles, targetStats } from '../src/core/molecules/network.js';
import { rngFor, permutation } from '../src/core/math/rng.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { numel, type TensorData } from '../src/core/onnx/tensor.js';
import { chainSteps } from '../src/core/train/chain.js';
import { buildGraph } from '../src/core/train/graph.js';
import { Trainer } from '../src/core/train/trainer.js';
import { loadMoleculeRecords } from '../src/node/molecules/data.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    threads: { type: 'string', default: '1' },
    steps: { type: 'string', default: '192' },
    'steps-per-run': { type: 'string', default: String(QM_DEFAULTS.stepsPerRun) },
    repeats: { type: 'string', default: '3' },
  },
});
if (!values.data) throw new Error('--data DIR: the molecules data set');
const threads = Number(values.threads);
const S = Number(values.steps);
const k = Number(values['steps-per-run']);
const repeats = Number(values.repeats);
const B = QM_DEFAULTS.batchSize;
const size = 23;
const T = DEFAULT_TARGETS.length;
const o = QM_DEFAULTS;

const records = loadMoleculeRecords(values.data, DEFAULT_TARGETS);
const split = makeSplit(records, { folds: 5, testFold: 0, seed: 0, size });
const set = matrixSet(records, split.train, size);
const Y = targetRows(records, split.train, T);
const N = set.matrices.length;
const all = Array.from({ length: N }, (_, i) => i);
const D = triangleLength(size);
const expansion = fitExpansion(
  Array.from({ length: o.maxRealisations }, (_, r) => randomTriangles(set, all, size, o.noise, o.seed, 'qm-max', r)),
  randomTriangles(set, all, size, o.noise, o.seed, 'qm-stats'),
  D,
  o.step,
);
const W = expansionWidth(expansion);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const cpuMs = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e3;
};
/** Median wall and CPU ms per step of `f` doing `steps` steps. */
async function timed(steps: number, f: () => unknown): Promise<{ wall: number; cpu: number }> {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await f();
    walls.push((performance.now() - t) / steps);
    cpus.push(cpuMs(c) / steps);
  }
  return { wall: median(walls), cpu: median(cpus) };
}
const ms = (x: { wall: number; cpu: number }) => `${x.wall.toFixed(2)} ms wall, ${x.cpu.toFixed(2)} ms CPU`;

console.log(`quantum-machine training step: ${N} molecules, ${W}-${o.hidden.join('-')}-${T}, batch ${B}, ${threads} thread(s), medians of ${repeats}`);

// (1) The input pipeline, as the trainer's augment hook runs it.
const order = permutation(N, rngFor(0, 'bench'));
const pipeline = await timed(S, () => {
  for (let s = 0; s < S; s++) {
    const idx = order.subarray((s * B) % (N - B), ((s * B) % (N - B)) + B);
    expandRows(expansion, randomTriangles(set, idx, size, o.noise, o.seed, 'qm-train', 0, s));
  }
});
console.log(`  input pipeline (random matrices, triangles, expansion): ${ms(pipeline)} per step`);

// (2) The trainer's step on fixed, pre-expanded inputs: S steps (whole batches), no augmentation.
const x = expandRows(expansion, randomTriangles(set, all, size, o.noise, o.seed, 'qm-bench'));
const { mean, std } = targetStats(Y, T);
const y = new Float32Array(N * T);
const mask = new Float32Array(N * T);
for (let i = 0; i < N * T; i++)
  if (!Number.isNaN(Y[i]!)) {
    y[i] = (Y[i]! - mean[i % T]!) / std[i % T]!;
    mask[i] = 1;
  }
const rows = S * B;
const take = (t: Float32Array, per: number): TensorData => ({ dtype: 'float32', dims: [rows, per], data: t.slice(0, rows * per) });
if (rows > N) throw new Error(`--steps ${S} needs ${rows} molecules, there are ${N}`);
const data = { x: take(x, W), y: take(y, T), mask: take(mask, T) };
const spec = qmSpec(W, T, o);
for (const per of [1, k]) {
  // The second of two epochs: sessions are open by then.
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const marks: { t: number; c: NodeJS.CpuUsage }[] = [];
    const t = new Trainer(
      spec,
      {
        epochs: 2,
        batchSize: B,
        lr: o.lr,
        loss: { kind: 'multitask-mse' },
        seed: 0,
        threads,
        stepsPerRun: per,
        onEpoch: () => marks.push({ t: performance.now(), c: process.cpuUsage() }),
      },
      qmInitialParams(spec, 0),
    );
    await t.fit(data);
    walls.push((marks[1]!.t - marks[0]!.t) / S);
    const [a, b] = [marks[0]!.c, marks[1]!.c];
    cpus.push((b.user + b.system - a.user - a.system) / 1e3 / S);
  }
  console.log(`  trainer step on fixed inputs, ${per} step(s) per run: ${ms({ wall: median(walls), cpu: median(cpus) })} per step`);
}

// (3) ONNX Runtime's profiler on the chained graph: kernel time per step, by operator type.
const built = buildGraph(spec, 'train', { loss: { kind: 'multitask-mse' }, optimizer: o.optimizer, values: qmInitialParams(spec, 0), threads });
const chained = chainSteps(built, k, B);
const dir = mkdtempSync(join(tmpdir(), 'relprop-qm-step-'));
const session = await ort.InferenceSession.create(encodeModel(chained.graph), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  enableProfiling: true,
  profileFilePrefix: join(dir, 'ort'),
});
const feeds: Record<string, ort.Tensor> = { lr: new ort.Tensor('float32', new Float32Array(k).fill(1e-4), [k]) };
for (let j = 0; j < k; j++) {
  feeds[`input~${j}`] = new ort.Tensor('float32', x.slice(j * B * W, (j + 1) * B * W), [B, W]);
  feeds[`labels~${j}`] = new ort.Tensor('float32', y.slice(j * B * T, (j + 1) * B * T), [B, T]);
  feeds[`mask~${j}`] = new ort.Tensor('float32', mask.slice(j * B * T, (j + 1) * B * T), [B, T]);
}
const init = qmInitialParams(spec, 0);
for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', init.get(p.name)!.data as Float32Array, p.dims);
for (const st of built.states!) feeds[st.name] = new ort.Tensor('float32', new Float32Array(numel(st.dims)), st.dims);
const runs = Math.max(1, Math.floor(S / k));
for (let r = 0; r < runs; r++) await session.run(feeds);
session.endProfiling();
await session.release();
const file = readdirSync(dir).find((f) => f.endsWith('.json'));
if (!file) throw new Error(`no ONNX Runtime profile in ${dir}`);
const events = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
const byOp = new Map<string, number>();
let kernel = 0;
let run = 0;
for (const e of events) {
  if (e.cat === 'Node' && e.name.endsWith('_kernel_time')) {
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    kernel += e.dur;
  } else if (e.cat === 'Session' && e.name === 'model_run') run += e.dur;
}
rmSync(dir, { recursive: true, force: true });
// The first run includes warm-up; all runs are counted (the profile has no per-run split that is cheap to use).
const perStep = (us: number) => us / 1000 / (runs * k);
console.log(`  ONNX Runtime, ${k} steps per run: model_run ${perStep(run).toFixed(2)} ms per step, kernels ${perStep(kernel).toFixed(2)} ms per step:`);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`    ${op.padEnd(12)} ${perStep(us).toFixed(3)} ms`);

// (4) PyTorch's step, in the same parts.
const tdir = mkdtempSync(join(tmpdir(), 'relprop-qm-step-torch-'));
const stack = new Float64Array(N * size * size);
set.matrices.forEach((m, i) => stack.set(m, i * size * size));
writeFileSync(join(tdir, 'train_C.npy'), encodeNpy({ dtype: 'float64', dims: [N, size, size], data: stack }));
writeFileSync(join(tdir, 'train_Y.npy'), encodeNpy({ dtype: 'float64', dims: [N, T], data: Y }));
const script = fileURLToPath(new URL('../../bench/molecules_torch.py', import.meta.url));
try {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
  const out = execFileSync('/usr/bin/python3', [script, tdir, String(threads), '1', String(B), '1', '--step', String(S), String(repeats)], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const t = JSON.parse(out.trim().split('\n').pop()!) as Record<string, number>;
  console.log(
    `  PyTorch ${t.torch}: input pipeline ${t.input_ms!.toFixed(2)} ms, forward + backward ${t.fwd_bwd_ms!.toFixed(2)} ms, optimizer ${t.opt_ms!.toFixed(2)} ms; whole step on fixed inputs ${t.step_ms!.toFixed(2)} ms wall, ${t.step_cpu_ms!.toFixed(2)} ms CPU`,
  );
} catch (e) {
  console.log(`  PyTorch n/a (${(e as Error).message.split('\n')[0]})`);
}
rmSync(tdir, { recursive: true, force: true });
