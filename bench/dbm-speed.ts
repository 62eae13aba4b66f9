/**
 * DBM speed against NumPy (Debian's python3-numpy via /usr/bin/python3, float32, the same
 * updates and sweeps with the same arithmetic savings in bench/dbm_numpy.py), same threads,
 * alternating rounds in one run. The target is ≥ 2× NumPy.
 * - Training: updates per second of DbmTrainer.steps (uniforms drawn in TypeScript included), with
 *   1 and with `--per-run` updates per graph run; epochs per minute for a 60,000-image epoch
 *   (2,400 updates of batch 25) follow as updates/s × 60 / 2,400.
 * - Sampling: block Gibbs sweeps per second of `--chains` chains through GibbsSampler, the code of
 *   relprop sample (blocks of 50 sweeps per run, uniforms included).
 * Rates per second of wall time and of process CPU time (user + system, all threads): on a shared
 * machine the wall rate follows the load, the CPU rate much less.
 * Measured 2026-12-04 (2-vCPU AMD EPYC, 1 thread, load average 3.5–4.2; examples/boltzmann/README.md,
 * "Speed against NumPy"): training 1.30–1.35×, sampling 1.51–1.62× NumPy, short of the target;
 * bench/dbm-floor.ts shows the GEMMs that bound both.
 *
 *   node dist/bench/dbm-speed.js [--sizes 784,400,100] [--batch 25] [--updates 600] [--per-run 10]
 *        [--chains 100] [--sweeps 600] [--rounds 3] [--threads 1] [--python /usr/bin/python3]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { DbmParams } from '../src/core/boltzmann/dbm.js';
import { DbmTrainer } from '../src/core/boltzmann/dbm-train.js';
import { GibbsSampler } from '../src/core/boltzmann/sample.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { peerFor, closePeers } from './peer.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '784,400,100' },
    batch: { type: 'string', default: '25' },
    updates: { type: 'string', default: '600' },
    'per-run': { type: 'string', default: '10' },
    chains: { type: 'string', default: '100' },
    sweeps: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const B = Number(values.batch);
const updates = Number(values.updates);
const perRun = Number(values['per-run']);
const chains = Number(values.chains);
const sweeps = Number(values.sweeps);
const threads = Number(values.threads);
// NumPy runs in one process started before anything large is allocated (bench/peer.ts says why).
const version = execFileSync(values.python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim();
peerFor(values.python, threads);
const rng = rngFor(0, 'bench-dbm-data');
const n = 1000;
const x = Float32Array.from({ length: n * sizes[0]! }, () => (rng() < 0.13 ? 1 : 0));
const batchAt = (k: number) => {
  const s = (k * B) % (n - B);
  return x.subarray(s * sizes[0]!, (s + B) * sizes[0]!);
};
const trainers = new Map<number, DbmTrainer>();
for (const S of [1, perRun]) {
  const t = await DbmTrainer.create(
    { x, n, nv: sizes[0]! },
    { hidden: sizes.slice(1), lr: 0.005, nu: 0.005, batchSize: B, centered: true, seed: 1, threads, updatesPerRun: S },
  );
  // Warm-up: the first runs size ONNX Runtime's arena and let V8 compile the loops.
  for (let k = 0; k < Math.max(3, 30 / S); k++) await t.steps(Array.from({ length: S }, (_, j) => batchAt(k * S + j)));
  trainers.set(S, t);
}

// relprop sample's sampler on random weights N(0, 0.1²) (as the NumPy side draws them).
const L = sizes.length - 1;
const T = 50;
const g = rngFor(0, 'bench-gibbs');
const model: DbmParams = {
  sizes,
  W: sizes.slice(0, L).map((n, l) => Float32Array.from({ length: n * sizes[l + 1]! }, () => 0.1 * gaussian(g))),
  b: sizes.map((n) => new Float32Array(n).fill(-1)),
  o: sizes.map((n) => new Float32Array(n).fill(0.27)),
};
const gibbs = new GibbsSampler(model, chains, { threads });
let states: Float32Array[] = sizes.map((s) => Float32Array.from({ length: chains * s }, () => (g() < 0.5 ? 1 : 0)));
async function gibbsBlock(block: number): Promise<void> {
  states = (await gibbs.run(states, T, rngFor(1, 'bench-gibbs-block', block))).states;
}
for (let k = 0; k < 3; k++) await gibbsBlock(-1 - k);

/** Rate of `count` units of work done by `work`, per second of wall and of process CPU time. */
async function rates(count: number, work: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall: count / wall, cpu: count / ((c.user + c.system) / 1e6) };
}
const script = join(import.meta.dirname, '..', '..', 'bench', 'dbm_numpy.py');
const numpy = (args: string[]) => peerFor(values.python, threads).json<Record<string, number>>(script, [values.sizes, ...args]);

process.stdout.write(
  `DBM ${sizes.join('-')}, ${threads} thread(s); NumPy ${version} (${values.python}). Training: batch ${B}, 5 mean-field rounds, 1 Gibbs sweep, ${updates} updates per round. Sampling: ${chains} chains, ${sweeps} sweeps per round.\n`,
);
process.stdout.write(`| round | what | ORT 1 update/run | ORT ${perRun} updates/run | NumPy | ratio (${perRun}/run ÷ NumPy) |\n|---|---|---|---|---|---|\n`);
const f = (r: { wall: number; cpu: number }) => `${r.wall.toFixed(1)} wall, ${r.cpu.toFixed(1)} CPU`;
const ratio = (a: { wall: number; cpu: number }, b: { wall: number; cpu: number }) =>
  `${(a.wall / b.wall).toFixed(2)}× wall, ${(a.cpu / b.cpu).toFixed(2)}× CPU`;
let block = 1;
for (let r = 1; r <= Number(values.rounds); r++) {
  const one = await rates(updates, async () => {
    for (let k = 0; k < updates; k++) await trainers.get(1)!.step(batchAt(k));
  });
  const many = await rates(updates, async () => {
    for (let k = 0; k < updates; k += perRun) await trainers.get(perRun)!.steps(Array.from({ length: perRun }, (_, j) => batchAt(k + j)));
  });
  const np = await numpy([String(B), String(updates), '5']);
  const npr = { wall: np.updates_per_s!, cpu: np.cpu_updates_per_s! };
  process.stdout.write(`| ${r} | updates/s | ${f(one)} | ${f(many)} | ${f(npr)} | ${ratio(many, npr)} |\n`);
  const sw = await rates(sweeps, async () => {
    for (let k = 0; k < sweeps; k += T) await gibbsBlock(block++);
  });
  const ng = await numpy([String(chains), String(sweeps), 'gibbs']);
  const ngr = { wall: ng.sweeps_per_s!, cpu: ng.cpu_sweeps_per_s! };
  process.stdout.write(`| ${r} | Gibbs sweeps/s | – | ${f(sw)} (${T}/run) | ${f(ngr)} | ${ratio(sw, ngr)} |\n`);
}
for (const t of trainers.values()) await t.release();
await gibbs.release();
closePeers();
