/**
 * Every compiled rule against the float64 reference (test/reference/lrp64.ts).
 *
 * Each case is ONE layer (optionally behind a Relu, so that the compiler takes its "input ≥ 0" code
 * path) followed by a Flatten when its output is not rank 2. The graph is built by hand, passed
 * through canonicalize and compileExplainer with `seed: 'relevance'`, and run in ONNX Runtime with
 * a random relevance at the output; the relevance at the input must match the float64 reference
 * within 1e-4 relative L2 per sample. The logits are checked against the float64 forward as well,
 * so a mistake in a test graph cannot hide behind a matching mistake in its reference.
 *
 * Seeds: rules whose denominator is the (mixed-sign) layer output itself (epsilon with ε = 1e-6,
 * gamma, the norm rule, the affine epsilon) get R_j = u_j·z_j·min(1, |z_j|/0.05) with
 * u_j ∈ U(-1, 2) (see zScaled): as in a real network, an output near 0 carries little relevance,
 * so the float32/float64 difference of a near-zero z_j cannot dominate. All other rules get
 * independent N(0, 1) relevances.
 *
 * At the end the worst error per rule is printed.
 */
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { compileExplainer, type CompileOptions } from '../src/core/explain/compile.js';
import { canonicalize } from '../src/core/graph/canonize.js';
import type { AttrValue, Graph, GraphNode } from '../src/core/onnx/model.js';
import { float32, numel, type TensorData } from '../src/core/onnx/tensor.js';
import { relL2 } from './helpers/fixtures.js';
import {
  type Connections64,
  type LinearRule64,
  addNorm64,
  avgpoolForward64,
  avgpoolNorm64,
  connectionsRule64,
  conv2d64,
  conv2dForward64,
  convConnections64,
  dense64,
  denseForward64,
  globalAvgpoolNorm64,
  maxpoolForward64,
  maxpoolWta64,
  stab,
  transpose2d64,
} from './reference/lrp64.js';

const TOL = 1e-4;
const N = 3;

// ---- worst errors, printed at the end ------------------------------------------------------------

const worst = new Map<string, { err: number; where: string; n: number }>();
function record(rule: string, where: string, err: number): void {
  const w = worst.get(rule);
  if (!w) worst.set(rule, { err, where, n: 1 });
  else {
    w.n++;
    if (err > w.err) Object.assign(w, { err, where });
  }
}
afterAll(() => {
  const rows = [...worst].sort((a, b) => a[0].localeCompare(b[0]));
  const lines = rows.map(([r, w]) => `  ${r.padEnd(34)} ${w.err.toExponential(2).padStart(9)}  (${w.n} checks; worst: ${w.where})`);
  console.log(`worst relative L2 error per rule (tolerance ${TOL}):\n${lines.join('\n')}`);
});

// ---- deterministic random numbers ----------------------------------------------------------------

function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

class Rand {
  private s: number;
  constructor(seed: number | string) {
    this.s = (typeof seed === 'string' ? hash(seed) : seed) >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** float32 values (so the reference sees exactly what the model sees). */
  uniform(n: number, lo: number, hi: number): Float32Array {
    return Float32Array.from({ length: n }, () => lo + (hi - lo) * this.next());
  }
  normal(n: number, scale = 1): Float32Array {
    return Float32Array.from({ length: n }, () => scale * Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next()));
  }
  /** Inputs: N(0,1) clipped to [-1.9, 2.9], inside the zbox bounds (-2, 3) used below. */
  input(n: number): Float32Array {
    return this.normal(n).map((v) => Math.min(Math.max(v, -1.9), 2.9));
  }
}

const f64 = (a: ArrayLike<number>): Float64Array => Float64Array.from(a);
const relu64 = (a: Float64Array): Float64Array => a.map((v) => (v > 0 ? v : 0));

/** Max over samples of the per-sample relative L2 error. */
function perSampleErr(actual: ArrayLike<number>, expected: ArrayLike<number>, n: number): number {
  expect(actual.length).toBe(expected.length);
  const per = expected.length / n;
  let e = 0;
  for (let k = 0; k < n; k++) {
    const a = Array.prototype.slice.call(actual, k * per, (k + 1) * per) as number[];
    const x = Array.prototype.slice.call(expected, k * per, (k + 1) * per) as number[];
    e = Math.max(e, relL2(a, x));
  }
  return e;
}

// ---- graphs --------------------------------------------------------------------------------------

function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}): GraphNode {
  return { op, name, inputs, outputs, attrs };
}

function makeGraph(nodes: GraphNode[], inits: Record<string, TensorData>, xDims1: number[], classes: number): Graph {
  return {
    nodes,
    initializers: new Map(Object.entries(inits)),
    inputs: [{ name: 'x', elemType: 1, shape: ['N', ...xDims1.slice(1)] }],
    outputs: [{ name: 'logits', elemType: 1, shape: ['N', classes] }],
    opset: 17,
    irVersion: 8,
    producer: 'rules.test',
  };
}

type Opts = Omit<CompileOptions, 'seed'>;

interface RunResult {
  relevance: Float32Array;
  logits: Float32Array;
}

/** canonicalize → compileExplainer(seed: 'relevance') → ONNX Runtime. */
async function explain(graph: Graph, xDims1: number[], opts: Opts, x: Float32Array, R: Float32Array, n: number): Promise<RunResult> {
  const info = canonicalize(graph);
  const c = await compileExplainer(graph, info, xDims1, { ...opts, seed: 'relevance' });
  const session = await ort.InferenceSession.create(c.model);
  try {
    const res = await session.run({
      [c.input]: new ort.Tensor('float32', x, [n, ...xDims1.slice(1)]),
      [c.seedInput]: new ort.Tensor('float32', R, [n, c.numClasses]),
    });
    return { relevance: Float32Array.from(res[c.relevance]!.data as Float32Array), logits: Float32Array.from(res[c.logits]!.data as Float32Array) };
  } finally {
    await session.release();
  }
}

// ---- the single-layer harness --------------------------------------------------------------------

/** One layer under test: its node(s), named 'layer', read tensor `inp` and write `out`. */
interface LayerCase {
  label: string;
  xDims1: number[];
  yDims1: number[];
  nodes(inp: string, out: string): GraphNode[];
  inits: Record<string, TensorData>;
  /** float64 forward of the layer, [n, …] flat. */
  forward(x: Float64Array, n: number): Float64Array;
}

/** How the raw input reaches the layer: mixed signs directly, through a Relu (x ≥ 0 proven), or non-negative values fed directly. */
type Mode = 'mixed' | 'relu' | 'nonneg';

interface Check {
  /** label of the rule in the worst-error table */
  rule: string;
  opts: Opts;
  /** z-scaled seed (see the header) or independent N(0,1) */
  zSeed: boolean;
  /** float64 relevance at the LAYER's input from its input values and output relevance */
  expected(xLayer: Float64Array, R: Float64Array, n: number): Float64Array;
  /** method 'gradient' through the Relu in front: multiply by [x > 0] */
  reluMask?: boolean;
}

interface Prepared {
  x: Float32Array;
  xLayer: Float64Array;
  y: Float64Array;
  R: Float32Array;
}

/**
 * A relevance that vanishes with the output: R = u·z·min(1, |z|/0.05). Where |z| is tiny the
 * float32 z of the runtime differs from the float64 z in its leading digits (7e-5 vs an error of
 * 1e-7 was observed), so z/stab(z) itself differs; damping R there keeps that float32 effect
 * below 1e-6 while every output with |z| ≥ 0.05 keeps its full relevance.
 */
function zScaled(z: number, u: number): number {
  return u * z * Math.min(1, Math.abs(z) / 0.05);
}

function prepare(c: LayerCase, mode: Mode, zSeed: boolean, seed: string, n = N): Prepared {
  const rnd = new Rand(seed);
  let x = rnd.input(n * numel(c.xDims1));
  if (mode === 'nonneg') x = x.map(Math.abs);
  const xLayer = mode === 'relu' ? relu64(f64(x)) : f64(x);
  const y = c.forward(xLayer, n);
  const R = zSeed ? Float32Array.from(y, (v) => zScaled(v, rnd.next() * 3 - 1)) : rnd.normal(y.length);
  return { x, xLayer, y, R };
}

function buildLayerGraph(c: LayerCase, mode: Mode): Graph {
  const nodes: GraphNode[] = [];
  let inp = 'x';
  if (mode === 'relu') {
    nodes.push(node('Relu', 'relu_in', ['x'], ['x_relu']));
    inp = 'x_relu';
  }
  const flat = c.yDims1.length !== 2;
  nodes.push(...c.nodes(inp, flat ? 'y' : 'logits'));
  if (flat) nodes.push(node('Flatten', 'flatten', ['y'], ['logits'], { axis: 1 }));
  return makeGraph(nodes, c.inits, c.xDims1, numel(c.yDims1));
}

async function runCheck(c: LayerCase, mode: Mode, k: Check): Promise<number> {
  const where = `${c.label} [${mode}]`;
  const p = prepare(c, mode, k.zSeed, `${where} ${k.rule}`);
  const out = await explain(buildLayerGraph(c, mode), c.xDims1, k.opts, p.x, p.R, N);
  // the test graph computes what its reference computes
  expect(perSampleErr(out.logits, p.y, N), `${where}: logits vs float64 forward`).toBeLessThanOrEqual(1e-5);
  let want = k.expected(p.xLayer, f64(p.R), N);
  if (k.reluMask && mode === 'relu') want = want.map((v, i) => (p.x[i]! > 0 ? v : 0));
  const err = perSampleErr(out.relevance, want, N);
  record(k.rule, where, err);
  expect(err, `${where} ${k.rule}`).toBeLessThanOrEqual(TOL);
  return err;
}

// ---- linear layers (Gemm, MatMul+Add, Conv) ------------------------------------------------------

interface LinearCase extends LayerCase {
  lrp(x: Float64Array, R: Float64Array, n: number, rule: LinearRule64): Float64Array;
  /** Wᵀ R per sample */
  grad(R: Float64Array, n: number): Float64Array;
  /** the same layer without its bias (for the "bias ignored" sensitivity check) */
  lrpNoBias(x: Float64Array, R: Float64Array, n: number, rule: LinearRule64): Float64Array;
  /** Conv: the connection list of one sample */
  conn?: Connections64;
}

/** Σ_j w_ij R_j over a connection list, sample by sample. */
function gradient64(conn: Connections64, R: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * conn.nIn);
  for (let s = 0; s < n; s++) {
    for (let e = 0; e < conn.from.length; e++) out[s * conn.nIn + conn.from[e]!]! += conn.weight[e]! * R[s * conn.nOut + conn.to[e]!]!;
  }
  return out;
}

interface LinearRuleCase {
  label: string;
  spec: Record<string, unknown>;
  ref: LinearRule64;
  zSeed: boolean;
}

const LINEAR_RULES: LinearRuleCase[] = [
  { label: 'epsilon(1e-6)', spec: { rule: 'epsilon', epsilon: 1e-6 }, ref: { rule: 'epsilon', epsilon: 1e-6 }, zSeed: true },
  { label: 'epsilon(0.25)', spec: { rule: 'epsilon', epsilon: 0.25 }, ref: { rule: 'epsilon', epsilon: 0.25 }, zSeed: false },
  { label: 'zplus', spec: { rule: 'zplus' }, ref: { rule: 'zplus' }, zSeed: false },
  { label: 'alphabeta(2,1)', spec: { rule: 'alphabeta', alpha: 2, beta: 1 }, ref: { rule: 'alphabeta', alpha: 2, beta: 1 }, zSeed: false },
  { label: 'alphabeta(1,0)', spec: { rule: 'alphabeta', alpha: 1, beta: 0 }, ref: { rule: 'alphabeta', alpha: 1, beta: 0 }, zSeed: false },
  { label: 'gamma(0.25)', spec: { rule: 'gamma', gamma: 0.25 }, ref: { rule: 'gamma', gamma: 0.25 }, zSeed: true },
  { label: 'zbox(-2,3)', spec: { rule: 'zbox', low: -2, high: 3 }, ref: { rule: 'zbox', low: -2, high: 3 }, zSeed: false },
  { label: 'wsquare', spec: { rule: 'wsquare' }, ref: { rule: 'wsquare' }, zSeed: false },
  { label: 'flat', spec: { rule: 'flat' }, ref: { rule: 'flat' }, zSeed: false },
];

function linearChecks(c: LinearCase): Check[] {
  const checks: Check[] = LINEAR_RULES.map((r) => ({
    rule: r.label,
    opts: { method: 'lrp', rules: { layer: r.spec } },
    zSeed: r.zSeed,
    expected: (x, R, n) => c.lrp(x, R, n, r.ref),
  }));
  checks.push({ rule: 'gradient (method)', opts: { method: 'gradient' }, zSeed: false, expected: (_x, R, n) => c.grad(R, n), reluMask: true });
  checks.push({
    rule: 'gradient (lrp rule)',
    opts: { method: 'lrp', rules: { layer: { rule: 'gradient' } } },
    zSeed: false,
    expected: (_x, R, n) => c.grad(R, n),
  });
  return checks;
}

// Dense layers: [N, nIn] → [N, nOut]; the reference W is [in, out].
interface DenseSpec {
  label: string;
  nIn: number;
  nOut: number;
  /** MatMul on [N, rows, in] (default: a plain [N, in] input) */
  rows?: number;
  /** nodes + inits from random B, C; returns the effective W [in,out] and b of the layer */
  make(rnd: Rand, inp: string, out: string): { nodes: GraphNode[]; inits: Record<string, TensorData>; W: Float64Array; b: Float64Array };
}

const DENSE_IN = 24;
const DENSE_OUT = 7;

function gemmSpec(label: string, transB: boolean, alpha: number | undefined, beta: number | undefined, bias: 'vector' | 'row' | 'scalar' | 'none'): DenseSpec {
  return {
    label,
    nIn: DENSE_IN,
    nOut: DENSE_OUT,
    make(rnd, inp, out) {
      const [I, O] = [DENSE_IN, DENSE_OUT];
      const B = rnd.normal(I * O, Math.sqrt(2 / I));
      const Cn = bias === 'scalar' ? 1 : O;
      const C = rnd.uniform(Cn, -0.5, 0.5);
      if (bias !== 'scalar' && bias !== 'none') {
        C[0] = -Math.abs(C[0]!) - 0.1; // at least one negative and one positive bias
        C[1] = Math.abs(C[1]!) + 0.1;
      }
      const a = alpha ?? 1;
      const bt = beta ?? 1;
      // W[in,out] as canonicalize computes it (alpha·B in float32)
      const Wio = new Float64Array(I * O);
      for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) Wio[i * O + o] = Math.fround(a * (transB ? B[o * I + i]! : B[i * O + o]!));
      const b = bias === 'none' ? new Float64Array(O) : Float64Array.from({ length: O }, (_, o) => Math.fround(bt * C[Cn === 1 ? 0 : o]!));
      const attrs: Record<string, AttrValue> = {};
      if (transB) attrs.transB = 1;
      if (alpha !== undefined) attrs.alpha = alpha;
      if (beta !== undefined) attrs.beta = beta;
      const inits: Record<string, TensorData> = { B: float32(transB ? [O, I] : [I, O], B) };
      if (bias !== 'none') inits.C = float32(bias === 'row' ? [1, O] : bias === 'scalar' ? [1] : [O], C);
      return { nodes: [node('Gemm', 'layer', bias === 'none' ? [inp, 'B'] : [inp, 'B', 'C'], [out], attrs)], inits, W: Wio, b };
    },
  };
}

function matmulSpec(label: string, biasFirst: boolean, rows?: number): DenseSpec {
  return {
    label,
    nIn: DENSE_IN,
    nOut: DENSE_OUT,
    rows,
    make(rnd, inp, out) {
      const [I, O] = [DENSE_IN, DENSE_OUT];
      const W = rnd.normal(I * O, Math.sqrt(2 / I));
      const b = rnd.uniform(O, -0.5, 0.5);
      b[0] = -Math.abs(b[0]!) - 0.1;
      b[1] = Math.abs(b[1]!) + 0.1;
      const nodes = [node('MatMul', 'layer', [inp, 'W'], ['mm']), node('Add', 'layer_bias', biasFirst ? ['b', 'mm'] : ['mm', 'b'], [out])];
      return { nodes, inits: { W: float32([I, O], W), b: float32([O], b) }, W: f64(W), b: f64(b) };
    },
  };
}

const DENSE_SPECS: DenseSpec[] = [
  gemmSpec('Gemm transB=1', true, undefined, undefined, 'vector'),
  gemmSpec('Gemm transB=0 alpha=0.75 beta=-1.5', false, 0.75, -1.5, 'vector'),
  gemmSpec('Gemm transB=1 alpha=-0.5 beta=2 C[1,out]', true, -0.5, 2, 'row'),
  gemmSpec('Gemm transB=0 scalar C beta=0.5', false, undefined, 0.5, 'scalar'),
  gemmSpec('Gemm without C', true, undefined, undefined, 'none'),
  matmulSpec('MatMul+Add', false),
  matmulSpec('MatMul+Add (bias first)', true),
  matmulSpec('MatMul+Add on [N, 5, in] (3-D)', false, 5),
];

function denseCase(spec: DenseSpec): LinearCase {
  const rnd = new Rand(spec.label);
  // nodes() is called once per graph; the weights are drawn once
  const made = spec.make(rnd, '__in__', '__out__');
  const rename = (inp: string, out: string) =>
    made.nodes.map((n) => ({
      ...n,
      inputs: n.inputs.map((i) => (i === '__in__' ? inp : i)),
      outputs: n.outputs.map((o) => (o === '__out__' ? out : o)),
      attrs: { ...n.attrs },
    }));
  const { W, b } = made;
  const zeroB = new Float64Array(b.length);
  const rows = spec.rows ?? 1;
  return {
    label: spec.label,
    xDims1: spec.rows ? [1, rows, spec.nIn] : [1, spec.nIn],
    yDims1: spec.rows ? [1, rows, spec.nOut] : [1, spec.nOut],
    nodes: rename,
    inits: made.inits,
    // the reference treats every row of every sample as a sample of its own
    forward: (x) => denseForward64({ x, W, b }),
    lrp: (x, R, _n, rule) => dense64({ x, W, b, R }, rule),
    lrpNoBias: (x, R, _n, rule) => dense64({ x, W, b: zeroB, R }, rule),
    grad: (R, n) => {
      // Wᵀ R written directly with the transposed weight
      const Wt = transpose2d64(W, spec.nIn, spec.nOut); // [out, in]
      const out = new Float64Array(n * rows * spec.nIn);
      for (let s = 0; s < n * rows; s++)
        for (let j = 0; j < spec.nOut; j++) for (let i = 0; i < spec.nIn; i++) out[s * spec.nIn + i]! += Wt[j * spec.nIn + i]! * R[s * spec.nOut + j]!;
      return out;
    },
  };
}

// Convolutions, 2-D [N, C, H, W] and 1-D [N, C, L].
interface ConvSpec {
  label: string;
  C: number;
  O: number;
  spatial: number[];
  kernel: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  group?: number;
  autoPad?: 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  /** Conv with two inputs (no bias) */
  noBias?: boolean;
  /** leave kernel_shape out (taken from the weight) */
  noKernelShape?: boolean;
}

/** Explicit ONNX pads of an auto_pad Conv (as the ONNX spec defines them). */
function autoPads(s: ConvSpec): number[] {
  const r = s.kernel.length;
  const pads = new Array<number>(2 * r).fill(0);
  if (s.autoPad === 'VALID') return pads;
  for (let d = 0; d < r; d++) {
    const st = s.strides?.[d] ?? 1;
    const dl = s.dilations?.[d] ?? 1;
    const out = Math.ceil(s.spatial[d]! / st);
    const total = Math.max((out - 1) * st + (s.kernel[d]! - 1) * dl + 1 - s.spatial[d]!, 0);
    const small = Math.floor(total / 2);
    pads[d] = s.autoPad === 'SAME_UPPER' ? small : total - small;
    pads[r + d] = total - pads[d]!;
  }
  return pads;
}

function convCase(s: ConvSpec): LinearCase {
  const rnd = new Rand(s.label);
  const g = s.group ?? 1;
  const Cg = s.C / g;
  const wDims = [s.O, Cg, ...s.kernel];
  const fanIn = Cg * numel(s.kernel);
  const Wf = rnd.normal(numel(wDims), Math.sqrt(2 / fanIn));
  const Bf = s.noBias ? new Float32Array(s.O) : rnd.uniform(s.O, -0.5, 0.5);
  if (!s.noBias) {
    Bf[0] = -Math.abs(Bf[0]!) - 0.1;
    Bf[s.O - 1] = Math.abs(Bf[s.O - 1]!) + 0.1;
  }
  const pads = s.autoPad ? autoPads(s) : s.pads;
  const W = { dims: wDims, data: f64(Wf) };
  const b = f64(Bf);
  const geo = { W, strides: s.strides, pads, dilations: s.dilations, groups: g };
  const xDims1 = [1, s.C, ...s.spatial];
  const yDims1 = conv2dForward64({ ...geo, x: { dims: xDims1, data: new Float64Array(numel(xDims1)) } }).dims;
  const xd = (n: number) => [n, ...xDims1.slice(1)];
  const yd = (n: number) => [n, ...yDims1.slice(1)];
  const conn = convConnections64({ ...geo, b, x: { dims: xDims1, data: new Float64Array(numel(xDims1)) } });
  const attrs: Record<string, AttrValue> = s.noKernelShape ? {} : { kernel_shape: s.kernel };
  if (s.strides) attrs.strides = s.strides;
  if (s.autoPad) attrs.auto_pad = s.autoPad;
  else if (s.pads) attrs.pads = s.pads;
  if (s.dilations) attrs.dilations = s.dilations;
  if (s.group) attrs.group = s.group;
  return {
    label: s.label,
    xDims1,
    yDims1,
    nodes: (inp, out) => [node('Conv', 'layer', s.noBias ? [inp, 'W'] : [inp, 'W', 'B'], [out], { ...attrs })],
    inits: s.noBias ? { W: float32(wDims, Wf) } : { W: float32(wDims, Wf), B: float32([s.O], Bf) },
    forward: (x, n) => conv2dForward64({ ...geo, b, x: { dims: xd(n), data: x } }).data,
    lrp: (x, R, n, rule) => conv2d64({ ...geo, b, x: { dims: xd(n), data: x }, R: { dims: yd(n), data: R } }, rule).data,
    lrpNoBias: (x, R, n, rule) => conv2d64({ ...geo, x: { dims: xd(n), data: x }, R: { dims: yd(n), data: R } }, rule).data,
    grad: (R, n) => gradient64(conn, R, n),
    conn,
  };
}

const CONV_SPECS: ConvSpec[] = [
  { label: 'Conv 3x3 stride 1 pad 1', C: 3, O: 4, spatial: [7, 7], kernel: [3, 3], pads: [1, 1, 1, 1] },
  { label: 'Conv 3x3 stride 2 asymmetric pads', C: 3, O: 4, spatial: [9, 8], kernel: [3, 3], strides: [2, 2], pads: [0, 1, 2, 1] },
  { label: 'Conv 3x3 stride 2 no pad (unreached border)', C: 2, O: 3, spatial: [8, 9], kernel: [3, 3], strides: [2, 2] },
  { label: 'Conv 3x3 dilation 2 asymmetric pads', C: 3, O: 4, spatial: [9, 9], kernel: [3, 3], dilations: [2, 2], pads: [2, 1, 1, 2] },
  { label: 'Conv 3x3 groups 2', C: 4, O: 6, spatial: [6, 7], kernel: [3, 3], pads: [1, 1, 1, 1], group: 2 },
  { label: 'Conv 3x3 depthwise stride 2', C: 4, O: 4, spatial: [8, 8], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], group: 4 },
  { label: 'Conv 5x5 depthwise multiplier 2', C: 3, O: 6, spatial: [8, 7], kernel: [5, 5], pads: [2, 2, 2, 2], group: 3 },
  { label: 'Conv 1x1', C: 5, O: 3, spatial: [5, 6], kernel: [1, 1] },
  { label: 'Conv 1x1 stride 2 pads [1,0,0,1]', C: 4, O: 3, spatial: [7, 6], kernel: [1, 1], strides: [2, 2], pads: [1, 0, 0, 1] },
  { label: 'Conv 5x5 stride 1 pad 2', C: 2, O: 3, spatial: [9, 8], kernel: [5, 5], pads: [2, 2, 2, 2] },
  { label: 'Conv 5x5 stride 2 asymmetric pads', C: 2, O: 4, spatial: [11, 10], kernel: [5, 5], strides: [2, 2], pads: [2, 1, 1, 2] },
  { label: 'Conv 3x5 strides [2,1] dilations [1,2]', C: 3, O: 2, spatial: [8, 11], kernel: [3, 5], strides: [2, 1], dilations: [1, 2], pads: [1, 2, 0, 3] },
  { label: 'Conv 3x3 auto_pad SAME_UPPER stride 2', C: 2, O: 3, spatial: [8, 7], kernel: [3, 3], strides: [2, 2], autoPad: 'SAME_UPPER' },
  { label: 'Conv 4x4 auto_pad SAME_LOWER', C: 2, O: 3, spatial: [6, 6], kernel: [4, 4], autoPad: 'SAME_LOWER' },
  { label: 'Conv 1x1 stride 1 pad 1 (pads beyond the kernel)', C: 3, O: 2, spatial: [5, 4], kernel: [1, 1], pads: [1, 1, 1, 1] },
  { label: 'Conv 3x3 pads [3,0,0,2] (pads beyond the kernel)', C: 2, O: 3, spatial: [6, 5], kernel: [3, 3], pads: [3, 0, 0, 2] },
  { label: 'Conv 3x3 without bias, kernel_shape omitted', C: 3, O: 4, spatial: [6, 6], kernel: [3, 3], pads: [1, 0, 1, 0], noBias: true, noKernelShape: true },
  // 1-D (textcnn-like [N, C, L])
  { label: 'Conv1d k3 (textcnn)', C: 8, O: 6, spatial: [12], kernel: [3] },
  { label: 'Conv1d k5 stride 2 pads [2,1]', C: 4, O: 5, spatial: [13], kernel: [5], strides: [2], pads: [2, 1] },
  { label: 'Conv1d k3 dilation 2 groups 2 pads [1,3]', C: 4, O: 6, spatial: [10], kernel: [3], dilations: [2], pads: [1, 3], group: 2 },
  { label: 'Conv1d k1', C: 6, O: 4, spatial: [9], kernel: [1] },
];

/** [N, L, D] → Transpose(perm 0,2,1) → the 1-D conv case: the textcnn body after its embedding. */
function transposed(c: LinearCase): LinearCase {
  const [, D, L] = c.xDims1 as [number, number, number];
  // [n, L, D] ↔ [n, D, L]
  const toCL = (x: Float64Array, n: number) => {
    const out = new Float64Array(x.length);
    for (let s = 0; s < n; s++) for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) out[(s * D + d) * L + l] = x[(s * L + l) * D + d]!;
    return out;
  };
  const toLD = (r: Float64Array, n: number) => {
    const out = new Float64Array(r.length);
    for (let s = 0; s < n; s++) for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) out[(s * L + l) * D + d] = r[(s * D + d) * L + l]!;
    return out;
  };
  return {
    ...c,
    label: `Transpose → ${c.label}`,
    xDims1: [1, L, D],
    nodes: (inp, out) => [node('Transpose', 'perm', [inp], ['x_cl'], { perm: [0, 2, 1] }), ...c.nodes('x_cl', out)],
    forward: (x, n) => c.forward(toCL(x, n), n),
    lrp: (x, R, n, rule) => toLD(c.lrp(toCL(x, n), R, n, rule), n),
    lrpNoBias: (x, R, n, rule) => toLD(c.lrpNoBias(toCL(x, n), R, n, rule), n),
    grad: (R, n) => toLD(c.grad(R, n), n),
  };
}

const LINEAR_CASES: { c: LinearCase; modes: Mode[] }[] = [
  ...DENSE_SPECS.map((s) => ({ c: denseCase(s), modes: ['mixed', 'relu', 'nonneg'] as Mode[] })),
  ...CONV_SPECS.map((s, k) => ({ c: convCase(s), modes: (k === 0 ? ['mixed', 'relu', 'nonneg'] : ['mixed', 'relu']) as Mode[] })),
  { c: transposed(convCase(CONV_SPECS.find((s) => s.label === 'Conv1d k3 (textcnn)')!)), modes: ['mixed', 'relu'] },
];

describe('Gemm, MatMul+Add and Conv: every rule vs the float64 reference', () => {
  for (const { c, modes } of LINEAR_CASES) {
    describe(c.label, () => {
      for (const mode of modes) {
        for (const k of linearChecks(c)) {
          it(`${mode}: ${k.rule}`, async () => {
            await runCheck(c, mode, k);
          });
        }
      }
    });
  }
});

// ---- pools ---------------------------------------------------------------------------------------

interface PoolSpec {
  label: string;
  op: 'MaxPool' | 'AveragePool' | 'GlobalAveragePool' | 'GlobalMaxPool' | 'ReduceMean';
  /** ReduceMean: averaged axes (spatial ones) and keepdims */
  axes?: number[];
  keepdims?: 0 | 1;
  C: number;
  spatial: number[];
  kernel?: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  ceil?: boolean;
  cip?: 0 | 1;
}

/** Pads of the reference pool: ceil_mode windows become extra end padding (padding is never an input). */
function refPads(s: PoolSpec): number[] | undefined {
  if (!s.ceil) return s.pads;
  const r = s.kernel!.length;
  const pads = [...(s.pads ?? new Array<number>(2 * r).fill(0))];
  for (let d = 0; d < r; d++) {
    const st = s.strides?.[d] ?? 1;
    const span = (s.kernel![d]! - 1) * (s.dilations?.[d] ?? 1) + 1;
    const total = s.spatial[d]! + pads[d]! + pads[r + d]!;
    const out = Math.ceil((total - span) / st) + 1;
    // the last window must start inside the input or the begin padding (true for every case below)
    if ((out - 1) * st >= s.spatial[d]! + pads[d]!) throw new Error(`${s.label}: the last ceil_mode window starts in the end padding`);
    pads[r + d]! += (out - 1) * st + span - total;
  }
  return pads;
}

interface PoolCase extends LayerCase {
  /** norm rule (avg/global) or winner-takes-all (max) */
  lrp(x: Float64Array, R: Float64Array, n: number, eps: number): Float64Array;
  grad(R: Float64Array, n: number): Float64Array;
}

function poolCase(s: PoolSpec): PoolCase {
  const xDims1 = [1, s.C, ...s.spatial];
  const xd = (n: number) => [n, ...xDims1.slice(1)];
  const attrs: Record<string, AttrValue> = {};
  if (s.kernel) attrs.kernel_shape = s.kernel;
  if (s.strides) attrs.strides = s.strides;
  if (s.pads) attrs.pads = s.pads;
  if (s.dilations) attrs.dilations = s.dilations;
  if (s.ceil) attrs.ceil_mode = 1;
  if (s.cip !== undefined) attrs.count_include_pad = s.cip;
  if (s.axes) attrs.axes = s.axes;
  if (s.keepdims !== undefined) attrs.keepdims = s.keepdims;
  const rank = xDims1.length;
  // the reference window of a global / ReduceMean pool: the averaged axes whole, the others 1
  const averaged = (d: number) => s.op.startsWith('Global') || (s.axes ?? []).some((a) => (a < 0 ? a + rank : a) === d + 2);
  const nodes = (inp: string, out: string) => [node(s.op, 'layer', [inp], [out], { ...attrs })];
  const geo = (n: number, x: Float64Array) => ({
    x: { dims: xd(n), data: x },
    kernel: s.op.startsWith('Global') || s.op === 'ReduceMean' ? s.spatial.map((v, d) => (averaged(d) ? v : 1)) : s.kernel!,
    strides: s.strides,
    pads: refPads(s),
    dilations: s.dilations,
    countIncludePad: s.cip === 1,
  });
  const isMax = s.op === 'MaxPool' || s.op === 'GlobalMaxPool';
  const fwd = (n: number, x: Float64Array) => (isMax ? maxpoolForward64(geo(n, x)) : avgpoolForward64(geo(n, x)));
  const refDims1 = fwd(1, new Float64Array(numel(xDims1))).dims;
  // ReduceMean with keepdims=0 drops the averaged axes (same values, same order)
  const yDims1 = s.keepdims === 0 ? refDims1.filter((_, d) => d < 2 || !averaged(d - 2)) : refDims1;
  const yd = (n: number) => [n, ...refDims1.slice(1)];
  return {
    label: s.label,
    xDims1,
    yDims1,
    nodes,
    inits: {},
    forward: (x, n) => fwd(n, x).data,
    lrp: (x, R, n, eps) => {
      const Rt = { dims: yd(n), data: R };
      if (isMax) return maxpoolWta64({ ...geo(n, x), R: Rt }).data;
      if (s.op === 'GlobalAveragePool') return globalAvgpoolNorm64({ x: { dims: xd(n), data: x }, R: Rt }, eps).data;
      return avgpoolNorm64({ ...geo(n, x), R: Rt }, eps).data;
    },
    grad: (R, n) => {
      if (isMax) throw new Error('max pool gradient needs x');
      // Σ_j R_j / K_j: the norm rule on an all-ones input with R_j·stab(y_j) as the seed
      const ones = new Float64Array(n * numel(xDims1)).fill(1);
      const y1 = avgpoolForward64(geo(n, ones)).data;
      const Rs = R.map((v, j) => v * stab(y1[j]!, 1e-6));
      return avgpoolNorm64({ ...geo(n, ones), R: { dims: yd(n), data: Rs } }, 1e-6).data;
    },
  };
}

const POOL_SPECS: PoolSpec[] = [
  { label: 'MaxPool 3x3 stride 2 pad 1 (overlapping)', op: 'MaxPool', C: 3, spatial: [9, 9], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  { label: 'MaxPool 3x3 stride 2 ceil_mode=1', op: 'MaxPool', C: 2, spatial: [8, 10], kernel: [3, 3], strides: [2, 2], ceil: true },
  { label: 'MaxPool 2x2 stride 2', op: 'MaxPool', C: 3, spatial: [6, 8], kernel: [2, 2], strides: [2, 2] },
  { label: 'MaxPool 3x3 stride 1 asymmetric pads', op: 'MaxPool', C: 2, spatial: [6, 7], kernel: [3, 3], pads: [0, 1, 2, 1] },
  { label: 'MaxPool 2x2 dilation 2', op: 'MaxPool', C: 2, spatial: [7, 7], kernel: [2, 2], dilations: [2, 2] },
  { label: 'MaxPool1d k3 stride 1', op: 'MaxPool', C: 4, spatial: [12], kernel: [3] },
  { label: 'MaxPool1d over the whole length (textcnn)', op: 'MaxPool', C: 6, spatial: [10], kernel: [10] },
  {
    label: 'AveragePool 3x3 stride 2 pad 1 count_include_pad=0',
    op: 'AveragePool',
    C: 3,
    spatial: [9, 8],
    kernel: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    cip: 0,
  },
  {
    label: 'AveragePool 3x3 stride 2 pad 1 count_include_pad=1',
    op: 'AveragePool',
    C: 3,
    spatial: [9, 8],
    kernel: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    cip: 1,
  },
  { label: 'AveragePool 3x3 asymmetric pads count_include_pad=0', op: 'AveragePool', C: 2, spatial: [7, 6], kernel: [3, 3], pads: [0, 1, 2, 0], cip: 0 },
  { label: 'AveragePool 3x3 asymmetric pads count_include_pad=1', op: 'AveragePool', C: 2, spatial: [7, 6], kernel: [3, 3], pads: [0, 1, 2, 0], cip: 1 },
  { label: 'AveragePool 2x2 stride 2', op: 'AveragePool', C: 4, spatial: [6, 6], kernel: [2, 2], strides: [2, 2] },
  {
    label: 'AveragePool 3x3 stride 2 ceil_mode=1 count_include_pad=0',
    op: 'AveragePool',
    C: 2,
    spatial: [8, 10],
    kernel: [3, 3],
    strides: [2, 2],
    ceil: true,
    cip: 0,
  },
  { label: 'AveragePool1d k3 stride 2 pad 1 count_include_pad=1', op: 'AveragePool', C: 3, spatial: [11], kernel: [3], strides: [2], pads: [1, 1], cip: 1 },
  { label: 'GlobalAveragePool 2-D', op: 'GlobalAveragePool', C: 5, spatial: [6, 7] },
  { label: 'GlobalAveragePool 1-D', op: 'GlobalAveragePool', C: 4, spatial: [9] },
  { label: 'ReduceMean axes [2,3] keepdims=0', op: 'ReduceMean', C: 4, spatial: [5, 6], axes: [2, 3], keepdims: 0 },
  { label: 'ReduceMean axes [2] keepdims=1', op: 'ReduceMean', C: 3, spatial: [5, 4], axes: [2], keepdims: 1 },
  { label: 'ReduceMean axes [-1] (1-D) keepdims=1', op: 'ReduceMean', C: 3, spatial: [7], axes: [-1] },
  { label: 'GlobalMaxPool 2-D', op: 'GlobalMaxPool', C: 3, spatial: [4, 5] },
];

function poolChecks(c: PoolCase, op: PoolSpec['op']): Check[] {
  if (op === 'MaxPool' || op === 'GlobalMaxPool') {
    const wta = (x: Float64Array, R: Float64Array, n: number) => c.lrp(x, R, n, 0);
    return [
      { rule: 'maxpool WTA (lrp default)', opts: { method: 'lrp' }, zSeed: false, expected: wta },
      { rule: 'maxpool gradient (method)', opts: { method: 'gradient' }, zSeed: false, expected: wta, reluMask: true },
    ];
  }
  const tag = op === 'GlobalAveragePool' ? 'globalavgpool' : op === 'ReduceMean' ? 'reducemean' : 'avgpool';
  return [
    { rule: `${tag} norm(1e-6) (lrp default)`, opts: { method: 'lrp' }, zSeed: true, expected: (x, R, n) => c.lrp(x, R, n, 1e-6) },
    {
      rule: `${tag} norm(0.25)`,
      opts: { method: 'lrp', rules: { layer: { rule: 'norm', epsilon: 0.25 } } },
      zSeed: false,
      expected: (x, R, n) => c.lrp(x, R, n, 0.25),
    },
    {
      rule: `${tag} epsilon(0.25)`,
      opts: { method: 'lrp', rules: { layer: { rule: 'epsilon', epsilon: 0.25 } } },
      zSeed: false,
      expected: (x, R, n) => c.lrp(x, R, n, 0.25),
    },
    { rule: `${tag} gradient (lrp rule)`, opts: { method: 'lrp', rules: { layer: { rule: 'gradient' } } }, zSeed: false, expected: (_x, R, n) => c.grad(R, n) },
    { rule: `${tag} gradient (method)`, opts: { method: 'gradient' }, zSeed: false, expected: (_x, R, n) => c.grad(R, n), reluMask: true },
  ];
}

describe('MaxPool, AveragePool, GlobalAveragePool vs the float64 reference', () => {
  for (const s of POOL_SPECS) {
    const c = poolCase(s);
    describe(s.label, () => {
      for (const mode of ['mixed', 'relu'] as Mode[]) {
        for (const k of poolChecks(c, s.op)) {
          it(`${mode}: ${k.rule}`, async () => {
            await runCheck(c, mode, k);
          });
        }
      }
    });
  }
});

// ---- residual Add and unfoldable BatchNormalization ----------------------------------------------

/** Add(Relu(x), x): both operands' relevance reaches x (through the Relu, which passes it). */
function addReluCase(): LayerCase & { lrp(x: Float64Array, R: Float64Array, eps: number): Float64Array; grad(x: Float64Array, R: Float64Array): Float64Array } {
  const xDims1 = [1, 3, 5, 4];
  return {
    label: 'Add(Relu(x), x)',
    xDims1,
    yDims1: xDims1,
    nodes: (inp, out) => [node('Relu', 'relu_a', [inp], ['a']), node('Add', 'layer', ['a', inp], [out])],
    inits: {},
    forward: (x) => x.map((v) => (v > 0 ? v : 0) + v),
    lrp: (x, R, eps) => {
      const { Ra, Rb } = addNorm64(relu64(x), x, R, eps);
      return Ra.map((v, i) => v + Rb[i]!);
    },
    grad: (x, R) => R.map((v, i) => (x[i]! > 0 ? 2 * v : v)),
  };
}

/** Split x along channels into a, b; Add(a, b): each half must get its own operand's relevance. */
function addSplitCase(): LayerCase & { lrp(x: Float64Array, R: Float64Array, n: number, eps: number): Float64Array } {
  const [C, H, W] = [3, 4, 5];
  const half = C * H * W;
  const xDims1 = [1, 2 * C, H, W];
  const parts = (x: Float64Array, n: number) => {
    const a = new Float64Array(n * half);
    const b = new Float64Array(n * half);
    for (let s = 0; s < n; s++) {
      a.set(x.subarray(2 * s * half, (2 * s + 1) * half), s * half);
      b.set(x.subarray((2 * s + 1) * half, (2 * s + 2) * half), s * half);
    }
    return { a, b };
  };
  return {
    label: 'Split → Add(a, b)',
    xDims1,
    yDims1: [1, C, H, W],
    nodes: (inp, out) => [node('Split', 'split', [inp], ['a', 'b'], { axis: 1 }), node('Add', 'layer', ['a', 'b'], [out])],
    inits: {},
    forward: (x, n) => {
      const { a, b } = parts(x, n);
      return a.map((v, i) => v + b[i]!);
    },
    lrp: (x, R, n, eps) => {
      const { a, b } = parts(x, n);
      const { Ra, Rb } = addNorm64(a, b, R, eps);
      const out = new Float64Array(x.length);
      for (let s = 0; s < n; s++) {
        out.set(Ra.subarray(s * half, (s + 1) * half), 2 * s * half);
        out.set(Rb.subarray(s * half, (s + 1) * half), (2 * s + 1) * half);
      }
      return out;
    },
  };
}

describe('residual Add (norm rule) vs the float64 reference', () => {
  const ar = addReluCase();
  const as = addSplitCase();
  for (const mode of ['mixed', 'relu'] as Mode[]) {
    it(`Add(Relu(x), x) [${mode}]: norm(1e-6) (lrp default)`, async () => {
      await runCheck(ar, mode, { rule: 'add norm(1e-6) (lrp default)', opts: { method: 'lrp' }, zSeed: true, expected: (x, R) => ar.lrp(x, R, 1e-6) });
    });
    it(`Add(Relu(x), x) [${mode}]: norm(0.25)`, async () => {
      await runCheck(ar, mode, {
        rule: 'add norm(0.25)',
        opts: { method: 'lrp', rules: { layer: { rule: 'norm', epsilon: 0.25 } } },
        zSeed: false,
        expected: (x, R) => ar.lrp(x, R, 0.25),
      });
    });
    it(`Add(Relu(x), x) [${mode}]: gradient (method)`, async () => {
      await runCheck(ar, mode, {
        rule: 'add gradient (method)',
        opts: { method: 'gradient' },
        zSeed: false,
        expected: (x, R) => ar.grad(x, R),
        reluMask: true,
      });
    });
    it(`Split → Add(a, b) [${mode}]: norm(1e-6) (lrp default)`, async () => {
      await runCheck(as, mode, { rule: 'add norm(1e-6) (lrp default)', opts: { method: 'lrp' }, zSeed: true, expected: (x, R, n) => as.lrp(x, R, n, 1e-6) });
    });
    it(`Split → Add(a, b) [${mode}]: norm(0.25)`, async () => {
      await runCheck(as, mode, {
        rule: 'add norm(0.25)',
        opts: { method: 'lrp', rules: { layer: { rule: 'norm', epsilon: 0.25 } } },
        zSeed: false,
        expected: (x, R, n) => as.lrp(x, R, n, 0.25),
      });
    });
  }
});

/** BatchNormalization with nothing to fold into: epsilon rule on y = x·s + t (a diagonal linear map). */
function bnCase(label: string, dims1: number[]): LayerCase & { conn: Connections64 } {
  const rnd = new Rand(label);
  const C = dims1[1]!;
  const gamma = rnd.uniform(C, 0.6, 1.5);
  gamma[0] = -0.8; // a negative scale too
  const beta = rnd.uniform(C, -0.5, 0.5);
  const mean = rnd.uniform(C, -0.4, 0.4);
  const variance = rnd.uniform(C, 0.5, 2);
  const eps = 1e-5;
  const s = Float64Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + Math.fround(eps)));
  const t = Float64Array.from(s, (sc, c) => beta[c]! - mean[c]! * sc);
  const per = numel(dims1) / C;
  const nIn = numel(dims1);
  const conn: Connections64 = {
    nIn,
    nOut: nIn,
    from: Int32Array.from({ length: nIn }, (_, i) => i),
    to: Int32Array.from({ length: nIn }, (_, i) => i),
    weight: Float64Array.from({ length: nIn }, (_, i) => s[Math.floor(i / per)]!),
    bias: Float64Array.from({ length: nIn }, (_, i) => t[Math.floor(i / per)]!),
  };
  return {
    label,
    xDims1: dims1,
    yDims1: dims1,
    nodes: (inp, out) => [node('BatchNormalization', 'layer', [inp, 'bn_scale', 'bn_bias', 'bn_mean', 'bn_var'], [out], { epsilon: eps })],
    inits: { bn_scale: float32([C], gamma), bn_bias: float32([C], beta), bn_mean: float32([C], mean), bn_var: float32([C], variance) },
    forward: (x) => x.map((v, i) => v * conn.weight[i % nIn]! + conn.bias[i % nIn]!),
    conn,
  };
}

function perSample(conn: Connections64, x: Float64Array, R: Float64Array, n: number, rule: LinearRule64): Float64Array {
  const out = new Float64Array(n * conn.nIn);
  for (let s = 0; s < n; s++) {
    out.set(connectionsRule64(conn, x.subarray(s * conn.nIn, (s + 1) * conn.nIn), R.subarray(s * conn.nOut, (s + 1) * conn.nOut), rule), s * conn.nIn);
  }
  return out;
}

describe('BatchNormalization that cannot be folded (epsilon on x·s + t) vs the float64 reference', () => {
  const cases = [
    bnCase('BatchNormalization on the input [N,C,H,W]', [1, 4, 5, 3]),
    bnCase('BatchNormalization on the input [N,C]', [1, 6]),
    bnCase('BatchNormalization on the input [N,C,L]', [1, 3, 7]),
  ];
  for (const c of cases) {
    for (const mode of ['mixed', 'relu'] as Mode[]) {
      it(`${c.label} [${mode}]: epsilon(1e-6) (lrp default)`, async () => {
        await runCheck(c, mode, {
          rule: 'bn epsilon(1e-6) (lrp default)',
          opts: { method: 'lrp' },
          zSeed: true,
          expected: (x, R, n) => perSample(c.conn, x, R, n, { rule: 'epsilon', epsilon: 1e-6 }),
        });
      });
      it(`${c.label} [${mode}]: epsilon(0.25)`, async () => {
        await runCheck(c, mode, {
          rule: 'bn epsilon(0.25)',
          opts: { method: 'lrp', rules: { layer: { rule: 'epsilon', epsilon: 0.25 } } },
          zSeed: false,
          expected: (x, R, n) => perSample(c.conn, x, R, n, { rule: 'epsilon', epsilon: 0.25 }),
        });
      });
      it(`${c.label} [${mode}]: gradient (method)`, async () => {
        await runCheck(c, mode, {
          rule: 'bn gradient (method)',
          opts: { method: 'gradient' },
          zSeed: false,
          expected: (_x, R, n) => gradient64(c.conn, R, n),
          reluMask: true,
        });
      });
    }
  }
});

// ---- the comparisons would catch a convention change ---------------------------------------------

describe('sensitivity: the compiled result is far from textbook variants of the reference', () => {
  // If the compiler used one of these variants, the comparisons above would fail: each differs
  // from the README's formula by far more than the tolerance on these layers.
  const dense = denseCase(DENSE_SPECS[0]!);
  const conv = convCase(CONV_SPECS[1]!);
  const variants: {
    c: LinearCase;
    mode: Mode;
    rule: LinearRuleCase;
    wrong: (c: LinearCase, x: Float64Array, R: Float64Array, n: number) => Float64Array;
    what: string;
  }[] = [];
  const byLabel = (l: string) => LINEAR_RULES.find((r) => r.label === l)!;
  for (const c of [dense, conv]) {
    for (const mode of ['mixed', 'relu'] as Mode[]) {
      for (const l of ['epsilon(0.25)', 'zplus', 'alphabeta(2,1)', 'gamma(0.25)', 'wsquare']) {
        variants.push({ c, mode, rule: byLabel(l), what: 'bias ignored', wrong: (cc, x, R, n) => cc.lrpNoBias(x, R, n, byLabel(l).ref) });
      }
      variants.push({
        c,
        mode,
        rule: byLabel('alphabeta(2,1)'),
        what: 'alphabeta(1,0) instead',
        wrong: (cc, x, R, n) => cc.lrp(x, R, n, { rule: 'alphabeta', alpha: 1, beta: 0 }),
      });
      variants.push({
        c,
        mode,
        rule: byLabel('zbox(-2,3)'),
        what: 'bounds (-3,3)',
        wrong: (cc, x, R, n) => cc.lrp(x, R, n, { rule: 'zbox', low: -3, high: 3 }),
      });
      variants.push({ c, mode, rule: byLabel('gamma(0.25)'), what: 'gamma(0.5)', wrong: (cc, x, R, n) => cc.lrp(x, R, n, { rule: 'gamma', gamma: 0.5 }) });
      variants.push({
        c,
        mode,
        rule: byLabel('epsilon(0.25)'),
        what: 'epsilon(1e-6)',
        wrong: (cc, x, R, n) => cc.lrp(x, R, n, { rule: 'epsilon', epsilon: 1e-6 }),
      });
    }
    variants.push({ c, mode: 'mixed', rule: byLabel('zplus'), what: 'z+ on x·w⁺ only', wrong: (cc, x, R, n) => cc.lrp(relu64(x), R, n, { rule: 'zplus' }) });
  }
  variants.push({
    c: conv,
    mode: 'mixed',
    rule: byLabel('flat'),
    what: 'padding counted as input',
    wrong: (cc, _x, R, n) => {
      // every output divided by the full kernel size C_g·k_h·k_w, as if padding positions were inputs
      const conn = cc.conn!;
      const full = CONV_SPECS[1]!.C * 9;
      const out = new Float64Array(n * conn.nIn);
      for (let s = 0; s < n; s++)
        for (let e = 0; e < conn.from.length; e++) out[s * conn.nIn + conn.from[e]!]! += R[s * conn.nOut + conn.to[e]!]! / stab(full, 1e-6);
      return out;
    },
  });

  for (const v of variants) {
    it(`${v.c.label} [${v.mode}] ${v.rule.label} ≠ ${v.what}`, async () => {
      const p = prepare(v.c, v.mode, v.rule.zSeed, `sensitivity ${v.c.label} ${v.mode} ${v.rule.label}`);
      const out = await explain(buildLayerGraph(v.c, v.mode), v.c.xDims1, { method: 'lrp', rules: { layer: v.rule.spec } }, p.x, p.R, N);
      const R64 = f64(p.R);
      expect(perSampleErr(out.relevance, v.c.lrp(p.xLayer, R64, N, v.rule.ref), N)).toBeLessThanOrEqual(TOL);
      const far = perSampleErr(out.relevance, v.wrong(v.c, p.xLayer, R64, N), N);
      expect(far, `distance to "${v.what}"`).toBeGreaterThan(100 * TOL);
    });
  }

  it('avgpool: count_include_pad swapped is detected', async () => {
    const s = POOL_SPECS.find((p) => p.op === 'AveragePool' && p.cip === 0 && p.pads)!;
    const c = poolCase(s);
    const other = poolCase({ ...s, cip: 1 });
    const p = prepare(c, 'mixed', false, 'sensitivity avgpool cip');
    const out = await explain(buildLayerGraph(c, 'mixed'), c.xDims1, { method: 'lrp', rules: { layer: { rule: 'norm', epsilon: 0.25 } } }, p.x, p.R, N);
    expect(perSampleErr(out.relevance, c.lrp(p.xLayer, f64(p.R), N, 0.25), N)).toBeLessThanOrEqual(TOL);
    expect(perSampleErr(out.relevance, other.lrp(p.xLayer, f64(p.R), N, 0.25), N)).toBeGreaterThan(100 * TOL);
  });
});

// ---- a small CNN: conservation, a float64 chain, batch independence -----------------------------

/** Conv(3→4, 3x3, pad 1) → Relu → Conv(4→6, 3x3, stride 2, pads [0,0,1,1]) → Relu → Flatten → Gemm(96→5). */
function smallCnn(zeroBias: boolean) {
  const rnd = new Rand(`small cnn ${zeroBias}`);
  const xDims1 = [1, 3, 8, 8];
  const W1 = rnd.normal(4 * 3 * 9, Math.sqrt(2 / 27));
  const W2 = rnd.normal(6 * 4 * 9, Math.sqrt(2 / 36));
  const Wf = rnd.normal(5 * 96, Math.sqrt(2 / 96)); // Gemm transB=1: [out, in]
  const b1 = zeroBias ? new Float32Array(4) : rnd.uniform(4, -0.3, 0.3);
  const b2 = zeroBias ? new Float32Array(6) : rnd.uniform(6, -0.3, 0.3);
  const bf = zeroBias ? new Float32Array(5) : rnd.uniform(5, -0.3, 0.3);
  const nodes = [
    node('Conv', 'conv1', ['x', 'W1', 'b1'], ['c1'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    node('Relu', 'relu1', ['c1'], ['r1']),
    node('Conv', 'conv2', ['r1', 'W2', 'b2'], ['c2'], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }),
    node('Relu', 'relu2', ['c2'], ['r2']),
    node('Flatten', 'flatten', ['r2'], ['f'], { axis: 1 }),
    node('Gemm', 'fc', ['f', 'Wf', 'bf'], ['logits'], { transB: 1 }),
  ];
  const inits = {
    W1: float32([4, 3, 3, 3], W1),
    b1: float32([4], b1),
    W2: float32([6, 4, 3, 3], W2),
    b2: float32([6], b2),
    Wf: float32([5, 96], Wf),
    bf: float32([5], bf),
  };
  const l1 = { W: { dims: [4, 3, 3, 3], data: f64(W1) }, b: f64(b1), pads: [1, 1, 1, 1] };
  const l2 = { W: { dims: [6, 4, 3, 3], data: f64(W2) }, b: f64(b2), strides: [2, 2], pads: [0, 0, 1, 1] };
  const WfT = transpose2d64(f64(Wf), 5, 96); // [in, out]
  const forward = (x: Float64Array, n: number) => {
    const z1 = conv2dForward64({ ...l1, x: { dims: [n, 3, 8, 8], data: x } });
    const a1 = relu64(z1.data);
    const z2 = conv2dForward64({ ...l2, x: { dims: z1.dims, data: a1 } });
    const a2 = relu64(z2.data);
    return { a1, a1dims: z1.dims, a2, a2dims: z2.dims, logits: denseForward64({ x: a2, W: WfT, b: f64(bf) }) };
  };
  /** float64 LRP through the whole network (Relu and Flatten pass relevance unchanged). */
  const lrp = (x: Float64Array, R: Float64Array, n: number, rules: [LinearRule64, LinearRule64, LinearRule64]) => {
    const f = forward(x, n);
    const Rf = dense64({ x: f.a2, W: WfT, b: f64(bf), R }, rules[2]);
    const R2 = conv2d64({ ...l2, x: { dims: f.a1dims, data: f.a1 }, R: { dims: f.a2dims, data: Rf } }, rules[1]);
    return conv2d64({ ...l1, x: { dims: [n, 3, 8, 8], data: x }, R: { dims: f.a1dims, data: R2.data } }, rules[0]).data;
  };
  const graph = () =>
    makeGraph(
      nodes.map((nd) => ({ ...nd, attrs: { ...nd.attrs } })),
      inits,
      xDims1,
      5,
    );
  return { xDims1, graph, forward, lrp };
}

type Triple = [LinearRuleCase, LinearRuleCase, LinearRuleCase];
const R_ = (l: string) => LINEAR_RULES.find((r) => r.label === l)!;
const CNN_COMPOSITIONS: { label: string; rules: Triple; conservative: boolean }[] = [
  { label: 'epsilon(1e-6) everywhere', rules: [R_('epsilon(1e-6)'), R_('epsilon(1e-6)'), R_('epsilon(1e-6)')], conservative: true },
  { label: 'zplus everywhere', rules: [R_('zplus'), R_('zplus'), R_('zplus')], conservative: true },
  { label: 'alphabeta(2,1) everywhere', rules: [R_('alphabeta(2,1)'), R_('alphabeta(2,1)'), R_('alphabeta(2,1)')], conservative: true },
  { label: 'alphabeta(1,0) everywhere', rules: [R_('alphabeta(1,0)'), R_('alphabeta(1,0)'), R_('alphabeta(1,0)')], conservative: true },
  { label: 'gamma(0.25) everywhere', rules: [R_('gamma(0.25)'), R_('gamma(0.25)'), R_('gamma(0.25)')], conservative: true },
  { label: 'zbox(-2,3), zplus, zplus', rules: [R_('zbox(-2,3)'), R_('zplus'), R_('zplus')], conservative: true },
  { label: 'flat, zplus, epsilon(1e-6)', rules: [R_('flat'), R_('zplus'), R_('epsilon(1e-6)')], conservative: true },
  { label: 'wsquare, gamma(0.25), epsilon(1e-6)', rules: [R_('wsquare'), R_('gamma(0.25)'), R_('epsilon(1e-6)')], conservative: true },
  { label: 'epsilon(0.25) everywhere', rules: [R_('epsilon(0.25)'), R_('epsilon(0.25)'), R_('epsilon(0.25)')], conservative: false },
];

function cnnOpts(t: Triple): Opts {
  return { method: 'lrp', rules: { conv1: t[0].spec, conv2: t[1].spec, fc: t[2].spec } };
}

/** Positive seeds R = |z|·u, u ∈ U(0.5, 1.5): a seed sum far from 0 and no near-zero logit with a large share. */
function cnnInputs(cnn: ReturnType<typeof smallCnn>, seed: string, n: number) {
  const rnd = new Rand(seed);
  const x = rnd.input(n * numel(cnn.xDims1));
  const f = cnn.forward(f64(x), n);
  const R = Float32Array.from(f.logits, (z) => Math.abs(z) * (0.5 + rnd.next()));
  return { x, f, R };
}

describe('small CNN (Conv→Relu→Conv→Relu→Flatten→Gemm)', () => {
  for (const zeroBias of [true, false]) {
    const cnn = smallCnn(zeroBias);
    for (const comp of CNN_COMPOSITIONS) {
      it(`${zeroBias ? 'zero biases' : 'with biases'}: ${comp.label} matches the float64 chain${zeroBias && comp.conservative ? ' and conserves the seed' : ''}`, async () => {
        const { x, f, R } = cnnInputs(cnn, `cnn ${zeroBias} ${comp.label}`, N);
        const out = await explain(cnn.graph(), cnn.xDims1, cnnOpts(comp.rules), x, R, N);
        expect(perSampleErr(out.logits, f.logits, N)).toBeLessThanOrEqual(1e-5);
        const want = cnn.lrp(f64(x), f64(R), N, [comp.rules[0].ref, comp.rules[1].ref, comp.rules[2].ref]);
        const err = perSampleErr(out.relevance, want, N);
        record(`cnn chain: ${comp.label}`, zeroBias ? 'zero biases' : 'with biases', err);
        expect(err).toBeLessThanOrEqual(TOL);
        if (zeroBias && comp.conservative) {
          const per = numel(cnn.xDims1);
          for (let s = 0; s < N; s++) {
            let seedSum = 0;
            for (let j = 0; j < 5; j++) seedSum += R[s * 5 + j]!;
            let relSum = 0;
            for (let i = 0; i < per; i++) relSum += out.relevance[s * per + i]!;
            const dev = Math.abs(relSum - seedSum) / Math.abs(seedSum);
            record(`conservation: ${comp.label}`, `sample ${s}`, dev);
            expect(dev, `sample ${s}: Σ R_in = ${relSum}, Σ seed = ${seedSum}`).toBeLessThanOrEqual(1e-4);
          }
        }
      });
    }
  }
});

// ---- batch of 4 = the 4 samples one at a time ----------------------------------------------------

describe('a batch of 4 gives the relevance of the 4 samples one at a time', () => {
  const B = 4;
  const BATCH_TOL = 1e-5;
  const compare = async (label: string, graph: () => Graph, xDims1: number[], opts: Opts, x: Float32Array, R: Float32Array, classes: number) => {
    const batch = await explain(graph(), xDims1, opts, x, R, B);
    const per = numel(xDims1);
    let worstErr = 0;
    for (let s = 0; s < B; s++) {
      const one = await explain(graph(), xDims1, opts, x.slice(s * per, (s + 1) * per), R.slice(s * classes, (s + 1) * classes), 1);
      worstErr = Math.max(worstErr, relL2(Array.from(batch.relevance.subarray(s * per, (s + 1) * per)), Array.from(one.relevance)));
    }
    record('batch of 4 vs one at a time', label, worstErr);
    expect(worstErr, label).toBeLessThanOrEqual(BATCH_TOL);
  };

  const cnn = smallCnn(false);
  for (const comp of CNN_COMPOSITIONS) {
    it(`small CNN: ${comp.label}`, async () => {
      const { x, R } = cnnInputs(cnn, `batch ${comp.label}`, B);
      await compare(`cnn ${comp.label}`, cnn.graph, cnn.xDims1, cnnOpts(comp.rules), x, R, 5);
    });
  }
  const single: { c: LayerCase; opts: Opts; mode: Mode }[] = [
    { c: poolCase(POOL_SPECS[0]!), opts: { method: 'lrp' }, mode: 'relu' },
    { c: poolCase(POOL_SPECS[1]!), opts: { method: 'lrp' }, mode: 'mixed' },
    { c: poolCase(POOL_SPECS[8]!), opts: { method: 'lrp' }, mode: 'mixed' },
    { c: poolCase(POOL_SPECS[14]!), opts: { method: 'lrp' }, mode: 'mixed' },
    { c: addSplitCase(), opts: { method: 'lrp' }, mode: 'mixed' },
    { c: bnCase('BatchNormalization on the input [N,C,H,W]', [1, 4, 5, 3]), opts: { method: 'lrp' }, mode: 'mixed' },
    { c: convCase(CONV_SPECS[4]!), opts: { method: 'lrp', rules: { layer: { rule: 'gamma', gamma: 0.25 } } }, mode: 'mixed' },
    { c: convCase(CONV_SPECS[12]!), opts: { method: 'lrp', rules: { layer: { rule: 'alphabeta', alpha: 2, beta: 1 } } }, mode: 'relu' },
    { c: denseCase(DENSE_SPECS[5]!), opts: { method: 'lrp', rules: { layer: { rule: 'zbox', low: -2, high: 3 } } }, mode: 'mixed' },
  ];
  for (const { c, opts, mode } of single) {
    it(`${c.label} [${mode}]`, async () => {
      const p = prepare(c, mode, true, `batch ${c.label}`, B);
      await compare(c.label, () => buildLayerGraph(c, mode), c.xDims1, opts, p.x, p.R, numel(c.yDims1));
    });
  }
});
