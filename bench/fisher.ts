/**
 * GMM fitting and FV encoding, relprop's graphs on ONNX Runtime against scikit-learn and NumPy
 * (bench/fisher_numpy.py; Debian's python3-sklearn and python3-numpy) on the same descriptors and
 * thread count (OPENBLAS/OMP threads for the Python side), in one run of alternating rounds
 * (the machine is shared, so medians of the rounds are reported; for the fits also of CPU time,
 * user + system of the process's threads, which a loaded machine inflates less than wall time):
 * - GMM fitting: a diagonal K-component mixture by EM for a fixed number of iterations (relprop
 *   with tolerance −∞, scikit-learn's GaussianMixture with tol=0) from the same initial mixture
 *   (relprop's k-means++ means, the data variance, uniform priors), so both do the same E- and
 *   M-steps; per-iteration time and total, and k-means++ seeding timed apart (scikit-learn's
 *   kmeans_plusplus with one trial per seed, the plain algorithm).
 * - one E-step pass (float32, both) and FV encoding in the moment form (γᵀl, γᵀl²) against NumPy;
 *   the last line times relprop's explainer form, which materialises the per-descriptor terms
 *   ψ [N, T, 2KD] that LRP redistributes over.
 *
 *   npm run build && node dist/bench/fisher.js [--threads 1,2] [--descriptors 100000] [--images 256]
 *     [--iterations 20] [--repeats 5]
 */
import '../src/node/register.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { fisherTerms, fisherVector, logJoint, posteriors } from '../src/core/fisher/encode.js';
import { buildEStepGraph, eStep, fitGmm, kmeansPlusPlus } from '../src/core/fisher/gmm.js';
import { FvGraph } from '../src/core/fisher/graph.js';
import type { Gmm } from '../src/core/fisher/model.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { closePeers, peerFor } from './peer.js';

const { values } = parseArgs({
  options: {
    descriptors: { type: 'string', default: '100000' },
    images: { type: 'string', default: '256' },
    repeats: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '20' },
    threads: { type: 'string', default: '1' },
  },
});
// The NumPy processes start before anything large is allocated (bench/peer.ts says why).
for (const t of values.threads.split(',').map(Number)) peerFor('/usr/bin/python3', t);
const M = Number(values.descriptors);
const N = Number(values.images);
const rounds = Number(values.repeats);
const iterations = Number(values.iterations);
const K = 32;
const D = 32;
const T = 421; // descriptors of a 64×64 canvas at 8×8 and 12×12 patches, stride 4

const rng = rngFor(0, 'bench-fisher');
const gmm: Gmm = {
  K,
  D,
  priors: new Float32Array(K).fill(1 / K),
  means: Float32Array.from({ length: K * D }, () => gaussian(rng)),
  variances: Float32Array.from({ length: K * D }, () => 0.5 + rng()),
};
const sample = (n: number) =>
  Float32Array.from({ length: n * D }, (_, i) => {
    const k = Math.floor(i / D) % K;
    return gmm.means[k * D + (i % D)]! + gaussian(rng);
  });
const x = sample(M);
const l = sample(N * T);

const dir = mkdtempSync(join(tmpdir(), 'relprop-bench-fisher-'));
writeFileSync(join(dir, 'x.npy'), encodeNpy(float32([M, D], x)));
writeFileSync(join(dir, 'l.npy'), encodeNpy(float32([N, T, D], l)));
writeFileSync(join(dir, 'log_priors.npy'), encodeNpy(float32([K], Array.from(gmm.priors, Math.log))));
writeFileSync(join(dir, 'means.npy'), encodeNpy(float32([K, D], gmm.means)));
writeFileSync(join(dir, 'variances.npy'), encodeNpy(float32([K, D], gmm.variances)));

// The initial mixture both fits start from: relprop's k-means++ means, the data variance, uniform priors.
const initMeans = await kmeansPlusPlus(x, M, D, K, 0, { threads: 1 });
const dataVar = new Float32Array(D);
{
  const mean = new Float64Array(D);
  for (let i = 0; i < M * D; i++) mean[i % D]! += x[i]! / M;
  for (let i = 0; i < M * D; i++) dataVar[i % D]! += (x[i]! - mean[i % D]!) ** 2 / M;
}
const init: Gmm = { K, D, priors: new Float32Array(K).fill(1 / K), means: initMeans, variances: new Float32Array(K * D) };
for (let k = 0; k < K; k++) init.variances.set(dataVar, k * D);
writeFileSync(join(dir, 'init_means.npy'), encodeNpy(float32([K, D], init.means)));
writeFileSync(join(dir, 'init_variances.npy'), encodeNpy(float32([K, D], init.variances)));

interface Round {
  estep: number;
  encode: number;
  encodePsi?: number;
  emSeconds?: number;
  emCpuSeconds?: number;
  emLogLik?: number;
  kmeansSeconds?: number;
}

async function estepRate(threads: number): Promise<number> {
  const eSession = await buildEStepGraph(K, D).session(undefined, 'the E-step graph', threads);
  await eStep(eSession, x, M, D, gmm, 8192);
  const t0 = performance.now();
  await eStep(eSession, x, M, D, gmm, 8192);
  const rate = M / ((performance.now() - t0) / 1000);
  await eSession.release();
  return rate;
}

/** FV graph from descriptors: the moment form (inference, fitting) or the ψ form (explainer). */
async function encodeRate(form: 'moments' | 'psi', threads: number): Promise<number> {
  const fg = new FvGraph();
  const li = fg.input('l', ['N', T, D]);
  const g = {
    logPriors: fg.param('lp', float32([K], Array.from(gmm.priors, Math.log))),
    means: fg.param('mu', float32([K, D], gmm.means)),
    variances: fg.param('var', float32([K, D], gmm.variances)),
  };
  const gamma = posteriors(fg.b, logJoint(fg.b, li, g, D));
  const z =
    form === 'moments' ? fisherVector(fg.b, li, gamma, g, T) : fg.b.op('ReduceSum', [fisherTerms(fg.b, li, gamma, g, T), fg.b.ints([1])], { keepdims: 0 });
  fg.output('z', z, ['N', 2 * K * D]);
  const session = await fg.session(undefined, 'the FV graph', threads);
  const batch = 16;
  const encodeAll = async () => {
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      await session.run({ l: float32([e - s, T, D], l.subarray(s * T * D, e * T * D)) });
    }
  };
  await encodeAll();
  const t = performance.now();
  await encodeAll();
  await session.release();
  return N / ((performance.now() - t) / 1000);
}

async function relpropRound(threads: number): Promise<Round> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const fit = await fitGmm(x, M, D, {
    K,
    seed: 0,
    maxIterations: iterations,
    tolerance: -Infinity,
    threads,
    start: { iteration: 0, gmm: init, logLik: [], reseeded: 0 },
  });
  const emSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const emCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const t1 = performance.now();
  await kmeansPlusPlus(x, M, D, K, 0, { threads });
  const kmeansSeconds = (performance.now() - t1) / 1000;
  return {
    estep: await estepRate(threads),
    encode: await encodeRate('moments', threads),
    encodePsi: await encodeRate('psi', threads),
    emSeconds,
    emCpuSeconds,
    emLogLik: fit.logLik.at(-1)!,
    kmeansSeconds,
  };
}

interface PeerOutput {
  estep_descriptors_per_s: number;
  encode_images_per_s: number;
  numpy: string;
  sklearn: string | null;
  em_s?: number;
  em_cpu_s?: number;
  em_iterations?: number;
  em_loglik?: number;
  kmeanspp_s?: number;
}

function peerRound(threads: number): Promise<PeerOutput> {
  const script = fileURLToPath(new URL('../../bench/fisher_numpy.py', import.meta.url));
  return peerFor('/usr/bin/python3', threads).json<PeerOutput>(script, [dir, '1', String(iterations)]);
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const f = (v: number, d = 0) => v.toFixed(d);
console.log(
  `K=${K} D=${D}, ${M} descriptors, ${iterations} EM iterations; ${cpus()[0]?.model} ×${cpus().length}; Node ${process.versions.node}; onnxruntime-node ${ort.env.versions.common}; medians of ${rounds} alternating rounds`,
);
const table: string[] = [];
let versions = '';
for (const threads of values.threads.split(',').map(Number)) {
  const rs: Round[] = [];
  const ps: PeerOutput[] = [];
  for (let r = 0; r < rounds; r++) {
    rs.push(await relpropRound(threads));
    ps.push(await peerRound(threads));
    const a = rs.at(-1)!;
    const b = ps.at(-1)!;
    console.log(
      `  threads ${threads} round ${r + 1}: EM ${f(a.emSeconds!, 2)} s vs ${b.em_s === undefined ? 'n/a' : f(b.em_s, 2)} s; E-step ${f(a.estep)} vs ${f(b.estep_descriptors_per_s)} descriptors/s; FV ${f(a.encode)} vs ${f(b.encode_images_per_s)} images/s`,
    );
  }
  versions = `NumPy ${ps[0]!.numpy}, scikit-learn ${ps[0]!.sklearn ?? 'not installed'}`;
  const med = (pick: (p: Round) => number | undefined) => median(rs.map(pick).filter((v): v is number => v !== undefined));
  const pmed = (pick: (p: PeerOutput) => number | undefined) => {
    const v = ps.map(pick).filter((u): u is number => u !== undefined);
    return v.length ? median(v) : undefined;
  };
  const em = med((r) => r.emSeconds);
  const pem = pmed((p) => p.em_s);
  const emCpu = med((r) => r.emCpuSeconds);
  const pemCpu = pmed((p) => p.em_cpu_s);
  const kpp = med((r) => r.kmeansSeconds);
  const pkpp = pmed((p) => p.kmeanspp_s);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? f(a / b, 2) : 'n/a');
  const secs = (v: number | undefined, d = 2) => (v === undefined ? 'n/a' : `${f(v, d)} s`);
  table.push(
    `| ${threads} | GMM EM, ${iterations} iterations, total | ${secs(em)} | ${secs(pem)} (scikit-learn) | ${ratio(pem, em)} |`,
    `| ${threads} | GMM EM, per iteration | ${f((em / iterations) * 1000, 1)} ms | ${pem === undefined ? 'n/a' : `${f((pem / iterations) * 1000, 1)} ms`} | ${ratio(pem, em)} |`,
    `| ${threads} | GMM EM, CPU time per iteration | ${f((emCpu / iterations) * 1000, 1)} ms | ${pemCpu === undefined ? 'n/a' : `${f((pemCpu / iterations) * 1000, 1)} ms`} | ${ratio(pemCpu, emCpu)} |`,
    `| ${threads} | k-means++ seeding (K=${K}) | ${secs(kpp, 3)} | ${secs(pkpp, 3)} (scikit-learn) | ${ratio(pkpp, kpp)} |`,
    `| ${threads} | final mean log-likelihood | ${f(
      med((r) => r.emLogLik),
      4,
    )} | ${pmed((p) => p.em_loglik)?.toFixed(4) ?? 'n/a'} | |`,
    `| ${threads} | E-step pass, ${M} descriptors | ${f(med((r) => r.estep))} descriptors/s | ${f(pmed((p) => p.estep_descriptors_per_s)!)} (NumPy) | ${ratio(
      med((r) => r.estep),
      pmed((p) => p.estep_descriptors_per_s),
    )} |`,
    `| ${threads} | FV encoding, ${N} images × ${T} descriptors | ${f(med((r) => r.encode))} images/s | ${f(pmed((p) => p.encode_images_per_s)!)} (NumPy) | ${ratio(
      med((r) => r.encode),
      pmed((p) => p.encode_images_per_s),
    )} |`,
    `| ${threads} | FV encoding with ψ kept (explainer) | ${f(med((r) => r.encodePsi))} images/s | | ${ratio(
      med((r) => r.encodePsi),
      pmed((p) => p.encode_images_per_s),
    )} |`,
  );
}
console.log(`\n${versions}; ratio = relprop's speed over the peer's\n| threads | pass | relprop (ONNX Runtime) | peer | ratio |\n|---|---|---|---|---|`);
for (const row of table) console.log(row);
closePeers();
