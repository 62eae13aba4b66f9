// One trained Fashion-MNIST DBM (784-400-100), analysed on the binarised test set (pixel ≥ 0.5):
// - check b of the digest (§5.5/5.7): does the second layer get used? Weight scales per layer, the
//   top layer's mean-field activations (variance across images, entropy), and how much the top
//   layer moves layer 1's posterior (mean |μ1 − μ1 with layer 2 held at its offset|). It also
//   writes that one-hidden-layer model (layer 2 removed) beside MODEL as MODEL-no-layer2.onnx.
// - §5.4 kernel analysis of each layer (pixels, μ1, μ2) on the first N labelled test images.
// Usage (after `npx tsc -p tsconfig.json`, from the repository root):
//   node examples/boltzmann/fmnist-analyse.mjs MODEL.onnx FASHION_MNIST_DIR OUT.json [--ka 2000] [--components 50]
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import '../../dist/src/node/register.js';
import { dbmFromOnnx, dbmToOnnx } from '../../dist/src/core/boltzmann/dbm-model-file.js';
import { kernelAnalysis } from '../../dist/src/core/boltzmann/kernel-analysis.js';
import { float32 } from '../../dist/src/core/onnx/tensor.js';
import { openSession } from '../../dist/src/core/runtime.js';
import { findIdxImages, loadIdxImages } from '../../dist/src/node/data/idx.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { ka: { type: 'string', default: '2000' }, components: { type: 'string', default: '50' } },
});
const [modelPath, dataDir, outPath] = positionals;
if (!outPath) throw new Error('usage: node fmnist-analyse.mjs MODEL.onnx FASHION_MNIST_DIR OUT.json [--ka 2000] [--components 50]');
const started = Date.now();
const set = loadIdxImages(findIdxImages(dataDir, 'test'));
const N = set.images.dims[0];
const x = Float32Array.from(set.images.data, (v) => (v >= 0.5 ? 1 : 0));
const labels = set.labels;

const bytes = readFileSync(modelPath);
const p = dbmFromOnnx(bytes, modelPath);
const [n0, n1, n2] = p.sizes;
const sub = { sizes: [n0, n1], W: [p.W[0]], b: [p.b[0], p.b[1]], o: [p.o[0], p.o[1]] };
const subPath = modelPath.replace(/\.onnx$/, '-no-layer2.onnx');
writeFileSync(subPath, dbmToOnnx(sub));

async function posterior(modelBytes, names) {
  const s = await openSession(undefined, modelBytes, { threads: 1 }, modelPath);
  const out = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < N; r += 1000) {
    const rows = Math.min(1000, N - r);
    const o = await s.run({ visible: float32([rows, n0], x.subarray(r * n0, (r + rows) * n0)) });
    for (const n of names) out[n].push(o[n].data);
  }
  await s.release();
  return Object.fromEntries(names.map((n) => [n, Float32Array.from(out[n].flatMap((a) => Array.from(a)))]));
}
const full = await posterior(bytes, ['hidden1', 'hidden2']);
const alone = await posterior(dbmToOnnx(sub), ['hidden1']);

const norm = (w) => Math.sqrt(w.reduce((s, v) => s + v * v, 0));
/** Per-unit variance across images, averaged over units; units with std > 0.1; mean binary entropy (nats). */
function activity(mu, units) {
  let varSum = 0;
  let varying = 0;
  let ent = 0;
  for (let j = 0; j < units; j++) {
    let m = 0;
    let m2 = 0;
    for (let i = 0; i < N; i++) {
      const q = mu[i * units + j];
      m += q;
      m2 += q * q;
      const c = Math.min(1 - 1e-7, Math.max(1e-7, q));
      ent -= c * Math.log(c) + (1 - c) * Math.log(1 - c);
    }
    const v = m2 / N - (m / N) ** 2;
    varSum += v;
    if (Math.sqrt(Math.max(v, 0)) > 0.1) varying++;
  }
  return { mean_unit_variance: varSum / units, units_std_above_0_1: varying, mean_entropy_nats: ent / (N * units) };
}
let moved = 0;
for (let k = 0; k < full.hidden1.length; k++) moved += Math.abs(full.hidden1[k] - alone.hidden1[k]);

const checkB = {
  weight_norm: p.W.map(norm),
  weight_rms: p.W.map((w) => norm(w) / Math.sqrt(w.length)),
  layer1: activity(full.hidden1, n1),
  layer2: activity(full.hidden2, n2),
  mean_abs_change_of_layer1_when_layer2_removed: moved / full.hidden1.length,
};
process.stderr.write(`${modelPath}: check b ${JSON.stringify(checkB)}\n`);

const nKa = Math.min(Number(values.ka), N);
const kaLabels = labels.slice(0, nKa);
const layers = [
  ['pixels', x.subarray(0, nKa * n0), n0],
  ['layer 1', full.hidden1.subarray(0, nKa * n1), n1],
  ['layer 2', full.hidden2.subarray(0, nKa * n2), n2],
];
const ka = {};
for (const [name, rep, dim] of layers) {
  const r = kernelAnalysis(rep, kaLabels, dim, { maxComponents: Number(values.components), widthFactors: [0.5, 1, 2] });
  ka[name] = { error: Array.from(r.error), width_factor: Array.from(r.widthFactor), median_distance: r.medianDistance };
  process.stderr.write(`${name}: e(1,2,5,10,20,50) = ${[1, 2, 5, 10, 20, 50].map((d) => r.error[d - 1]?.toFixed(3)).join(' ')}\n`);
}
writeFileSync(
  outPath,
  `${JSON.stringify({ model: modelPath, test_images: N, kernel_analysis_images: nKa, check_b: checkB, kernel_analysis: ka, seconds: Math.round((Date.now() - started) / 1000) }, null, 1)}\n`,
);
process.stderr.write(`wrote ${outPath} and ${subPath}\n`);
