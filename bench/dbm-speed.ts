/**
 * DBM training speed: updates per second of the ONNX Runtime update graph (DbmTrainer.step,
 * uniforms drawn in TypeScript included) against the same update in NumPy (bench/dbm_numpy.py,
 * float32), same threads, alternating rounds in one run. The target is ≥ 2× NumPy.
 *
 *   node dist/bench/dbm-speed.js [--sizes 784,400,100] [--batch 25] [--updates 200] [--rounds 3] [--threads 1]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DbmTrainer } from '../src/core/boltzmann/dbm-train.js';
import { rngFor } from '../src/core/math/rng.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '784,400,100' },
    batch: { type: 'string', default: '25' },
    updates: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const B = Number(values.batch);
const updates = Number(values.updates);
const threads = Number(values.threads);
const rng = rngFor(0, 'bench-dbm-data');
const n = 1000;
const x = Float32Array.from({ length: n * sizes[0]! }, () => (rng() < 0.13 ? 1 : 0));
const trainer = await DbmTrainer.create(
  { x, n, nv: sizes[0]! },
  { hidden: sizes.slice(1), lr: 0.005, nu: 0.005, batchSize: B, centered: true, seed: 1, threads },
);
const batchAt = (k: number) => {
  const s = (k * B) % (n - B);
  return x.subarray(s * sizes[0]!, (s + B) * sizes[0]!);
};
for (let k = 0; k < 3; k++) await trainer.step(batchAt(k));
const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
const script = join(import.meta.dirname, '..', '..', 'bench', 'dbm_numpy.py');
process.stdout.write(`DBM ${sizes.join('-')}, batch ${B}, 5 mean-field rounds, 1 Gibbs sweep, ${threads} thread(s), ${updates} updates per round\n`);
process.stdout.write('| round | ONNX Runtime updates/s | NumPy updates/s | ratio |\n|---|---|---|---|\n');
for (let r = 1; r <= Number(values.rounds); r++) {
  const t0 = performance.now();
  for (let k = 0; k < updates; k++) await trainer.step(batchAt(k));
  const ort = updates / ((performance.now() - t0) / 1000);
  const out = execFileSync('python3', [script, values.sizes, String(B), String(updates), '5'], { env, encoding: 'utf8' });
  const np = (JSON.parse(out) as { updates_per_s: number }).updates_per_s;
  process.stdout.write(`| ${r} | ${ort.toFixed(1)} | ${np.toFixed(1)} | ${(ort / np).toFixed(2)}× |\n`);
}
await trainer.release();
