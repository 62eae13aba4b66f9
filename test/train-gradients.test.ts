/**
 * The training-step graph's weight gradients against finite differences of its own loss, for
 * every trainable layer type, and its optimizer updates against hand-computed ones.
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import { numel, type TensorData } from '../src/core/onnx/tensor.js';
import { buildGraph, initParams, type LossSpec } from '../src/core/train/graph.js';
import { rngFor } from '../src/core/math/rng.js';
import type { ModelSpec } from '../src/core/train/spec.js';

interface Case {
  name: string;
  spec: ModelSpec;
  loss: LossSpec;
  x: TensorData;
  y: TensorData;
  mask?: TensorData;
  freeze?: string[];
}

const rng = rngFor('test', 42);
const randn = (n: number) => Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng()));
const labels = (n: number, K: number): TensorData => ({
  dtype: 'int64',
  dims: [n],
  data: BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rng() * K))),
});

const cases: Case[] = [
  {
    name: 'image: conv (stride, dilation, groups), batch norm, tanh, leaky ReLU, max/avg pool, residual, concat, LRN, dense',
    spec: {
      input: { shape: [2, 9, 9] },
      normalize: { mean: 0.1, std: 0.9 },
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, padding: 1, stride: 2, bias: false }, // a bias before batch norm has no gradient
        { type: 'batchnorm' },
        { type: 'tanh' },
        { type: 'conv2d', filters: 4, kernel: 3, padding: 2, dilation: 2, groups: 2 },
        { type: 'leakyrelu', alpha: 0.2 },
        { type: 'maxpool', size: 2 },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 'same' }, { type: 'sigmoid' }] },
        { type: 'concat', branches: [[{ type: 'conv2d', filters: 2, kernel: 1 }], [{ type: 'conv2d', filters: 3, kernel: 3, padding: 1, bias: false }]] },
        { type: 'lrn', size: 3, alpha: 0.5, beta: 0.75, bias: 1.5 },
        { type: 'avgpool', size: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 6 },
        { type: 'tanh' },
        { type: 'dense', units: 3 },
      ],
    },
    loss: { kind: 'cross-entropy' },
    x: { dtype: 'float32', dims: [5, 2, 9, 9], data: randn(5 * 162) },
    y: labels(5, 3),
  },
  {
    name: 'ReLU then max-pool (the mask is applied at the pooled resolution)',
    spec: {
      input: { shape: [1, 6, 6] },
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'conv2d', filters: 2, kernel: 3, padding: 1 },
        { type: 'relu' },
        { type: 'maxpool', size: 3 },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    loss: { kind: 'cross-entropy' },
    x: { dtype: 'float32', dims: [4, 1, 6, 6], data: randn(144) },
    y: labels(4, 3),
  },
  {
    name: 'transfer learning: a frozen batch norm (inference form) between trained layers',
    spec: {
      input: { shape: [2, 5, 5] },
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
        { type: 'batchnorm' },
        { type: 'tanh' },
        { type: 'conv2d', filters: 2, kernel: 3 },
        { type: 'tanh' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    freeze: ['batchnorm_0'], // conv2d_0's gradient passes through the frozen batch norm
    loss: { kind: 'cross-entropy' },
    x: { dtype: 'float32', dims: [3, 2, 5, 5], data: randn(150) },
    y: labels(3, 3),
  },
  {
    name: 'text: embedding, conv1d, global max pool, dense',
    spec: {
      input: { shape: [10], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 20, dim: 5 },
        { type: 'conv1d', filters: 6, kernel: 3 },
        { type: 'tanh' },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 4 },
      ],
    },
    loss: { kind: 'cross-entropy' },
    x: { dtype: 'int64', dims: [4, 10], data: BigInt64Array.from({ length: 40 }, () => BigInt(Math.floor(rng() * 20))) },
    y: labels(4, 4),
  },
  {
    name: 'regression: dense, global average pool, multi-task MAE with missing values',
    spec: {
      input: { shape: [3, 4] },
      layers: [{ type: 'conv1d', filters: 5, kernel: 1 }, { type: 'sigmoid' }, { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'dense', units: 3 }],
    },
    loss: { kind: 'multitask-mae', weights: [1, 0.5, 2] },
    x: { dtype: 'float32', dims: [6, 3, 4], data: randn(72) },
    y: { dtype: 'float32', dims: [6, 3], data: randn(18) },
    mask: { dtype: 'float32', dims: [6, 3], data: Float32Array.from({ length: 18 }, (_, i) => (i % 4 === 1 ? 0 : 1)) },
  },
  {
    name: 'regression: dense, batch norm on features, MSE',
    spec: { input: { shape: [7] }, layers: [{ type: 'dense', units: 5, bias: false }, { type: 'batchnorm' }, { type: 'tanh' }, { type: 'dense', units: 2 }] },
    loss: { kind: 'mse' },
    x: { dtype: 'float32', dims: [4, 7], data: randn(28) },
    y: { dtype: 'float32', dims: [4, 2], data: randn(8) },
  },
];

describe('training-step gradients', () => {
  for (const c of cases) {
    it(c.name, async () => {
      // Plain SGD with lr = 1 and no momentum: the update is p − ∇p, so gradients can be read off.
      const params = initParams(c.spec, 3);
      const built = buildGraph(c.spec, 'train', { loss: c.loss, optimizer: { kind: 'sgd', momentum: 0 }, frozen: c.freeze, values: params });
      const session = await ort.InferenceSession.create(encodeModel(built.graph));
      const tensor = (t: TensorData) =>
        t.dtype === 'int64' ? new ort.Tensor('int64', t.data as BigInt64Array, t.dims) : new ort.Tensor('float32', t.data as Float32Array, t.dims);
      const run = async (ps: Map<string, TensorData>, lr: number) => {
        const feeds: Record<string, ort.Tensor> = { input: tensor(c.x), labels: tensor(c.y), lr: new ort.Tensor('float32', new Float32Array([lr]), []) };
        if (c.mask) feeds.mask = tensor(c.mask);
        for (const p of built.params) if (!p.frozen) feeds[p.name] = tensor(ps.get(p.name)!);
        return session.run(feeds);
      };
      const out = await run(params, 1);
      const trainable = built.params.filter((p) => !p.buffer && !p.frozen);
      if (c.freeze) expect(built.params.filter((p) => p.frozen).length).toBe(4);
      expect(trainable.length).toBeGreaterThan(2);
      for (const p of trainable) {
        const before = params.get(p.name)!.data as Float32Array;
        const after = out[built.updated!.get(p.name)!]!.data as Float32Array;
        const grad = before.map((v, i) => v - after[i]!);
        const norm = Math.hypot(...grad);
        expect(norm, `${p.name} has a zero gradient`).toBeGreaterThan(0);
        // Directional finite difference along the gradient: (L(p + hv) − L(p − hv)) / 2h = ‖∇p‖.
        const h = 1e-3;
        const shifted = async (sign: number) => {
          const ps = new Map(params);
          ps.set(p.name, { dtype: 'float32', dims: p.dims, data: before.map((v, i) => v + (sign * h * grad[i]!) / norm) });
          return ((await run(ps, 0))[built.loss!]!.data as Float32Array)[0]!;
        };
        const fd = ((await shifted(1)) - (await shifted(-1))) / (2 * h);
        expect(Math.abs(fd - norm) / norm, `${p.name}: finite difference ${fd} vs gradient norm ${norm}`).toBeLessThan(2e-2);
      }
      // Running statistics move toward the batch statistics.
      for (const b of built.params.filter((q) => q.buffer && !q.frozen)) {
        const upd = out[built.updated!.get(b.name)!]!.data as Float32Array;
        expect(upd.length).toBe(numel(b.dims));
        expect(upd.some((v, i) => v !== (params.get(b.name)!.data as Float32Array)[i])).toBe(true);
      }
      await session.release();
    });
  }
});

describe('blocked (NCHWc) convolutions in training graphs', () => {
  it('give the same loss, logits and updates as plain Conv (strides, dilation, small first layer)', async () => {
    const { nchwcBlockSize } = await import('../src/core/train/nchwc.js');
    const B = await nchwcBlockSize();
    // This ONNX Runtime build has the NCHWc kernels on x86-64 (block 8 with AVX2, 16 with AVX-512).
    expect(B, 'no NCHWc kernels found: the fast path would be silently off').toBeGreaterThan(0);
    const spec: ModelSpec = {
      input: { shape: [3, 12, 12] },
      layers: [
        { type: 'conv2d', filters: 16, kernel: 3, padding: 1 }, // 3 input channels: read as NCHW
        { type: 'relu' },
        { type: 'conv2d', filters: 16, kernel: 3, padding: 1, stride: 2 },
        { type: 'relu' },
        { type: 'conv2d', filters: 32, kernel: 3, padding: 2, dilation: 2 },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 5 },
      ],
    };
    const params = initParams(spec, 7);
    const x = { dtype: 'float32' as const, dims: [6, 3, 12, 12], data: randn(6 * 3 * 144) };
    const y = labels(6, 5);
    const step = async (nchwcBlock: number) => {
      const built = buildGraph(spec, 'train', { optimizer: { kind: 'sgd', momentum: 0 }, values: params, nchwcBlock });
      const ops = built.graph.nodes.filter((n) => n.domain === 'com.microsoft.nchwc').length;
      const session = await ort.InferenceSession.create(encodeModel(built.graph), { logSeverityLevel: 4 });
      const feeds: Record<string, ort.Tensor> = {
        input: new ort.Tensor('float32', x.data, x.dims),
        labels: new ort.Tensor('int64', y.data as BigInt64Array, y.dims),
        lr: new ort.Tensor('float32', new Float32Array([1]), []),
      };
      for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!.data as Float32Array, p.dims);
      const out = await session.run(feeds);
      await session.release();
      return {
        ops,
        loss: (out[built.loss!]!.data as Float32Array)[0]!,
        logits: out[built.output]!.data as Float32Array,
        updated: built.params.map((p) => out[built.updated!.get(p.name)!]!.data as Float32Array),
      };
    };
    const plain = await step(0);
    const blocked = await step(B);
    expect(plain.ops).toBe(0);
    // Forward: the first conv reads NCHW (Conv + ReorderOutput), the strided one reorders in and
    // out, conv → relu → maxpool stays blocked (ReorderInput, Conv with the ReLU, MaxPool,
    // ReorderOutput). Backward: that pool's first winners (ReorderInput, 3 Upsample, MaxPool,
    // ReorderOutput) and the dilated conv's input gradient (a blocked stride-1 Conv read from the
    // blocked gradient + ReorderOutput); the strided conv's is a ConvTranspose.
    expect(blocked.ops).toBe(2 + 3 + 4 + 6 + 2);
    expect(blocked.loss).toBeCloseTo(plain.loss, 5);
    const rel = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]!)) / Math.hypot(...b);
    expect(rel(blocked.logits, plain.logits)).toBeLessThan(1e-5);
    plain.updated.forEach((u, i) => expect(rel(blocked.updated[i]!, u)).toBeLessThan(1e-5));
  });
});

describe('blocked max pool: tied maxima (one convention everywhere)', () => {
  it('give the window gradient to the first maximum, as the plain max pool does: on a zero input (every window tied)', async () => {
    const { nchwcBlockSize } = await import('../src/core/train/nchwc.js');
    const B = await nchwcBlockSize();
    expect(B).toBeGreaterThan(0);
    const layers = (pool: 'maxpool' | 'avgpool'): ModelSpec['layers'] => [
      { type: 'conv2d', filters: 16, kernel: 3, padding: 1 },
      { type: 'relu' },
      { type: pool, size: 2 },
      { type: 'flatten' },
      { type: 'dense', units: 3 },
    ];
    const maxSpec: ModelSpec = { input: { shape: [16, 4, 4] }, layers: layers('maxpool') };
    const avgSpec: ModelSpec = { input: { shape: [16, 4, 4] }, layers: layers('avgpool') };
    const params = initParams(maxSpec, 3);
    // Positive biases: on a zero input each channel's map is its bias everywhere, alive after the ReLU.
    (params.get('conv2d_0.bias')!.data as Float32Array).forEach((_, i, a) => (a[i] = 0.1 + 0.05 * i));
    const x = new Float32Array(2 * 16 * 16);
    const y = labels(2, 3);
    const step = async (spec: ModelSpec, nchwcBlock: number) => {
      const built = buildGraph(spec, 'train', { optimizer: { kind: 'sgd', momentum: 0 }, nchwcBlock, inputGradient: true });
      const session = await ort.InferenceSession.create(encodeModel(built.graph), { logSeverityLevel: 4 });
      const feeds: Record<string, ort.Tensor> = {
        input: new ort.Tensor('float32', x, [2, 16, 4, 4]),
        labels: new ort.Tensor('int64', y.data as BigInt64Array, y.dims),
        lr: new ort.Tensor('float32', new Float32Array([1]), []),
      };
      for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!.data as Float32Array, p.dims);
      const out = await session.run(feeds);
      await session.release();
      return {
        blockedOps: built.graph.nodes.filter((n) => n.op === 'MaxPool' && n.domain === 'com.microsoft.nchwc').length,
        dx: out[built.inputGrad!]!.data as Float32Array,
        updated: built.params.map((p) => out[built.updated!.get(p.name)!]!.data as Float32Array),
      };
    };
    const rel = (a: Float32Array, b: Float32Array) => Math.hypot(...a.map((v, i) => v - b[i]!)) / Math.hypot(...b);
    const blockedMax = await step(maxSpec, B);
    const avg = await step(avgSpec, 0);
    const firstWinner = await step(maxSpec, 0);
    expect(blockedMax.blockedOps).toBe(2); // the forward pool and the backward's first-winner pick
    expect(Math.hypot(...firstWinner.dx)).toBeGreaterThan(0);
    expect(rel(blockedMax.dx, firstWinner.dx)).toBeLessThan(1e-5);
    firstWinner.updated.forEach((u, i) => expect(rel(blockedMax.updated[i]!, u)).toBeLessThan(1e-5));
    // Sharing tied maxima (an average pool here) would give another gradient: the check can fail.
    expect(rel(blockedMax.dx, avg.dx)).toBeGreaterThan(0.1);
  });
});
