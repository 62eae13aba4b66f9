/**
 * LRP through LRN layers: explainer time over forward-only time on a conv-LRN-conv-LRN network,
 * the Taylor treatment (ε- and β-variant) beside the identity treatment, measured in one run.
 *
 *   npm run build && node dist/bench/lrn.js [--threads 1] [--batch 16]
 */
import '../src/node/register.js';
import ort from 'onnxruntime-node';
import { Explainer } from '../src/node/api.js';
import type { ExplainerOptions } from '../src/core/explain/explainer.js';
import { encodeModel } from '../src/core/onnx/model.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import type { ModelSpec } from '../src/core/train/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

async function median(f: () => Promise<unknown>, reps = 7): Promise<number> {
  await f();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await f();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}

const spec: ModelSpec = {
  input: { shape: [3, 32, 32] },
  layers: [
    { type: 'conv2d', filters: 32, kernel: 5, padding: 2 },
    { type: 'relu' },
    { type: 'lrn', size: 5, alpha: 1e-2, beta: 0.75, bias: 1 },
    { type: 'maxpool', size: 2 },
    { type: 'conv2d', filters: 64, kernel: 5, padding: 2 },
    { type: 'relu' },
    { type: 'lrn', size: 5, alpha: 1e-2, beta: 0.75, bias: 1 },
    { type: 'maxpool', size: 2 },
    { type: 'flatten' },
    { type: 'dense', units: 10 },
  ],
};

const threads = Number(arg('threads', '1'));
const batch = Number(arg('batch', '16'));
const model = encodeModel(buildGraph(spec, 'infer', { values: initParams(spec, 1) }).graph);
const data = Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) + 0.5);
const x = { dtype: 'float32' as const, dims: [batch, 3, 32, 32], data };

const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', data, x.dims) };
const forward = await median(() => session.run(feeds));
await session.release();
console.log(`conv-LRN-conv-LRN, input 3x32x32, batch ${batch}, ${threads} thread(s): forward ${forward.toFixed(2)} ms`);
const rows: [string, ExplainerOptions['lrn']][] = [
  ['identity', 'identity'],
  ['taylor epsilon 1e-6', { rule: 'lrn-taylor', epsilon: 1e-6 }],
  ['taylor beta 1', { rule: 'lrn-taylor', beta: 1 }],
];
for (const [label, lrn] of rows) {
  const ex = await Explainer.create(model, { rule: 'epsilon', lrn, threads, batchSize: batch });
  const t = await median(() => ex.explain(x, { target: 'predicted' }));
  await ex.release();
  console.log(`  LRN ${label.padEnd(20)} explain ${t.toFixed(2).padStart(8)} ms  = ${(t / forward).toFixed(2)}x forward`);
}
