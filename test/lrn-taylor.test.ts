/**
 * LRP through LRN layers (Binder et al. 2016, arXiv 1604.00825, §3.4 of the digest): the compiled
 * Taylor rule against a float64 reference written term by term from the paper's formula, the
 * conservation of each LRN layer, the remark that β = 0 equals the identity treatment on
 * non-negative inputs, and how the rule is chosen (mapping, API option, CLI flags) and refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { compileExplainer, type CompileOptions } from '../src/core/explain/compile.js';
import type { ExplainerOptions } from '../src/core/explain/explainer.js';
import { canonicalize } from '../src/core/graph/canonize.js';
import { encodeModel, type Graph, type GraphNode } from '../src/core/onnx/model.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { Explainer } from '../src/node/api.js';
import { relprop } from './helpers/cli.js';
import { relL2 } from './helpers/fixtures.js';

interface Lrn {
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}
type Variant = { epsilon: number } | { beta: number };

// ---- float64 reference: every q_jk of every output k, straight from §3.4 -------------------------

/** The terms q_jk of output k (j over k's window, own term included) at one position; x[c]. */
function terms64(x: Float64Array, k: number, a: Lrn): { j: number; q: number }[] {
  const C = x.length;
  const b = a.alpha / a.size;
  const c = a.beta;
  const lo = Math.max(0, k - Math.floor((a.size - 1) / 2));
  const hi = Math.min(C - 1, k + Math.ceil((a.size - 1) / 2));
  let S = 0;
  for (let j = lo; j <= hi; j++) S += x[j]! ** 2;
  const D = a.bias + b * S;
  const out = [{ j: k, q: x[k]! * (a.bias + b * x[k]! ** 2) ** -c }];
  for (let j = lo; j <= hi; j++) if (j !== k) out.push({ j, q: -2 * b * c * x[k]! * x[j]! ** 2 * D ** (-c - 1) });
  return out;
}

/** Relevance at the LRN input, x and R as [n, C, P] flat (P positions per channel). */
function lrnTaylor64(x: Float32Array, R: Float32Array, n: number, C: number, a: Lrn, v: Variant): Float64Array {
  const P = x.length / n / C;
  const out = new Float64Array(x.length);
  for (let s = 0; s < n; s++)
    for (let p = 0; p < P; p++) {
      const at = (c: number) => s * C * P + c * P + p;
      const xc = Float64Array.from({ length: C }, (_, c) => x[at(c)]!);
      for (let k = 0; k < C; k++) {
        const t = terms64(xc, k, a);
        const Rk = R[at(k)]!;
        if ('epsilon' in v) {
          const z = t.reduce((acc, e) => acc + e.q, 0);
          const d = z + v.epsilon * (z >= 0 ? 1 : -1);
          for (const e of t) out[at(e.j)]! += (e.q / d) * Rk;
        } else {
          const pos = t.reduce((acc, e) => acc + Math.max(e.q, 0), 0);
          const neg = t.reduce((acc, e) => acc + Math.min(e.q, 0), 0);
          for (const e of t) {
            if (pos !== 0) out[at(e.j)]! += ((1 + v.beta) * Math.max(e.q, 0) * Rk) / pos;
            if (neg !== 0) out[at(e.j)]! -= (v.beta * Math.min(e.q, 0) * Rk) / neg;
          }
        }
      }
    }
  return out;
}

// ---- a one-LRN graph, explained with a given output relevance ------------------------------------

function lrnGraph(dims1: number[], a: Lrn): Graph {
  const nodes: GraphNode[] = [
    { op: 'LRN', name: 'lrn', inputs: ['x'], outputs: ['y'], attrs: { ...a } },
    { op: 'Flatten', name: 'flat', inputs: ['y'], outputs: ['logits'], attrs: { axis: 1 } },
  ];
  const classes = dims1.slice(1).reduce((p, d) => p * d, 1);
  return {
    nodes,
    initializers: new Map(),
    inputs: [{ name: 'x', elemType: 1, shape: ['N', ...dims1.slice(1)] }],
    outputs: [{ name: 'logits', elemType: 1, shape: ['N', classes] }],
    opset: 17,
    irVersion: 8,
    producer: 'lrn-taylor.test',
  };
}

/** Relevance at x when R arrives at the LRN output (the Flatten only reshapes it). */
async function explainLrn(a: Lrn, dims: number[], x: Float32Array, R: Float32Array, lrn: CompileOptions['lrn']): Promise<Float32Array> {
  return (await runExplainer(a, dims, x, R, { method: 'lrp', lrn })).relevance;
}

async function runExplainer(a: Lrn, dims: number[], x: Float32Array, R: Float32Array, o: Pick<CompileOptions, 'method' | 'lrn'>) {
  const g = lrnGraph([1, ...dims.slice(1)], a);
  const info = canonicalize(g);
  const c = await compileExplainer(g, info, [1, ...dims.slice(1)], { ...o, seed: 'relevance' });
  const s = await ort.InferenceSession.create(c.model);
  try {
    const res = await s.run({
      [c.input]: new ort.Tensor('float32', x, dims),
      [c.seedInput]: new ort.Tensor('float32', R, [dims[0]!, c.numClasses]),
    });
    const ops = c.graph.nodes.map((n) => n.op);
    return { relevance: Float32Array.from(res[c.relevance]!.data as Float32Array), logits: Float32Array.from(res[c.logits]!.data as Float32Array), ops };
  } finally {
    await s.release();
  }
}

/** ONNX Runtime's own LRN kernel on x: the forward the explainer must reproduce. */
async function ortLrn(a: Lrn, dims: number[], x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(lrnGraph(dims, a)));
  try {
    const res = await s.run({ x: new ort.Tensor('float32', x, dims) });
    return Float32Array.from(res.logits!.data as Float32Array);
  } finally {
    await s.release();
  }
}

/** Σ_k R_k ∂y_k/∂x_j in float64: ∂y_k/∂x_j = δ_jk·D_k^{−c} − 2bc·x_k·x_j·D_k^{−c−1} for j in k's window. */
function lrnGradient64(x: Float32Array, R: Float32Array, n: number, C: number, a: Lrn): Float64Array {
  const P = x.length / (n * C);
  const out = new Float64Array(x.length);
  const b = a.alpha / a.size;
  for (let s = 0; s < n; s++)
    for (let p = 0; p < P; p++) {
      const at = (c: number) => (s * C + c) * P + p;
      for (let k = 0; k < C; k++) {
        const lo = Math.max(0, k - Math.floor((a.size - 1) / 2));
        const hi = Math.min(C - 1, k + Math.ceil((a.size - 1) / 2));
        let S = 0;
        for (let j = lo; j <= hi; j++) S += x[at(j)]! ** 2;
        const D = a.bias + b * S;
        out[at(k)]! += R[at(k)]! * D ** -a.beta;
        for (let j = lo; j <= hi; j++) out[at(j)]! -= R[at(k)]! * 2 * b * a.beta * x[at(k)]! * x[at(j)]! * D ** (-a.beta - 1);
      }
    }
  return out;
}

function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
const sum = (a: ArrayLike<number>, from = 0, to = a.length) => {
  let t = 0;
  for (let i = from; i < to; i++) t += a[i]!;
  return t;
};

const DIMS = [3, 7, 3, 2];
/** Inputs: mixed signs or non-negative; `scale` makes activations large where the cross terms matter. */
function input(seed: number, mode: 'mixed' | 'nonneg', scale: number): Float32Array {
  const r = rand(seed);
  return Float32Array.from({ length: DIMS.reduce((p, d) => p * d) }, () => {
    const v = normal(r) * scale;
    return mode === 'mixed' ? v : Math.abs(v) + 0.01 * scale;
  });
}
const relevanceAt = (seed: number) => {
  const r = rand(seed);
  return Float32Array.from({ length: DIMS.reduce((p, d) => p * d) }, () => normal(r));
};

// AlexNet's constants with activations in the hundreds (b·x² ≈ 0.2–2), and strong normalisation at unit scale.
const LAYERS: { label: string; a: Lrn; scale: number }[] = [
  { label: 'size 5, CaffeNet constants, |x| ~ 150', a: { size: 5, alpha: 1e-4, beta: 0.75, bias: 1 }, scale: 150 },
  { label: 'size 3, alpha 2, |x| ~ 1', a: { size: 3, alpha: 2, beta: 0.75, bias: 1 }, scale: 1 },
  { label: 'size 7 (window past both edges), bias 2, beta 0.5', a: { size: 7, alpha: 1.5, beta: 0.5, bias: 2 }, scale: 1.2 },
  { label: 'size 1 (own term only)', a: { size: 1, alpha: 0.7, beta: 0.75, bias: 1 }, scale: 1 },
];

describe('LRN Taylor rule vs the float64 reference', () => {
  const variants: Variant[] = [{ epsilon: 0.01 }, { epsilon: 1 }, { beta: 0 }, { beta: 1 }];
  for (const { label, a, scale } of LAYERS)
    for (const mode of ['mixed', 'nonneg'] as const)
      it(`${label}, ${mode} inputs`, async () => {
        const x = input(11 + a.size, mode, scale);
        const R = relevanceAt(5);
        for (const v of variants) {
          const got = await explainLrn(a, DIMS, x, R, { rule: 'lrn-taylor', ...v });
          const want = lrnTaylor64(x, R, DIMS[0]!, DIMS[1]!, a, v);
          expect(relL2(got, want), JSON.stringify(v)).toBeLessThan(1e-4);
        }
      });

  it('the neighbour terms matter: the Taylor result is far from the identity at large activations', async () => {
    const { a, scale } = LAYERS[0]!;
    const x = input(3, 'mixed', scale);
    const R = relevanceAt(4);
    const got = await explainLrn(a, DIMS, x, R, { rule: 'lrn-taylor', epsilon: 0.01 });
    expect(relL2(got, R)).toBeGreaterThan(0.1);
  });
});

describe('the explainer computes the LRN forward in parts', () => {
  for (const { label, a, scale } of LAYERS)
    it(`${label}: logits equal ONNX Runtime's LRN, the gradient equals the float64 one`, async () => {
      const x = input(41 + a.size, 'mixed', scale);
      const R = relevanceAt(42);
      const { relevance, logits, ops } = await runExplainer(a, DIMS, x, R, { method: 'gradient' });
      expect(ops).not.toContain('LRN');
      expect(relL2(logits, await ortLrn(a, DIMS, x))).toBeLessThan(1e-6);
      expect(relL2(relevance, lrnGradient64(x, R, DIMS[0]!, DIMS[1]!, a))).toBeLessThan(1e-5);
      // The Taylor rule works on the same parts.
      expect((await runExplainer(a, DIMS, x, R, { method: 'lrp', lrn: { rule: 'lrn-taylor', epsilon: 0.01 } })).ops).not.toContain('LRN');
    });
});

describe('LRN Taylor rule: conservation and the β = 0 remark', () => {
  it('each LRN layer is conservative to 1e-5 (ε → 0, and β-variant for β ∈ {0, 1})', async () => {
    for (const { a, scale } of LAYERS.slice(0, 3))
      for (const mode of ['mixed', 'nonneg'] as const)
        for (const v of [{ epsilon: 1e-9 }, { beta: 0 }, { beta: 1 }]) {
          const x = input(21, mode, scale);
          const R = relevanceAt(22).map(Math.abs); // one sign: no cancellation hides a leak
          const got = await explainLrn(a, DIMS, x, R, { rule: 'lrn-taylor', ...v });
          const per = got.length / DIMS[0]!;
          for (let s = 0; s < DIMS[0]!; s++) {
            const rin = sum(got, s * per, (s + 1) * per);
            const rout = sum(R, s * per, (s + 1) * per);
            expect(Math.abs(rin - rout) / Math.abs(rout), `${JSON.stringify(a)} ${mode} ${JSON.stringify(v)}`).toBeLessThan(1e-5);
          }
        }
  });

  it('for non-negative inputs the β = 0 variant equals the identity treatment (and β = 1 does not)', async () => {
    for (const { a, scale } of LAYERS) {
      const x = input(31, 'nonneg', scale);
      const R = relevanceAt(32);
      const taylor = await explainLrn(a, DIMS, x, R, { rule: 'lrn-taylor', beta: 0 });
      const identity = await explainLrn(a, DIMS, x, R, 'identity');
      expect(Array.from(identity)).toEqual(Array.from(R));
      expect(relL2(taylor, identity)).toBeLessThan(1e-6);
      if (a.size > 1) expect(relL2(await explainLrn(a, DIMS, x, R, { rule: 'lrn-taylor', beta: 1 }), identity)).toBeGreaterThan(1e-3);
    }
  });
});

// ---- choosing the rule ---------------------------------------------------------------------------

/** conv → relu → LRN → flatten → dense: a model with one LRN node named "norm". */
function convLrnModel(): Uint8Array {
  const r = rand(9);
  const w = (n: number) => Array.from({ length: n }, () => normal(r) * 0.5);
  const g: Graph = {
    nodes: [
      { op: 'Conv', name: 'conv', inputs: ['x', 'cw', 'cb'], outputs: ['c'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', name: 'relu', inputs: ['c'], outputs: ['h'], attrs: {} },
      { op: 'LRN', name: 'norm', inputs: ['h'], outputs: ['n'], attrs: { size: 3, alpha: 1, beta: 0.75, bias: 1 } },
      { op: 'Flatten', name: 'flat', inputs: ['n'], outputs: ['f'], attrs: { axis: 1 } },
      { op: 'Gemm', name: 'fc', inputs: ['f', 'fw', 'fb'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    initializers: new Map([
      ['cw', float32([4, 1, 3, 3], w(36))],
      ['cb', float32([4], w(4))],
      ['fw', float32([3, 64], w(192))],
      ['fb', float32([3], [0, 0, 0])],
    ]),
    inputs: [{ name: 'x', elemType: 1, shape: ['N', 1, 4, 4] }],
    outputs: [{ name: 'logits', elemType: 1, shape: ['N', 3] }],
    opset: 17,
    irVersion: 8,
    producer: 'lrn-taylor.test',
  };
  return encodeModel(g);
}

const lrnRule = async (model: Uint8Array, o: ExplainerOptions) => {
  const ex = await Explainer.create(model, o);
  try {
    return (await ex.info([1, 1, 4, 4])).layers.find((l) => l.name === 'norm')!.rule;
  } finally {
    await ex.release();
  }
};

describe('choosing the LRN rule', () => {
  const model = convLrnModel();

  it('default: Taylor with ε 1e-6; the lrn option and a mapping entry override it', async () => {
    expect(await lrnRule(model, {})).toBe('lrn-taylor(epsilon=0.000001)');
    expect(await lrnRule(model, { lrn: 'identity' })).toBe('identity');
    expect(await lrnRule(model, { lrn: { rule: 'lrn-taylor', beta: 1 } })).toBe('lrn-taylor(beta=1)');
    expect(await lrnRule(model, { lrn: 'identity', rules: { norm: { rule: 'lrn-taylor', epsilon: 0.5 } } })).toBe('lrn-taylor(epsilon=0.5)');
    expect(await lrnRule(model, { rules: { norm: { rule: 'identity' } } })).toBe('identity');
    expect(await lrnRule(model, { method: 'gradient' })).toBe('gradient');
  });

  it('refuses an LRN rule on another node, parameters out of range, a non-LRN treatment', async () => {
    await expect(Explainer.create(model, { rules: { conv: { rule: 'lrn-taylor' } } }).then((e) => e.info([1, 1, 4, 4]))).rejects.toThrow(
      /"conv" is a Conv layer; rule "lrn-taylor" does not apply/,
    );
    await expect(Explainer.create(model, { rules: { relu: { rule: 'lrn-taylor', beta: 1 } } }).then((e) => e.info([1, 1, 4, 4]))).rejects.toThrow(
      /rule "lrn-taylor" does not apply to Relu node "relu"/,
    );
    await expect(Explainer.create(model, { rules: { norm: { rule: 'lrn-taylor', beta: -1 } } })).rejects.toThrow(/beta must be ≥ 0/);
    await expect(Explainer.create(model, { rules: { norm: { rule: 'lrn-taylor', epsilon: 0 } } })).rejects.toThrow(/needs epsilon > 0/);
    await expect(Explainer.create(model, { lrn: { rule: 'lrn-taylor', epsilon: 1, beta: 1 } })).rejects.toThrow(/not both/);
    await expect(Explainer.create(model, { lrn: { rule: 'epsilon', epsilon: 1 } })).rejects.toThrow(/LRN layers take "identity" or "lrn-taylor"/);
    await expect(Explainer.create(model, { rules: { norm: { rule: 'zplus' } } }).then((e) => e.info([1, 1, 4, 4]))).rejects.toThrow(
      /rule "zplus" does not apply to LRN node "norm"/,
    );
  });

  it('an LRN ONNX does not define is refused at import', async () => {
    const bad = convLrnModel();
    const { decodeModel } = await import('../src/core/onnx/model.js');
    for (const [attrs, msg] of [
      [{ size: 0, alpha: 1, beta: 0.75, bias: 1 }, /LRN node "norm": size must be an odd positive integer/],
      [{ size: 4, alpha: 1, beta: 0.75, bias: 1 }, /LRN node "norm": size must be an odd positive integer, got 4/],
      [{ size: 3, alpha: 1, beta: 0.75, bias: 0 }, /LRN node "norm": bias must be > 0/],
    ] as const) {
      const g = decodeModel(bad);
      g.nodes.find((n) => n.op === 'LRN')!.attrs = { ...attrs };
      await expect(Explainer.create(encodeModel(g), {}).then((e) => e.info([1, 1, 4, 4]))).rejects.toThrow(msg);
    }
  });

  it('CLI: --lrn, --lrn-epsilon, --lrn-beta on inspect; bad values give one error line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'relprop-lrn-'));
    const path = join(dir, 'm.onnx');
    writeFileSync(path, model);
    const rulesOf = async (...flags: string[]) => {
      const r = await relprop(['inspect', path, ...flags]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout
        .split('\n')
        .find((l) => l.startsWith('norm '))!
        .split(/\s+/)[2];
    };
    expect(await rulesOf()).toBe('lrn-taylor(epsilon=0.000001)');
    expect(await rulesOf('--lrn', 'identity')).toBe('identity');
    expect(await rulesOf('--lrn', 'taylor', '--lrn-epsilon', '0.1')).toBe('lrn-taylor(epsilon=0.1)');
    expect(await rulesOf('--lrn-beta', '1')).toBe('lrn-taylor(beta=1)');
    writeFileSync(join(dir, 'rules.json'), JSON.stringify({ norm: { rule: 'lrn-taylor', beta: 0 } }));
    expect(await rulesOf('--lrn', 'identity', '--rules', join(dir, 'rules.json'))).toBe('lrn-taylor(beta=0)');
    for (const [flags, msg] of [
      [['--lrn-beta', '-1'], /--lrn-beta must be ≥ 0, got -1/],
      [['--lrn-epsilon', '0'], /--lrn-epsilon must be > 0, got 0/],
      [['--lrn', 'identity', '--lrn-beta', '1'], /--lrn identity takes no --lrn-beta/],
      [['--lrn-epsilon', '1', '--lrn-beta', '1'], /not both/],
      [['--method', 'gradient', '--lrn', 'taylor'], /apply to --method lrp/],
    ] as const) {
      const r = await relprop(['inspect', path, ...flags]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^relprop: error: /);
      expect(r.stderr).toMatch(msg);
    }
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ conv: { rule: 'lrn-taylor', epsilon: 1 } }));
    const r = await relprop(['inspect', path, '--rules', join(dir, 'bad.json')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^relprop: error: .*"conv" is a Conv layer; rule "lrn-taylor" does not apply/);
  });

  it('explain runs with each treatment and the Taylor relevance differs from the identity one', async () => {
    const r = rand(2);
    const x = { dtype: 'float32' as const, dims: [1, 1, 4, 4], data: Float32Array.from({ length: 16 }, () => normal(r) * 3) };
    const run = async (lrn: CompileOptions['lrn']) => {
      const ex = await Explainer.create(model, { rule: 'epsilon', lrn: lrn as ExplainerOptions['lrn'] });
      try {
        return (await ex.explain(x, { target: 0 })).relevance.data as Float32Array;
      } finally {
        await ex.release();
      }
    };
    const id = await run('identity');
    const ta = await run({ rule: 'lrn-taylor', epsilon: 1e-6 });
    expect(id.every(Number.isFinite) && ta.every(Number.isFinite)).toBe(true);
    expect(relL2(ta, id)).toBeGreaterThan(1e-3);
  });
});
