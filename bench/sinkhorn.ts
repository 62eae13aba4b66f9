/**
 * Sinkhorn iterations per second: relprop's log-domain and linear-domain Sinkhorn graphs (float32,
 * ONNX Runtime) against POT's ot.bregman.sinkhorn_log and sinkhorn_knopp (bench/sinkhorn_pot.py,
 * float32 inputs) on the same random Hamming cost matrix, same γ, same thread count, alternating in
 * one run. Table 1: fixed iteration counts (no early stop), so that every solver does the same
 * work; relprop's linear domain includes building K = exp(−M/γ) once per run, as POT's does, and
 * runs its blocks on the threads relprop's Sinkhorn gives them (one below 2²¹ cost entries, where
 * ONNX Runtime's two-thread matrix × vector products are slower; see linearBlockThreads).
 * Table 2: wall time to the tolerance (median of 3 solves on each side, after a warm-up),
 * relprop's `Sinkhorn` with domain 'auto' (L1 row-marginal error, checked every block of 10)
 * against POT with stopThr = tol (2-norm of the column-marginal error, checked every 10
 * iterations; never larger than the L1 norm, so POT may stop earlier).
 *
 * POT runs in one Python process started before anything large is allocated (bench/peer.ts says
 * why); --spawn starts a new one per call instead, as this bench did before, to show what the
 * forks cost relprop's next run.
 *
 *   node dist/bench/sinkhorn.js [--sizes 1000,5000] [--gamma 1] [--iters 50] [--tol 1e-5] [--rounds 2] [--threads 1] [--python /usr/bin/python3] [--spawn]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CostMatrix, linearBlockThreads, Sinkhorn } from '../src/core/boltzmann/sinkhorn.js';
import { buildSinkhornGraph, buildSinkhornLinearSolveGraph } from '../src/core/boltzmann/wasserstein-graphs.js';
import { rngFor } from '../src/core/math/rng.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { float32, float32View } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { closePeers, peerFor } from './peer.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    gamma: { type: 'string', default: '1' },
    iters: { type: 'string', default: '50' },
    tol: { type: 'string', default: '1e-5' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
    spawn: { type: 'boolean', default: false },
  },
});
const gamma = Number(values.gamma);
const iters = Number(values.iters);
const tol = Number(values.tol);
const threads = Number(values.threads);
const block = 10;
const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
const script = join(import.meta.dirname, '..', '..', 'bench', 'sinkhorn_pot.py');
const dir = mkdtempSync(join(tmpdir(), 'bench-sinkhorn-'));
const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
const pot = async (path: string, extra: string[]) =>
  values.spawn
    ? JSON.parse(execFileSync(values.python, [script, path, String(gamma), ...extra], { env, encoding: 'utf8' }))
    : await peerFor(values.python, threads).json(script, [path, String(gamma), ...extra]);
// POT's process starts before anything large is allocated (bench/peer.ts says why).
if (!values.spawn) peerFor(values.python, threads);
const logSession = await openSession(undefined, encodeModel(buildSinkhornGraph(block), 'bench-sinkhorn'), { threads });
// The linear blocks on the threads relprop's Sinkhorn gives them (one below 2²¹ cost entries).
const linearSessions = new Map<number, Awaited<ReturnType<typeof openSession>>>();
const linearSessionFor = async (entries: number) => {
  const t = linearBlockThreads(threads, entries);
  if (!linearSessions.has(t))
    linearSessions.set(t, await openSession(undefined, encodeModel(buildSinkhornLinearSolveGraph(block), 'bench-sinkhorn-linear'), { threads: t }));
  return linearSessions.get(t)!;
};
const fixedRows: string[] = [];
const tolRows: string[] = [];
for (const n of values.sizes.split(',').map(Number)) {
  const rng = rngFor(0, 'bench-sinkhorn', n);
  const d = 64;
  const xs = Float32Array.from({ length: n * d }, () => (rng() < 0.3 ? 1 : 0));
  const ys = Float32Array.from({ length: n * d }, () => (rng() < 0.3 ? 1 : 0));
  const cost = await CostMatrix.create(d, undefined, { threads });
  const M = await cost.between(xs, ys);
  await cost.release();
  const path = join(dir, `M${n}.npy`);
  writeFileSync(path, encodeNpy(float32([n, n], M)));
  const logw = new Float32Array(n).fill(-Math.log(n));
  const w = new Float32Array(n).fill(1 / n);
  const logFeeds = { M: float32View([n, n], M), logp: float32([n], logw), logq: float32([n], logw), gamma: float32([], [gamma]) };
  const runLog = async (count: number) => {
    let g: Float32Array = new Float32Array(n);
    for (let k = 0; k < count / block; k++) g = (await logSession.run({ ...logFeeds, g: float32([n], g) }, ['g_new'])).g_new!.data as Float32Array;
    return g;
  };
  const runLinear = async (count: number) => {
    // Tolerance 0: every block runs (the solve graph stops only below the tolerance).
    const linearSession = await linearSessionFor(n * n);
    const out = await linearSession.run(
      {
        M: float32View([n, n], M), // a view, as relprop's Sinkhorn passes it: a copy is 100 MB of fresh pages per run
        gamma: float32([], [gamma]),
        p: float32([n], w),
        q: float32([n], w),
        tol: float32([], [0]),
        lo: float32([], [0]),
        hi: float32([], [Number.POSITIVE_INFINITY]),
        blocks: { dtype: 'int64', dims: [], data: new BigInt64Array([BigInt(count / block)]) },
      },
      ['done'],
    );
    if (Number((out.done!.data as BigInt64Array)[0]) * block !== count) throw new Error('the linear solve stopped early');
  };
  const auto = await Sinkhorn.create({ gamma, tol, maxIter: 100000, threads });
  await runLog(2 * block);
  // Two warm-up runs: ONNX Runtime sizes its memory plan in the first two runs of a session.
  await runLinear(2 * block);
  await runLinear(2 * block);
  await auto.solve(M, n, n);
  for (let r = 1; r <= Number(values.rounds); r++) {
    let t0 = performance.now();
    await runLog(iters);
    const ours = iters / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    await runLinear(iters);
    const lin = iters / ((performance.now() - t0) / 1000);
    const p = (await pot(path, [String(iters)])) as { log_its: number; linear_its: number };
    fixedRows.push(
      `| ${n} | ${r} | ${ours.toFixed(1)} | ${lin.toFixed(1)} | ${p.log_its.toFixed(1)} | ${p.linear_its.toFixed(1)} | ${x(ours, p.log_its)} | ${x(lin, p.linear_its)} | ${x(lin, p.log_its)} |`,
    );
    const times: number[] = [];
    let sol = await auto.solve(M, n, n);
    for (let k = 0; k < 3; k++) {
      t0 = performance.now();
      sol = await auto.solve(M, n, n);
      times.push((performance.now() - t0) / 1000);
    }
    const s = times.sort((a, b) => a - b)[1]!;
    const pt = (await pot(path, ['100000', String(tol)])) as { log_s: number; linear_s: number; log_niter: number; linear_niter: number };
    tolRows.push(
      `| ${n} | ${r} | ${sol.domain}, ${sol.iterations} it, ${s.toFixed(3)} s | ${pt.log_niter} it, ${pt.log_s.toFixed(3)} s | ${pt.linear_niter} it, ${pt.linear_s.toFixed(3)} s | ${x(pt.log_s, s)} | ${x(pt.linear_s, s)} |`,
    );
    process.stderr.write(`${fixedRows.at(-1)}\n${tolRows.at(-1)}\n`);
  }
  await auto.release();
}
process.stdout.write(
  `Sinkhorn, Hamming cost between random binary vectors (d = 64), γ = ${gamma}, ${threads} thread(s); POT in ${values.spawn ? 'a new process per call' : 'one process started first'}\n\n`,
);
process.stdout.write(`Iterations per second, ${iters} iterations, no early stop (relprop linear includes building K once):\n\n`);
process.stdout.write(
  '| n = m | round | relprop log it/s | relprop linear it/s | POT sinkhorn_log it/s | POT sinkhorn (linear) it/s | relprop log / POT log | relprop linear / POT linear | relprop linear / POT log |\n|---|---|---|---|---|---|---|---|---|\n',
);
process.stdout.write(`${fixedRows.join('\n')}\n\n`);
process.stdout.write(`Wall time to tolerance ${tol} (relprop: L1 row marginal; POT: 2-norm), cold start, median of 3; speed-up = POT time / relprop time:\n\n`);
process.stdout.write(
  '| n = m | round | relprop auto | POT sinkhorn_log | POT sinkhorn (linear) | vs POT log | vs POT linear |\n|---|---|---|---|---|---|---|\n',
);
process.stdout.write(`${tolRows.join('\n')}\n`);
await Promise.all([logSession.release(), ...[...linearSessions.values()].map((s) => s.release())]);
closePeers();
