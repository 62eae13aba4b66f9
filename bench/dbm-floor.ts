/**
 * The floor under bench/dbm-speed.ts: milliseconds per call of each GEMM of a DBM Gibbs sweep and
 * training update, and of the elementwise steps around them, in ONNX Runtime and in NumPy (Debian's
 * python3-numpy via /usr/bin/python3, bench/dbm_floor_numpy.py), float32, same threads, alternating
 * rounds. The weights are graph inputs, as in relprop's graphs (so ORT packs them at every call, as
 * BLAS does). ORT times: `--repeat` copies of the operation in one graph, their outputs summed by one
 * node, minus the same graph with one copy, per copy; the per-run overhead (an empty run) separately.
 * A sweep or update cannot be faster than the sum of its GEMMs. The 'sweep' rows are the four
 * per-layer products of a sweep (NumPy's former form), the 'block matrix' rows the two that
 * relprop's Gibbs graph and bench/dbm_numpy.py run now (two hidden layers).
 *
 *   node dist/bench/dbm-floor.js [--sizes 784,400,100] [--batch 25] [--chains 100] [--repeat 20]
 *        [--rounds 2] [--threads 1] [--python /usr/bin/python3]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GraphBuilder } from '../src/core/onnx/builder.js';
import { ELEM, encodeModel, type Graph } from '../src/core/onnx/model.js';
import { float32View, type TensorData } from '../src/core/onnx/tensor.js';
import { rngFor } from '../src/core/math/rng.js';
import { openSession, type Session } from '../src/core/runtime.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '784,400,100' },
    batch: { type: 'string', default: '25' },
    chains: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
const [n0, n1, n2] = values.sizes.split(',').map(Number) as [number, number, number];
const B = Number(values.batch);
const C = Number(values.chains);
const R = Number(values.repeat);
const threads = Number(values.threads);

/** [name, kind, dims…]: gemm M K N transA transB accumulate; elementwise rows cols. */
type Spec = [string, 'gemm', number, number, number, 0 | 1, 0 | 1, 0 | 1] | [string, 'sigmoid' | 'bernoulli' | 'add', number, number];
const gemm = (name: string, M: number, K: number, N: number, ta: 0 | 1, tb: 0 | 1, acc: 0 | 1): Spec => [name, 'gemm', M, K, N, ta, tb, acc];
const specs: Spec[] = [
  gemm(`sweep: x0·W0 [${C},${n0}]·[${n0},${n1}]`, C, n0, n1, 0, 0, 0),
  gemm(`sweep: x2·W1ᵀ [${C},${n2}]·[${n2},${n1}]`, C, n2, n1, 0, 1, 1),
  gemm(`sweep: x1·W0ᵀ [${C},${n1}]·[${n1},${n0}]`, C, n1, n0, 0, 1, 0),
  gemm(`sweep: x1·W1 [${C},${n1}]·[${n1},${n2}]`, C, n1, n2, 0, 0, 0),
  gemm(`sweep, block matrix: x_E·M [${C},${n0 + n2}]·[${n0 + n2},${n1}]`, C, n0 + n2, n1, 0, 0, 0),
  gemm(`sweep, block matrix: x_O·Mᵀ [${C},${n1}]·[${n1},${n0 + n2}]`, C, n1, n0 + n2, 0, 1, 0),
  gemm(`update: x·W0 [${B},${n0}]·[${n0},${n1}]`, B, n0, n1, 0, 0, 0),
  gemm(`update: x·W0 stacked [${2 * B},${n0}]·[${n0},${n1}]`, 2 * B, n0, n1, 0, 0, 0),
  gemm(`update: h1·W0ᵀ [${B},${n1}]·[${n1},${n0}]`, B, n1, n0, 0, 1, 0),
  gemm(`update: h1·W0ᵀ stacked [${2 * B},${n1}]·[${n1},${n0}]`, 2 * B, n1, n0, 0, 1, 0),
  gemm(`update: h2·W1ᵀ [${B},${n2}]·[${n2},${n1}]`, B, n2, n1, 0, 1, 1),
  gemm(`update: h1·W1 [${B},${n1}]·[${n1},${n2}]`, B, n1, n2, 0, 0, 0),
  gemm(`update: W0 + Xᵀ·H [${n0},${2 * B}]·[${2 * B},${n1}]`, n0, 2 * B, n1, 1, 0, 1),
  gemm(`update: W1 + Xᵀ·H [${n1},${2 * B}]·[${2 * B},${n2}]`, n1, 2 * B, n2, 1, 0, 1),
  gemm(`update: δ·W0ᵀ [1,${n1}]·[${n1},${n0}]`, 1, n1, n0, 0, 1, 0),
  ['sweep: sigmoid [C, n0]', 'sigmoid', C, n0],
  ['sweep: u < p [C, n0] (ORT: uniforms fed; NumPy: drawn)', 'bernoulli', C, n0],
  ['sweep: add [C, n0]', 'add', C, n0],
];

function specGraph(s: Spec, copies: number): { graph: Graph; feeds: Record<string, TensorData> } {
  const g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'bench' };
  const b = new GraphBuilder(g, 'floor');
  const rng = rngFor(0, 'bench-floor', s[0]);
  const feeds: Record<string, TensorData> = {};
  const input = (name: string, dims: number[], fill: () => number) => {
    g.inputs.push({ name, elemType: ELEM.FLOAT, shape: dims });
    feeds[name] = float32View(dims, Float32Array.from({ length: dims.reduce((a, v) => a * v, 1) }, fill));
    return name;
  };
  // Copy k reads its own input name (the same array): ORT merges identical nodes on identical inputs.
  const inputs = (name: string, dims: number[], fill: () => number) => {
    const first = input(`${name}0`, dims, fill);
    return Array.from({ length: copies }, (_, k) => {
      if (k === 0) return first;
      g.inputs.push({ name: `${name}${k}`, elemType: ELEM.FLOAT, shape: dims });
      feeds[`${name}${k}`] = feeds[first]!;
      return `${name}${k}`;
    });
  };
  const outs: string[] = [];
  let rows: number;
  let cols: number;
  if (s[1] === 'gemm') {
    const [, , M, K, N, ta, tb, acc] = s;
    const A = inputs('A', ta ? [K, M] : [M, K], () => (rng() < 0.5 ? 1 : 0));
    const W = input('B', tb ? [N, K] : [K, N], () => rng() - 0.5);
    const Cin = acc ? input('C', [M, N], () => rng() - 0.5) : null;
    for (let k = 0; k < copies; k++) outs.push(b.op('Gemm', Cin ? [A[k]!, W, Cin] : [A[k]!, W], { transA: ta, transB: tb }));
    [rows, cols] = [M, N];
  } else {
    const [, kind, M, N] = s;
    const x = inputs('x', [M, N], () => rng() - 0.5);
    const u = kind === 'bernoulli' ? input('u', [M, N], rng) : null;
    for (let k = 0; k < copies; k++) {
      if (kind === 'sigmoid') outs.push(b.op('Sigmoid', [x[k]!]));
      else if (kind === 'add') outs.push(b.op('Add', [x[k]!, b.scalar(1)]));
      else outs.push(b.op('Cast', [b.op('Less', [u!, x[k]!])], { to: ELEM.FLOAT }));
    }
    [rows, cols] = [M, N];
  }
  g.nodes.push({ op: 'Identity', name: 'out_node', inputs: [b.sum(outs)], outputs: ['out'], attrs: {} });
  g.outputs.push({ name: 'out', elemType: ELEM.FLOAT, shape: [rows, cols] });
  return { graph: g, feeds };
}

async function timeRuns(s: Session, feeds: Record<string, TensorData>, runs: number): Promise<number> {
  for (let i = 0; i < 3; i++) await s.run(feeds);
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await s.run(feeds);
    best = Math.min(best, (performance.now() - t0) / runs);
  }
  return best;
}

const sessions = new Map<string, { many: Session; one: Session; feeds: Record<string, TensorData> }>();
for (const s of specs) {
  const many = specGraph(s, R + 1);
  const one = specGraph(s, 1);
  sessions.set(s[0], {
    many: await openSession(undefined, encodeModel(many.graph, 'floor'), { threads }),
    one: await openSession(undefined, encodeModel(one.graph, 'floor'), { threads }),
    feeds: many.feeds,
  });
}
// The overhead of one run: an Identity on a [1] tensor.
const emptyGraph: Graph = {
  nodes: [{ op: 'Identity', name: 'id', inputs: ['x'], outputs: ['y'], attrs: {} }],
  initializers: new Map(),
  inputs: [{ name: 'x', elemType: ELEM.FLOAT, shape: [1] }],
  outputs: [{ name: 'y', elemType: ELEM.FLOAT, shape: [1] }],
  opset: 17,
  irVersion: 8,
  producer: 'bench',
};
const empty = await openSession(undefined, encodeModel(emptyGraph, 'empty'), { threads });

const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) };
const script = join(import.meta.dirname, '..', '..', 'bench', 'dbm_floor_numpy.py');
const version = execFileSync(values.python, ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).trim();
process.stdout.write(
  `DBM ${n0}-${n1}-${n2}, batch ${B}, ${C} chains, ${threads} thread(s); NumPy ${version} (${values.python}). Milliseconds per call (best of 5 × repeats).\n`,
);
for (let round = 1; round <= Number(values.rounds); round++) {
  const ort = new Map<string, number>();
  for (const s of specs) {
    const { many, one, feeds } = sessions.get(s[0])!;
    ort.set(s[0], ((await timeRuns(many, feeds, 10)) - (await timeRuns(one, feeds, 10 * R))) / R);
  }
  const runMs = await timeRuns(empty, { x: float32View([1], Float32Array.of(1)) }, 2000);
  const np = JSON.parse(execFileSync(values.python, [script, JSON.stringify(specs), String(Math.max(R, 50))], { env, encoding: 'utf8' })) as Record<
    string,
    number
  >;
  process.stdout.write(`\nround ${round}\n| operation | ORT ms | NumPy ms | NumPy ÷ ORT | ORT GFLOP/s |\n|---|---|---|---|---|\n`);
  for (const s of specs) {
    const o = ort.get(s[0])!;
    const flops = s[1] === 'gemm' ? 2 * s[2] * s[3] * s[4] : 0;
    process.stdout.write(
      `| ${s[0]} | ${o.toFixed(4)} | ${np[s[0]]!.toFixed(4)} | ${(np[s[0]]! / o).toFixed(2)} | ${flops ? (flops / o / 1e6).toFixed(0) : '–'} |\n`,
    );
  }
  process.stdout.write(`| one empty session.run (overhead per graph run) | ${runMs.toFixed(4)} | – | – | – |\n`);
}
for (const { many, one } of sessions.values()) {
  await many.release();
  await one.release();
}
await empty.release();
