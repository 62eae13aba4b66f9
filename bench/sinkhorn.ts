/**
 * Sinkhorn iterations per second: relprop's log-domain Sinkhorn graph (float32, ONNX Runtime)
 * against POT's ot.bregman.sinkhorn_log and sinkhorn_knopp (bench/sinkhorn_pot.py, float32 inputs) on the
 * same random Hamming cost matrix, same γ, same thread count, alternating in one run. Fixed
 * iteration counts (no early stop) so that both sides do the same work.
 *
 *   node dist/bench/sinkhorn.js [--sizes 1000,5000] [--gamma 1] [--iters 50] [--rounds 2] [--threads 1] [--python /usr/bin/python3]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CostMatrix } from '../src/core/boltzmann/sinkhorn.js';
import { buildSinkhornGraph } from '../src/core/boltzmann/wasserstein-graphs.js';
import { rngFor } from '../src/core/math/rng.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    gamma: { type: 'string', default: '1' },
    iters: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const gamma = Number(values.gamma);
const iters = Number(values.iters);
const threads = Number(values.threads);
const block = 10;
const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
const script = join(import.meta.dirname, '..', '..', 'bench', 'sinkhorn_pot.py');
const dir = mkdtempSync(join(tmpdir(), 'bench-sinkhorn-'));
process.stdout.write(`Sinkhorn, Hamming cost between random binary vectors (d = 64), γ = ${gamma}, ${iters} iterations, ${threads} thread(s)\n`);
process.stdout.write(
  '| n = m | round | relprop (log domain) it/s | POT sinkhorn_log it/s | POT sinkhorn (linear) it/s | relprop / POT log | relprop / POT linear |\n|---|---|---|---|---|---|---|\n',
);
const session = await openSession(undefined, encodeModel(buildSinkhornGraph(block), 'bench-sinkhorn'), { threads });
for (const n of values.sizes.split(',').map(Number)) {
  const rng = rngFor(0, 'bench-sinkhorn', n);
  const d = 64;
  const x = Float32Array.from({ length: n * d }, () => (rng() < 0.3 ? 1 : 0));
  const y = Float32Array.from({ length: n * d }, () => (rng() < 0.3 ? 1 : 0));
  const cost = await CostMatrix.create(d, undefined, { threads });
  const M = await cost.between(x, y);
  await cost.release();
  const path = join(dir, `M${n}.npy`);
  writeFileSync(path, encodeNpy(float32([n, n], M)));
  const logw = new Float32Array(n).fill(-Math.log(n));
  const feeds = { M: float32([n, n], M), logp: float32([n], logw), logq: float32([n], logw), gamma: float32([], [gamma]) };
  const runOurs = async (count: number) => {
    let g: Float32Array = new Float32Array(n);
    for (let k = 0; k < count / block; k++) g = (await session.run({ ...feeds, g: float32([n], g) }, ['g_new'])).g_new!.data as Float32Array;
    return g;
  };
  await runOurs(2 * block);
  for (let r = 1; r <= Number(values.rounds); r++) {
    const t0 = performance.now();
    await runOurs(iters);
    const ours = iters / ((performance.now() - t0) / 1000);
    const out = execFileSync(values.python, [script, path, String(gamma), String(iters)], { env, encoding: 'utf8' });
    const pot = JSON.parse(out) as { log_its: number; linear_its: number };
    process.stdout.write(
      `| ${n} | ${r} | ${ours.toFixed(1)} | ${pot.log_its.toFixed(1)} | ${pot.linear_its.toFixed(1)} | ${(ours / pot.log_its).toFixed(2)}× | ${(ours / pot.linear_its).toFixed(2)}× |\n`,
    );
  }
}
await session.release();
