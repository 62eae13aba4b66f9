/**
 * The bundled model's explainer on onnxruntime-node against onnxruntime-web's WebAssembly
 * backend (the fallback where npm leaves the native package out), both on 1 thread: the eight
 * samples repeated to a batch of 64, medians of 7 alternating runs after a warm-up.
 *
 *   npm run build && node dist/bench/runtimes.js
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { Explainer } from '../src/core/index.js';
import { readNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { bundledModel } from '../src/node/bundled.js';
import { nodeRuntime } from '../src/node/runtime-node.js';
import { webRuntime } from '../src/web/runtime-web.js';

const b = bundledModel();
const model = readFileSync(b.model);
const samples = readNpy(readFileSync(b.samples.npy)).data as Float32Array;
const N = 64;
const data = new Float32Array(N * 784);
for (let i = 0; i < N; i++) data.set(samples.subarray((i % 8) * 784, ((i % 8) + 1) * 784), i * 784);
const x: TensorData = { dtype: 'float32', dims: [N, 1, 28, 28], data };
const runtimes = { node: nodeRuntime, web: webRuntime({ numThreads: 1 }) };
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

console.log(`${cpus()[0]?.model} ×${cpus().length}, load ${loadavg()[0]!.toFixed(2)}, Node ${process.version}, batch ${N}, 1 thread`);
for (const composite of ['epsilon-plus-flat', 'epsilon-gamma-box']) {
  const ex = {
    node: await Explainer.create(model, { composite, inputRange: [0, 1], runtime: runtimes.node, threads: 1 }),
    web: await Explainer.create(model, { composite, inputRange: [0, 1], runtime: runtimes.web }),
  };
  const ms = { node: [] as number[], web: [] as number[] };
  for (const k of ['node', 'web'] as const) await ex[k].explain(x);
  for (let r = 0; r < 7; r++)
    for (const k of ['node', 'web'] as const) {
      const t0 = performance.now();
      await ex[k].explain(x);
      ms[k].push(performance.now() - t0);
    }
  for (const e of Object.values(ex)) await e.release();
  const [n, w] = [median(ms.node), median(ms.web)];
  console.log(`${composite}: onnxruntime-node ${n.toFixed(1)} ms, onnxruntime-web ${w.toFixed(1)} ms, ${(w / n).toFixed(2)}×`);
}
