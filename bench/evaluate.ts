/**
 * Region-perturbation throughput: perturbed inferences per second through ONNX Runtime, and the
 * share of wall time spent inside the runtime (forward runs of perturbed batches, clean forward
 * runs, explainer runs) against JavaScript (building perturbed batches, orders, replacement
 * images, complexity, bookkeeping). Reference: plain forward throughput of the same session
 * options on unperturbed batches of the same size.
 *
 *   npm run build && node dist/bench/evaluate.js [--samples 200] [--threads 1] [--batches 128,512,2048]
 *
 * Data: the Fashion-MNIST test subset in ../shared/datasets (falls back to the 8 bundled samples).
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { loadDataset } from '../src/node/evaluate/dataset.js';
import { parseMethodSpec } from '../src/core/evaluate/methods.js';
import type { Dataset } from '../src/core/evaluate/region-perturbation.js';
import { evaluateRegionPerturbation } from '../src/node/api.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

async function plainForward(data: Dataset, batch: number, threads: number): Promise<number> {
  const s = await ort.InferenceSession.create(MODEL, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const per = data.x.data.length / data.x.dims[0]!;
  const buf = new Float32Array(batch * per);
  for (let i = 0; i < batch; i++) buf.set((data.x.data as Float32Array).subarray((i % data.x.dims[0]!) * per, ((i % data.x.dims[0]!) + 1) * per), i * per);
  const feed = { [s.inputNames[0]!]: new ort.Tensor('float32', buf, [batch, ...data.x.dims.slice(1)]) };
  await s.run(feed);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    await s.run(feed);
    n += batch;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await s.release();
  return rate;
}

const threads = Number(arg('threads', '1'));
const N = Number(arg('samples', '200'));
const batches = arg('batches', '128,512,2048').split(',').map(Number);
const small = join(ROOT, '..', 'shared', 'datasets', 'fashion-mnist-small');
const data = existsSync(small) ? loadDataset(small, { limit: N }) : loadDataset(join(ROOT, 'models', 'samples', 'samples.npy'), { limit: N });
const n = data.x.dims[0]!;

// Warm-up (file cache, ORT kernel selection, JIT), not reported.
await evaluateRegionPerturbation(
  MODEL,
  {
    ...data,
    x: {
      ...data.x,
      dims: [Math.min(n, 8), ...data.x.dims.slice(1)],
      data: (data.x.data as Float32Array).subarray(0, Math.min(n, 8) * (data.x.data.length / n)),
    },
    labels: undefined,
    ids: undefined,
  },
  { methods: [parseMethodSpec('random')], regionSize: [2, 2], steps: 100 },
  { threads },
);
process.stdout.write(`region perturbation, fmnist-cnn, ${n} samples, 2x2 regions, 100 steps, uniform noise, ${threads} thread(s)\n\n`);
for (const [name, specs] of [
  ['random only (no explainer)', ['random']],
  ['lrp:epsilon-plus-flat + gradient + random', ['lrp:epsilon-plus-flat', 'gradient', 'random']],
] as const) {
  process.stdout.write(`${name}\n`);
  process.stdout.write(
    '  batch | perturbed inf/s (ORT time) | perturbed inf/s (wall) | plain forward inf/s | in ORT (all runs) | JS: batches / orders+noise+complexity\n',
  );
  for (const b of batches) {
    const r = await evaluateRegionPerturbation(
      MODEL,
      data,
      { methods: specs.map((s) => parseMethodSpec(s, { inputRange: [0, 1] })), regionSize: [2, 2], steps: 100 },
      { threads, forwardBatch: b },
    );
    const t = r.timing;
    const ort = t.forwardOrtMs + t.cleanMs + t.explainMs;
    const plain = await plainForward(data, b, threads);
    const pct = (x: number) => `${((100 * x) / t.totalMs).toFixed(1)}%`;
    process.stdout.write(
      `  ${String(b).padStart(5)} | ${Math.round(t.inferences / (t.forwardOrtMs / 1000))
        .toString()
        .padStart(26)} | ${Math.round(t.inferences / (t.totalMs / 1000))
        .toString()
        .padStart(22)} | ${Math.round(plain).toString().padStart(19)} | ${pct(ort).padStart(17)} | ${pct(t.forwardJsMs)} / ${pct(t.prepareMs)}\n`,
    );
  }
  process.stdout.write('\n');
}
process.stdout.write(
  '"in ORT": session.run of perturbed and clean batches plus Explainer.explain calls, over the whole evaluation\n(model loading and explainer compilation included in the wall time).\n',
);
