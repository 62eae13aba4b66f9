/**
 * Training throughput (samples/s) of relprop vs Debian's PyTorch on the same CNN (the
 * fmnist-cnn preset), batch size and thread count, in one run: 1 thread and all cores.
 * For scale it also times forward-only inference of the same network on both sides (relprop's
 * exported inference model, weights constant so ONNX Runtime can prepack them): how much faster
 * ONNX Runtime's kernels are than PyTorch's here bounds what a training step can gain.
 *
 *   npm run build && node dist/bench/train.js [--batch 64] [--steps 60] [--repeats 5]
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { encodeModel } from '../src/core/onnx/model.js';
import { numel } from '../src/core/onnx/tensor.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import { nchwcBlockSize } from '../src/core/train/nchwc.js';
import { PRESETS, type ModelSpec } from '../src/core/train/spec.js';
import { closePeers, peerFor } from './peer.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

/** The training step exactly as the Trainer runs it: weights and Adam state in, updated ones out. */
async function relpropSamplesPerSecond(threads: number, batch: number, steps: number): Promise<number> {
  const spec = PRESETS['fmnist-cnn']!;
  const built = buildGraph(spec, 'train', { optimizer: { kind: 'adam' }, nchwcBlock: await nchwcBlockSize(), threads });
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
  const x = new ort.Tensor(
    'float32',
    Float32Array.from({ length: batch * 784 }, (_, i) => (Math.sin(i) + 1) / 2),
    [batch, 1, 28, 28],
  );
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

async function torchSamplesPerSecond(threads: number, batch: number, steps: number): Promise<TorchResult | null> {
  const script = fileURLToPath(new URL('../../bench/train_torch.py', import.meta.url));
  try {
    return await peerFor('/usr/bin/python3', threads).json<TorchResult>(script, [String(threads), String(batch), String(steps)]);
  } catch (e) {
    process.stderr.write(`PyTorch n/a: ${(e as Error).message}\n`); // e.g. no python3-torch here
    return null;
  }
}

/**
 * Multiply-add FLOPs per sample of a sequential spec's convolutions and dense layers: the
 * forward pass, and the training step (forward, input gradients except the first layer's, weight
 * gradients: each the same count as the layer's forward).
 */
function flopsPerSample(spec: ModelSpec): { forward: number; training: number } {
  let shape = [...spec.input.shape] as number[];
  let forward = 0;
  let firstLinear = -1;
  for (const l of spec.layers) {
    let f = 0;
    if (l.type === 'conv2d') {
      const [C, H, W] = shape as [number, number, number];
      const p = l.padding === 'same' ? Math.floor((l.kernel - 1) / 2) : (l.padding ?? 0);
      const s = l.stride ?? 1;
      const out = [H, W].map((v) => Math.floor((v + 2 * p - l.kernel) / s) + 1);
      f = 2 * l.filters * (C / (l.groups ?? 1)) * l.kernel * l.kernel * out[0]! * out[1]!;
      shape = [l.filters, out[0]!, out[1]!];
    } else if (l.type === 'dense') {
      f = 2 * shape[shape.length - 1]! * l.units;
      shape = [...shape.slice(0, -1), l.units];
    } else if (l.type === 'maxpool' || l.type === 'avgpool') {
      const s = l.stride ?? l.size;
      shape = [shape[0]!, ...shape.slice(1).map((v) => Math.floor((v + 2 * (l.padding ?? 0) - l.size) / s) + 1)];
    } else if (l.type === 'flatten') shape = [shape.reduce((a, b) => a * b, 1)];
    else if (!['relu', 'dropout', 'tanh', 'sigmoid', 'leakyrelu', 'batchnorm'].includes(l.type)) throw new Error(`flopsPerSample: ${l.type} not counted`);
    if (f && firstLinear < 0) firstLinear = f;
    forward += f;
  }
  return { forward, training: 3 * forward - firstLinear };
}

// PyTorch's processes start before anything large is allocated (bench/peer.ts says why).
for (const t of new Set([1, cpus().length])) peerFor('/usr/bin/python3', t);
const batch = Number(arg('batch', '64'));
const steps = Number(arg('steps', '60'));
const repeats = Number(arg('repeats', '5'));
console.log(`training throughput, fmnist-cnn preset, batch ${batch}, Adam; ${cpus()[0]?.model} ×${cpus().length}; onnxruntime-node ${ort.env.versions.common}`);
console.log(`median of ${repeats} alternating runs per side; ONNX Runtime NCHWc block size ${await nchwcBlockSize()} (0: plain Conv)`);
console.log('threads  task        relprop samples/s  PyTorch samples/s  ratio');
const row = (threads: number, task: string, r: number, t: number | undefined) =>
  console.log(
    `${String(threads).padStart(7)}  ${task.padEnd(10)}  ${r.toFixed(0).padStart(17)}  ${t === undefined ? 'n/a'.padStart(17) : t.toFixed(0).padStart(17)}  ${t === undefined ? '' : (r / t).toFixed(2)}`,
  );
const flops = flopsPerSample(PRESETS['fmnist-cnn']!);
const bounds: string[] = [];
// Both sides vary from run to run on a shared machine: alternate them and report medians.
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
for (const threads of [...new Set([1, cpus().length])]) {
  const rs: number[] = [];
  const infs: number[] = [];
  const ts: TorchResult[] = [];
  for (let rep = 0; rep < repeats; rep++) {
    rs.push(await relpropSamplesPerSecond(threads, batch, steps));
    infs.push(await relpropInferenceSamplesPerSecond(threads, batch, steps));
    const tr = await torchSamplesPerSecond(threads, batch, steps);
    if (tr) ts.push(tr);
  }
  const r = median(rs);
  const inf = median(infs);
  const t = ts.length
    ? { samples_per_s: median(ts.map((x) => x.samples_per_s)), inference_samples_per_s: median(ts.map((x) => x.inference_samples_per_s)) }
    : null;
  console.log(
    `         (training samples/s per run: relprop ${rs.map((v) => v.toFixed(0)).join(', ')}; PyTorch ${ts.map((x) => x.samples_per_s.toFixed(0)).join(', ') || 'n/a'})`,
  );
  row(threads, 'training', r, t?.samples_per_s);
  row(threads, 'inference', inf, t?.inference_samples_per_s);
  // If every FLOP of a training step ran as fast as ONNX Runtime's prepacked inference does,
  // with no other cost at all, the step could not be faster than this.
  const rate = inf * flops.forward;
  const ceiling = rate / flops.training;
  bounds.push(
    `${threads} thread(s): inference runs at ${(rate / 1e9).toFixed(1)} GFLOP/s (relprop) vs ${t ? ((t.inference_samples_per_s * flops.forward) / 1e9).toFixed(1) : 'n/a'} (PyTorch); PyTorch trains at ${t ? ((t.samples_per_s * flops.training) / 1e9).toFixed(1) : 'n/a'} GFLOP/s; a training step at relprop's inference rate would allow at most ${ceiling.toFixed(0)} samples/s${t ? ` = ${(ceiling / t.samples_per_s).toFixed(2)}× PyTorch` : ''}`,
  );
}
console.log(
  `\nFLOPs per sample: forward ${(flops.forward / 1e6).toFixed(2)} M, training step ${(flops.training / 1e6).toFixed(2)} M (convolutions and dense layers).`,
);
for (const b of bounds) console.log(b);
closePeers();
