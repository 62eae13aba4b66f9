/**
 * GMM E-step and FV encoding throughput, relprop's graphs on ONNX Runtime against NumPy on the same
 * data and thread count (issue 13 asks for scikit-learn's GaussianMixture too; its E-step is the
 * same NumPy arithmetic, and python3-sklearn is not installed here). Both float32, one thread
 * each (OPENBLAS/OMP threads = 1 for NumPy), timed after one warm-up pass, in one run.
 *
 *   node dist/bench/fisher.js [--descriptors 100000] [--images 256] [--repeats 5]
 * Both encoders use the moment form (γᵀl, γᵀl²); the last line times relprop's explainer form,
 * which materialises the per-descriptor terms ψ [N, T, 2KD] that LRP redistributes over.
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fisherTerms, fisherVector, logJoint, posteriors } from '../src/core/fisher/encode.js';
import { buildEStepGraph, eStep } from '../src/core/fisher/gmm.js';
import { FvGraph } from '../src/core/fisher/graph.js';
import type { Gmm } from '../src/core/fisher/model.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';

const { values } = parseArgs({
  options: { descriptors: { type: 'string', default: '100000' }, images: { type: 'string', default: '256' }, repeats: { type: 'string', default: '5' } },
});
const M = Number(values.descriptors);
const N = Number(values.images);
const reps = Number(values.repeats);
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

const eSession = await buildEStepGraph(K, D).session(undefined, 'the E-step graph', 1);
await eStep(eSession, x, M, D, gmm, 8192);
const t0 = performance.now();
for (let r = 0; r < reps; r++) await eStep(eSession, x, M, D, gmm, 8192);
const estep = M / ((performance.now() - t0) / 1000 / reps);
await eSession.release();

/** FV graph from descriptors: the moment form (inference, fitting) or the ψ form (explainer). */
async function encodeRate(form: 'moments' | 'psi'): Promise<number> {
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
  const session = await fg.session(undefined, 'the FV graph', 1);
  const batch = 16;
  const encodeAll = async () => {
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      await session.run({ l: float32([e - s, T, D], l.subarray(s * T * D, e * T * D)) });
    }
  };
  await encodeAll();
  const t = performance.now();
  for (let r = 0; r < reps; r++) await encodeAll();
  await session.release();
  return N / ((performance.now() - t) / 1000 / reps);
}
const encode = await encodeRate('moments');
const encodePsi = await encodeRate('psi');

const script = fileURLToPath(new URL('../../bench/fisher_numpy.py', import.meta.url));
const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
const np = JSON.parse(
  execFileSync('/usr/bin/python3', [script, dir, String(reps)], { encoding: 'utf8', env })
    .trim()
    .split('\n')
    .pop()!,
) as {
  estep_descriptors_per_s: number;
  encode_images_per_s: number;
  numpy: string;
};
const f = (v: number) => v.toFixed(0);
console.log(`K=${K} D=${D}, one thread each; NumPy ${np.numpy}`);
console.log(`| pass | relprop (ONNX Runtime) | NumPy | ratio |\n|---|---|---|---|`);
console.log(`| E-step, ${M} descriptors | ${f(estep)} descriptors/s | ${f(np.estep_descriptors_per_s)} | ${(estep / np.estep_descriptors_per_s).toFixed(2)} |`);
console.log(
  `| FV encoding, ${N} images × ${T} descriptors | ${f(encode)} images/s | ${f(np.encode_images_per_s)} | ${(encode / np.encode_images_per_s).toFixed(2)} |`,
);
console.log(
  `| FV encoding with ψ kept (explainer) | ${f(encodePsi)} images/s | ${f(np.encode_images_per_s)} | ${(encodePsi / np.encode_images_per_s).toFixed(2)} |`,
);
