// The one-hidden-layer model left when layer 2 of a 784-400-100 DBM is held at its mean
// activation ō⁽²⁾ (the mean-field posterior's mean over the training images) instead of removed:
// layer 1 keeps the average top-down input, b⁽¹⁾ += W⁽¹⁾(ō⁽²⁾ − o⁽²⁾) (centered form; o = 0 when
// uncentered). Check b's fair ablation for an uncentered model, whose "layer at 0" is far from
// its typical state. Writes MODEL-layer2-at-mean.onnx.
// Usage: node examples/boltzmann/fmnist-clamp.mjs MODEL.onnx FASHION_MNIST_DIR
import { readFileSync, writeFileSync } from 'node:fs';
import '../../dist/src/node/register.js';
import { dbmFromOnnx, dbmToOnnx } from '../../dist/src/core/boltzmann/dbm-model-file.js';
import { float32 } from '../../dist/src/core/onnx/tensor.js';
import { openSession } from '../../dist/src/core/runtime.js';
import { findIdxImages, loadIdxImages } from '../../dist/src/node/data/idx.js';

const [modelPath, dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: node fmnist-clamp.mjs MODEL.onnx FASHION_MNIST_DIR');
const set = loadIdxImages(findIdxImages(dataDir, 'train'));
const N = set.images.dims[0];
const x = Float32Array.from(set.images.data, (v) => (v >= 0.5 ? 1 : 0));
const bytes = readFileSync(modelPath);
const p = dbmFromOnnx(bytes, modelPath);
const [n0, n1, n2] = p.sizes;
const s = await openSession(undefined, bytes, { threads: 1 }, modelPath);
const mean = new Float64Array(n2);
for (let r = 0; r < N; r += 1000) {
  const rows = Math.min(1000, N - r);
  const h2 = (await s.run({ visible: float32([rows, n0], x.subarray(r * n0, (r + rows) * n0)) })).hidden2.data;
  for (let k = 0; k < h2.length; k++) mean[k % n2] += h2[k] / N;
}
await s.release();
const b1 = Float64Array.from(p.b[1]);
for (let i = 0; i < n1; i++) for (let j = 0; j < n2; j++) b1[i] += p.W[1][i * n2 + j] * (mean[j] - p.o[2][j]);
const out = modelPath.replace(/\.onnx$/, '-layer2-at-mean.onnx');
writeFileSync(out, dbmToOnnx({ sizes: [n0, n1], W: [p.W[0]], b: [p.b[0], Float32Array.from(b1)], o: [p.o[0], p.o[1]] }));
process.stderr.write(`wrote ${out}\n`);
