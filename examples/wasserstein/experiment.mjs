// KL-trained vs Wasserstein-trained RBMs on the binarised "0" digits of scikit-learn's 8×8 digits
// (d = 64; the MNIST-small analogue of arXiv 1507.01972, digest §3.9), Hamming metric.
// For each model: exact held-out log-likelihood (16 hidden units: log Z by enumerating 2^16
// states), held-out W_γ and transport cost between the test images and model samples, sample
// diversity (mean pairwise Hamming distance), completion error at 25/50/75% missing and denoising
// error at 5/10/20% flips (mean Hamming distance to the clean test image), and a sample grid PNG.
// Usage (after `npx tsc -p tsconfig.json` or `npm run build`, from the repository root):
//   node examples/wasserstein/experiment.mjs DATA OUT_DIR [--dataset digits|debian|fashion-codes]
//        [--seeds 1,2] [--models kl,w,w-eta0,...] [--updates 3000] [--gamma 1]
// DATA: digits.csv (digits), the debian-descriptions folder (debian), a Fashion-MNIST IDX folder
// (fashion-codes). Sample grids are written for the digits only.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '../../dist/src/node/register.js';
import { encodeModel } from '../../dist/src/core/onnx/model.js';
import { openSession } from '../../dist/src/core/runtime.js';
import { gaussian, rngFor } from '../../dist/src/core/math/rng.js';
import { exactLogZ, meanLogProb } from '../../dist/src/core/boltzmann/likelihood.js';
import { completeRbm, denoiseRbm, meanHamming } from '../../dist/src/core/boltzmann/restore.js';
import { CostMatrix, Sinkhorn } from '../../dist/src/core/boltzmann/sinkhorn.js';
import { RbmTrainer } from '../../dist/src/core/boltzmann/train.js';
import { runGibbs, WrbmTrainer } from '../../dist/src/core/boltzmann/wasserstein.js';
import { buildGibbsGraph } from '../../dist/src/core/boltzmann/wasserstein-graphs.js';
import { encodePng } from '../../dist/src/node/visualize/png.js';
import { findIdxImages, loadIdxImages } from '../../dist/src/node/data/idx.js';
import { truncatedSvd } from '../../dist/src/core/math/linalg.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seeds: { type: 'string', default: '1,2' },
    models: { type: 'string', default: 'kl,w,w-eta0,w-eta1' },
    updates: { type: 'string', default: '3000' },
    gamma: { type: 'string', default: '1' },
    dataset: { type: 'string', default: 'digits' },
    'lr-kl': { type: 'string', default: '0.1' },
    'lr-w': { type: 'string', default: '0.2' },
  },
});
const [csv, out] = positionals;
if (!csv || !out)
  throw new Error(
    'usage: node experiment.mjs DATA OUT_DIR [--dataset digits|debian|fashion-codes] [--seeds 1,2] [--models kl,w,...] [--updates 3000] [--gamma 1]',
  );
const seeds = values.seeds.split(',').map(Number);
const updates = Number(values.updates);
const gamma = Number(values.gamma);
const lrKl = Number(values['lr-kl']);
const lrW = Number(values['lr-w']);
const run = { threads: 1 };
const asData = (rs) => ({ x: Float32Array.from(rs.flat()), n: rs.length, nv: rs[0].length });

const dataset = values.dataset;
const loaders = { digits: digitsZeros, debian: debianWords, 'fashion-codes': fashionCodes };
if (!loaders[dataset]) throw new Error(`--dataset must be one of ${Object.keys(loaders).join(', ')}`);
const { train, test } = loaders[dataset](csv);
const D = train.nv;

/** The "0" images binarised at 8 of 16 grey levels; every 5th (in file order) is a test image. */
function digitsZeros(path) {
  const zeros = readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(',').map(Number))
    .filter((r) => r[64] === 0)
    .map((r) => r.slice(0, 64).map((v) => (v >= 8 ? 1 : 0)));
  return { train: asData(zeros.filter((_, i) => i % 5 !== 4)), test: asData(zeros.filter((_, i) => i % 5 === 4)) };
}

/**
 * The PLANTS analogue: which of 64 words occur in a Debian package description (the folder of
 * train.jsonl / test.jsonl). Words: lower-case runs of ≥ 3 letters; the 64 with the highest
 * document frequency among those in at most 25% of the training descriptions. First 500 training
 * and 200 test descriptions.
 */
function debianWords(dir) {
  const docs = (f) =>
    readFileSync(join(dir, f), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          new Set(
            JSON.parse(l)
              .text.toLowerCase()
              .match(/[a-z]{3,}/g) ?? [],
          ),
      );
  const tr = docs('train.jsonl');
  const te = docs('test.jsonl');
  const df = new Map();
  for (const d of tr) for (const w of d) df.set(w, (df.get(w) ?? 0) + 1);
  const words = [...df]
    .filter(([, c]) => c <= 0.25 * tr.length)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 64)
    .map(([w]) => w);
  const rows = (ds) => ds.map((d) => words.map((w) => (d.has(w) ? 1 : 0)));
  return { train: asData(rows(tr.slice(0, 500))), test: asData(rows(te.slice(0, 200))), words };
}

/**
 * The MNIST-code analogue: 28-bit codes of Fashion-MNIST images (the IDX folder), the signs of
 * their projections on the top 28 principal components of 2,000 training images (randomised SVD);
 * first 500 training and 200 test images.
 */
function fashionCodes(dir) {
  const load = (split, n) => {
    const s = loadIdxImages(findIdxImages(dir, split));
    return s.images.data.subarray(0, n * 784);
  };
  const X = load('train', 2000);
  const mean = new Float64Array(784);
  for (let r = 0; r < 2000; r++) for (let k = 0; k < 784; k++) mean[k] += X[r * 784 + k] / 2000;
  const Xt = new Float32Array(784 * 2000);
  for (let r = 0; r < 2000; r++) for (let k = 0; k < 784; k++) Xt[k * 2000 + r] = X[r * 784 + k] - mean[k];
  const rng = rngFor(0, 'fashion-codes');
  const { U } = truncatedSvd(Xt, 784, 2000, 28, () => gaussian(rng));
  const codes = (x, n) => {
    const out = [];
    for (let r = 0; r < n; r++) {
      const row = [];
      for (let c = 0; c < 28; c++) {
        let s = 0;
        for (let k = 0; k < 784; k++) s += (x[r * 784 + k] - mean[k]) * U[k * 28 + c];
        row.push(s > 0 ? 1 : 0);
      }
      out.push(row);
    }
    return out;
  };
  return { train: asData(codes(X, 500)), test: asData(codes(load('test', 200), 200)) };
}

const H = 16;
/** The model configurations: KL by PCD, W-RBMs with KL weight η and entropy weight λ. */
const CONFIGS = {
  kl: { objective: 'kl', lr: lrKl, batchSize: 25 },
  w: { objective: 'wasserstein', lr: lrW, gamma, lambda: 0, eta: 0.1 },
  'w-eta0': { objective: 'wasserstein', lr: lrW, gamma, lambda: 0, eta: 0 },
  'w-eta1': { objective: 'wasserstein', lr: lrW, gamma, lambda: 0, eta: 1 },
  'w-ent': { objective: 'wasserstein', lr: lrW, gamma, lambda: 0.1, eta: 0.1 },
};

async function trainModel(cfg, seed, trace) {
  if (cfg.objective === 'kl') {
    const t = await RbmTrainer.create(train, {
      hidden: H,
      method: 'pcd',
      lr: cfg.lr,
      batchSize: cfg.batchSize,
      chains: cfg.batchSize,
      centered: true,
      seed,
      ...run,
    });
    while (t.snapshot().step < updates) {
      await t.epoch();
      await trace(t.params, t.snapshot().step);
    }
    const p = t.params;
    await t.release();
    return p;
  }
  const t = await WrbmTrainer.create(train, {
    hidden: H,
    lr: cfg.lr,
    gamma: cfg.gamma,
    lambda: cfg.lambda,
    eta: cfg.eta,
    chains: train.n,
    centered: true,
    seed,
    ...run,
  });
  while (t.snapshot().step < updates) {
    await t.epoch();
    await trace(t.params, t.snapshot().step);
  }
  const p = t.params;
  await t.release();
  return p;
}

/** m independent chains from fair coins, `sweeps` Gibbs sweeps each: samples of the model. */
async function sampleModel(p, m, sweeps, seed) {
  const s = await openSession(undefined, encodeModel(buildGibbsGraph(p.nv, p.nh, 100), 'gibbs'), run);
  const rng = rngFor(seed, 'eval-start');
  let v = Float32Array.from({ length: m * p.nv }, () => (rng() < 0.5 ? 1 : 0));
  for (let b = 0; b < sweeps / 100; b++) v = (await runGibbs(s, p, v, 100, rngFor(seed, 'eval-gibbs', b))).v;
  await s.release();
  return v;
}

function diversity(x, nv) {
  const n = x.length / nv;
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let d = 0;
      for (let k = 0; k < nv; k++) d += x[i * nv + k] !== x[j * nv + k] ? 1 : 0;
      s += d;
      pairs++;
    }
  return s / pairs;
}

const cost = await CostMatrix.create(D, undefined, run);
const sinkhorn = await Sinkhorn.create({ gamma, tol: 1e-5, ...run });
async function wTo(x, y) {
  const r = await sinkhorn.solve(await cost.between(x, y), x.length / D, y.length / D);
  return { w: r.value, transport: r.cost };
}

function gridPng(x, cols, path) {
  const n = x.length / 64;
  const rows = Math.ceil(n / cols);
  const W = cols * 9 + 1;
  const Hh = rows * 9 + 1;
  const rgba = new Uint8Array(W * Hh * 4).fill(255);
  for (let i = 0; i < n; i++) {
    const ox = 1 + (i % cols) * 9;
    const oy = 1 + Math.floor(i / cols) * 9;
    for (let k = 0; k < 64; k++) {
      const at = 4 * ((oy + Math.floor(k / 8)) * W + ox + (k % 8));
      const v = x[i * 64 + k] ? 0 : 235;
      rgba[at] = v;
      rgba[at + 1] = v;
      rgba[at + 2] = v;
    }
  }
  writeFileSync(path, encodePng(rgba, W, Hh, 4));
}

mkdirSync(out, { recursive: true });
const results = [];
const curves = [];
const models = values.models.split(',');
const started = Date.now();
for (const name of models) {
  const cfg = CONFIGS[name];
  for (const seed of seeds) {
    let nextTrace = 0;
    const trace = async (p, step) => {
      if (step < nextTrace) return;
      nextTrace += updates / 20;
      const logZ = await exactLogZ(p, run);
      curves.push({ model: name, seed, step, test_loglik: await meanLogProb(p, test.x, logZ, run), train_loglik: await meanLogProb(p, train.x, logZ, run) });
    };
    const p = await trainModel(cfg, seed, trace);
    const logZ = await exactLogZ(p, run);
    const samples = await sampleModel(p, 500, 1000, seed);
    const rec = {
      model: name,
      seed,
      ...cfg,
      hidden: H,
      updates,
      test_loglik: await meanLogProb(p, test.x, logZ, run),
      train_loglik: await meanLogProb(p, train.x, logZ, run),
    };
    const wt = await wTo(test.x, samples);
    rec.test_w = wt.w;
    rec.test_transport = wt.transport;
    rec.diversity = diversity(samples, D);
    rec.distinct_samples = new Set(Array.from({ length: 500 }, (_, i) => samples.subarray(i * D, (i + 1) * D).join(''))).size;
    for (const frac of [0.25, 0.5, 0.75]) {
      const rng = rngFor(seed, 'missing', frac);
      const mask = Float32Array.from(test.x, () => (rng() < frac ? 1 : 0));
      const c = await completeRbm(p, test.x, mask, { seed, sweeps: 50, burnIn: 50, ...run });
      rec[`complete_${frac}`] = meanHamming(c.restored, test.x, D);
    }
    for (const rate of [0.05, 0.1, 0.2]) {
      const rng = rngFor(seed, 'flip', rate);
      const noisy = Float32Array.from(test.x, (v) => (rng() < rate ? 1 - v : v));
      const d = await denoiseRbm(p, noisy, rate, { seed, sweeps: 50, burnIn: 50, ...run });
      rec[`denoise_${rate}`] = meanHamming(d.restored, test.x, D);
    }
    if (dataset === 'digits') gridPng(samples.subarray(0, 100 * 64), 10, join(out, `samples-${name}-seed${seed}.png`));
    results.push(rec);
    process.stdout.write(`${JSON.stringify(rec)}\n`);
    writeFileSync(join(out, 'results.jsonl'), `${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
    writeFileSync(join(out, 'curves.jsonl'), `${curves.map((r) => JSON.stringify(r)).join('\n')}\n`);
  }
}
// The data themselves as a reference: W between test and train images, and their diversity.
const dataW = await wTo(test.x, train.x);
const dataRec = {
  model: 'data (train set)',
  test_w: dataW.w,
  test_transport: dataW.transport,
  diversity: diversity(train.x, D),
};
results.push(dataRec);
writeFileSync(join(out, 'results.jsonl'), `${results.map((r) => JSON.stringify(r)).join('\n')}\n`);
if (dataset === 'digits') gridPng(train.x.subarray(0, 100 * 64), 10, join(out, 'data.png'));
await cost.release();
await sinkhorn.release();
process.stderr.write(`done in ${Math.round((Date.now() - started) / 1000)} s\n`);
