/**
 * LRP through LRN layers: explainer time over forward-only time, the Taylor treatment (ε- and
 * β-variant) beside the identity treatment, and the Taylor terms' extra cost in units of one pass
 * of the network's LRN layers over their inputs: the LRN forward in parts as the explainer computes
 * it, and ONNX Runtime's LRN kernel (which the model's own forward runs). Models: the trained
 * examples/lrn-dtd network (Fashion-MNIST, batch 64) and a random conv-LRN-conv-LRN network on
 * 3×32×32 (batch 16). Saved explainers run in plain ONNX Runtime sessions; every configuration
 * runs once per round and rounds alternate, so drift of a shared host hits all alike.
 *
 *   npm run build && node dist/bench/lrn.js [--threads 1] [--rounds 15]
 */
import '../src/node/register.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { Explainer } from '../src/node/api.js';
import type { ExplainerOptions } from '../src/core/explain/explainer.js';
import { lrnAttrs, lrnForward } from '../src/core/backward/lrn.js';
import { probeShapes } from '../src/core/graph/shapes.js';
import { GraphBuilder } from '../src/core/onnx/builder.js';
import { importModel } from '../src/core/graph/import.js';
import { ELEM, encodeModel, type Graph } from '../src/core/onnx/model.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import type { ModelSpec } from '../src/core/train/spec.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}
const threads = Number(arg('threads', '1'));
const rounds = Number(arg('rounds', '15'));

const randomSpec: ModelSpec = {
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
const trainedPath = fileURLToPath(new URL('../../examples/lrn-dtd/lrn-cnn.onnx', import.meta.url));
const cases = [
  { name: 'examples/lrn-dtd/lrn-cnn.onnx (trained)', model: new Uint8Array(readFileSync(trainedPath)), shape: [1, 28, 28], batch: 64 },
  {
    name: 'random conv-LRN-conv-LRN',
    model: encodeModel(buildGraph(randomSpec, 'infer', { values: initParams(randomSpec, 1) }).graph),
    shape: [3, 32, 32],
    batch: 16,
  },
];
const variants: [string, ExplainerOptions['lrn']][] = [
  ['identity', 'identity'],
  ['taylor epsilon 1e-6', { rule: 'lrn-taylor', epsilon: 1e-6 }],
  ['taylor beta 1', { rule: 'lrn-taylor', beta: 1 }],
];

const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
type Feeds = Record<string, ort.Tensor>;

/**
 * The model's LRN nodes alone, fed with tensors of their inputs' shapes at this batch size: as
 * ONNX LRN nodes, and computed in parts as the explainer does.
 */
async function lrnOnly(model: Uint8Array, shape: number[], batch: number): Promise<{ bytes: Uint8Array; parts: Uint8Array; feeds: Feeds; layers: number }> {
  const { graph } = importModel(model);
  const shapes = await probeShapes(graph, { [graph.inputs[0]!.name]: [batch, ...shape] });
  const lrns = graph.nodes.filter((n) => n.op === 'LRN');
  const feeds: Feeds = {};
  const g: Graph = { ...graph, nodes: [...lrns], initializers: new Map(), inputs: [], outputs: [] };
  for (const n of lrns) {
    const dims = [batch, ...shapes.get(n.inputs[0]!)!.dims.slice(1)];
    g.inputs.push({ name: n.inputs[0]!, elemType: ELEM.FLOAT, shape: dims });
    g.outputs.push({ name: n.outputs[0]!, elemType: ELEM.FLOAT, shape: dims });
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[n.inputs[0]!] = new ort.Tensor(
      'float32',
      Float32Array.from({ length: size }, (_, i) => Math.abs(Math.sin(i * 0.37))),
      dims,
    );
  }
  const bytes = encodeModel(g);
  const b = new GraphBuilder(g);
  for (const n of lrns) b.replaceNode(n, () => lrnForward(b, n.inputs[0]!, shapes.get(n.inputs[0]!)!.dims[1]!, lrnAttrs(n)).y);
  return { bytes, parts: encodeModel(g), feeds, layers: lrns.length };
}

const median = (t: number[]) => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
async function timeOnce(f: () => Promise<unknown>): Promise<number> {
  const s = performance.now();
  await f();
  return performance.now() - s;
}

console.log(`${threads} thread(s), ${rounds} alternating rounds, medians; saved explainers in plain ONNX Runtime sessions`);
for (const c of cases) {
  const n = c.shape.reduce((a, b) => a * b, 1) * c.batch;
  const x = Float32Array.from({ length: n }, (_, i) => Math.abs(Math.sin(i * 12.9898)));
  const dims = [c.batch, ...c.shape];
  const runs: { label: string; run: () => Promise<unknown> }[] = [];

  const forward = await ort.InferenceSession.create(c.model, sessionOptions);
  const fwdFeeds = { [forward.inputNames[0]!]: new ort.Tensor('float32', x, dims) };
  runs.push({ label: 'forward', run: () => forward.run(fwdFeeds) });
  const lrn = await lrnOnly(c.model, c.shape, c.batch);
  const lrnSession = await ort.InferenceSession.create(lrn.bytes, sessionOptions);
  runs.push({ label: 'lrn', run: () => lrnSession.run(lrn.feeds) });
  const partsSession = await ort.InferenceSession.create(lrn.parts, sessionOptions);
  runs.push({ label: 'parts', run: () => partsSession.run(lrn.feeds) });
  for (const [label, rule] of variants) {
    const ex = await Explainer.create(c.model, { rule: 'epsilon', lrn: rule, threads });
    const compiled = await ex.compile(dims);
    const s = await ort.InferenceSession.create(compiled.model, sessionOptions);
    const feeds: Feeds = {
      [compiled.input]: new ort.Tensor('float32', x, dims),
      [compiled.seedInput]: new ort.Tensor('int64', new BigInt64Array(c.batch), [c.batch]),
    };
    runs.push({ label, run: () => s.run(feeds) });
    await ex.release();
  }
  const times = new Map<string, number[]>(runs.map((r) => [r.label, []]));
  for (const r of runs) await r.run(); // warm-up
  for (let i = 0; i < rounds; i++) for (const r of runs) times.get(r.label)!.push(await timeOnce(r.run));
  const m = new Map([...times].map(([k, v]) => [k, median(v)]));
  const fwd = m.get('forward')!;
  const lrnPass = m.get('lrn')!;
  const partsPass = m.get('parts')!;
  const identity = m.get('identity')!;
  console.log(`\n${c.name}, input ${c.shape.join('×')}, batch ${c.batch}, ${lrn.layers} LRN layers`);
  console.log(`  forward ${fwd.toFixed(2)} ms; its LRN layers alone ${lrnPass.toFixed(2)} ms (${((100 * lrnPass) / fwd).toFixed(0)}% of the forward)`);
  console.log(`  the same LRN layers in parts, as the explainer computes them: ${partsPass.toFixed(2)} ms`);
  for (const [label] of variants) {
    const t = m.get(label)!;
    const d = t - identity;
    const extra =
      label === 'identity'
        ? ''
        : `   Taylor terms ${d.toFixed(2)} ms = ${(d / partsPass).toFixed(2)} passes in parts = ${(d / lrnPass).toFixed(2)} LRN-kernel passes`;
    console.log(`  LRN ${label.padEnd(20)} explain ${t.toFixed(2).padStart(8)} ms = ${(t / fwd).toFixed(2)}x forward${extra}`);
  }
  await forward.release();
  await lrnSession.release();
  await partsSession.release();
}
