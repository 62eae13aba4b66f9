/**
 * Training throughput (samples/s) of relprop vs Debian's PyTorch on the same CNN (the
 * fmnist-cnn preset), batch size and thread count, in one run: 1 thread and all cores.
 * For scale it also times forward-only inference of the same network on both sides (relprop's
 * exported inference model, weights constant so ONNX Runtime can prepack them): how much faster
 * ONNX Runtime's kernels are than PyTorch's here bounds what a training step can gain.
 *
 *   npm run build && node dist/bench/train.js [--batch 64] [--steps 60]
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { encodeModel } from '../src/onnx/model.js';
import { numel } from '../src/onnx/tensor.js';
import { buildGraph, initParams } from '../src/train/graph.js';
import { PRESETS } from '../src/train/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

/** The training step exactly as the Trainer runs it: weights and Adam state in, updated ones out. */
async function relpropSamplesPerSecond(threads: number, batch: number, steps: number): Promise<number> {
  const spec = PRESETS['fmnist-cnn']!;
  const built = buildGraph(spec, 'train', { optimizer: { kind: 'adam' } });
  const session = await ort.InferenceSession.create(encodeModel(built.graph), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const params = initParams(spec, 0);
  const state = new Map<string, Float32Array>(built.states!.map((s) => [s.name, new Float32Array(numel(s.dims)) as Float32Array]));
  const x = Float32Array.from({ length: batch * 784 }, (_, i) => (Math.sin(i) + 1) / 2);
  const y = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 10));
  let t0 = 0;
  for (let s = 0; s < steps + 5; s++) {
    if (s === 5) t0 = performance.now();
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', x, [batch, 1, 28, 28]),
      labels: new ort.Tensor('int64', y, [batch]),
      lr: new ort.Tensor('float32', new Float32Array([1e-3]), []),
    };
    for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!.data as Float32Array, p.dims);
    for (const st of built.states!) feeds[st.name] = new ort.Tensor('float32', state.get(st.name)!, st.dims);
    const out = await session.run(feeds);
    for (const p of built.params) params.set(p.name, { dtype: 'float32', dims: p.dims, data: out[built.updated!.get(p.name)!]!.data as Float32Array });
    for (const st of built.states!) state.set(st.name, out[built.updated!.get(st.name)!]!.data as Float32Array);
  }
  return (steps * batch) / ((performance.now() - t0) / 1000);
}

/** Forward-only inference of the exported model (weights are initializers, all ORT optimisations). */
async function relpropInferenceSamplesPerSecond(threads: number, batch: number, steps: number): Promise<number> {
  const spec = PRESETS['fmnist-cnn']!;
  const built = buildGraph(spec, 'infer', { values: initParams(spec, 0) });
  const session = await ort.InferenceSession.create(encodeModel(built.graph), { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3 });
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 784 }, (_, i) => (Math.sin(i) + 1) / 2), [batch, 1, 28, 28]);
  let t0 = 0;
  for (let s = 0; s < steps + 5; s++) {
    if (s === 5) t0 = performance.now();
    await session.run({ [built.input]: x });
  }
  return (steps * batch) / ((performance.now() - t0) / 1000);
}

interface TorchResult {
  samples_per_s: number;
  inference_samples_per_s: number;
}

function torchSamplesPerSecond(threads: number, batch: number, steps: number): TorchResult | null {
  const script = fileURLToPath(new URL('../../bench/train_torch.py', import.meta.url));
  try {
    const out = execFileSync('/usr/bin/python3', [script, String(threads), String(batch), String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
  } catch {
    return null; // no python3-torch here
  }
}

const batch = Number(arg('batch', '64'));
const steps = Number(arg('steps', '60'));
console.log(`training throughput, fmnist-cnn preset, batch ${batch}, Adam; ${cpus()[0]?.model} ×${cpus().length}; onnxruntime-node ${ort.env.versions.common}`);
console.log('threads  task        relprop samples/s  PyTorch samples/s  ratio');
const row = (threads: number, task: string, r: number, t: number | undefined) =>
  console.log(`${String(threads).padStart(7)}  ${task.padEnd(10)}  ${r.toFixed(0).padStart(17)}  ${t === undefined ? 'n/a'.padStart(17) : t.toFixed(0).padStart(17)}  ${t === undefined ? '' : (r / t).toFixed(2)}`);
for (const threads of [...new Set([1, cpus().length])]) {
  const r = await relpropSamplesPerSecond(threads, batch, steps);
  const inf = await relpropInferenceSamplesPerSecond(threads, batch, steps);
  const t = torchSamplesPerSecond(threads, batch, steps);
  row(threads, 'training', r, t?.samples_per_s);
  row(threads, 'inference', inf, t?.inference_samples_per_s);
}
