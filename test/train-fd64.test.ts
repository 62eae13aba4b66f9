/**
 * Every weight gradient of the training-step graph (float32, ONNX Runtime), and every input
 * gradient (float inputs), against central finite differences of an independent float64 forward
 * pass in TypeScript (test/reference/train64.ts).
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import { rngFor } from '../src/core/math/rng.js';
import { nchwcBlockSize } from '../src/core/train/nchwc.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { forward64, loss64 } from './reference/train64.js';

const rng = rngFor('test', 77);
const randn = (n: number) => Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(Math.max(rng(), 1e-12))) * Math.cos(2 * Math.PI * rng()));

/** dL/dv[i] by central differences (h = 1e-6) in float64; v is restored. */
function centralDifference(L: () => number, v: Float64Array, i: number): number {
  const h = 1e-6;
  const v0 = v[i]!;
  v[i] = v0 + h;
  const up = L();
  v[i] = v0 - h;
  const down = L();
  v[i] = v0;
  return (up - down) / (2 * h);
}

interface Case {
  name: string;
  spec: ModelSpec;
  x: TensorData;
  labels?: number[];
  values?: Float32Array;
  /** Multi-task MSE: 1 where a target is present (values then has one row of K per sample). */
  mask?: Float32Array;
  weights?: number[];
}

const cases: Case[] = [
  {
    name: 'image model: strided/dilated/grouped conv, batch norm, pools, residual, concat, LRN, dense',
    spec: {
      input: { shape: [2, 8, 8] },
      normalize: { mean: 0.1, std: 0.9 },
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, padding: 1, stride: 2, bias: false },
        { type: 'batchnorm' },
        { type: 'tanh' },
        { type: 'conv2d', filters: 4, kernel: 3, padding: 2, dilation: 2, groups: 2 },
        { type: 'leakyrelu', alpha: 0.2 },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 'same' }, { type: 'sigmoid' }] },
        { type: 'concat', branches: [[{ type: 'conv2d', filters: 2, kernel: 1 }], [{ type: 'conv2d', filters: 3, kernel: 3, padding: 1, bias: false }]] },
        { type: 'lrn', size: 3, alpha: 0.5, beta: 0.75, bias: 1.5 },
        { type: 'maxpool', size: 2 },
        { type: 'avgpool', size: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 5 },
        { type: 'tanh' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'float32', dims: [4, 2, 8, 8], data: randn(4 * 128) },
    labels: [0, 2, 1, 2],
  },
  {
    // With ONNX Runtime's NCHWc kernels, conv → relu → maxpool runs in the blocked layout (first
    // block read from NCHW, second from the blocked output of the first).
    name: 'blocked conv → relu → max pool, twice (16 filters), then dense',
    spec: {
      input: { shape: [3, 8, 8] },
      layers: [
        { type: 'conv2d', filters: 16, kernel: 3, padding: 1 },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'conv2d', filters: 16, kernel: 3, padding: 1 },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'float32', dims: [2, 3, 8, 8], data: randn(2 * 192) },
    labels: [2, 0],
  },
  {
    name: 'ResNet-style: projection shortcut (strided 1×1 conv + batch norm) beside a strided body, then an identity block',
    spec: {
      input: { shape: [3, 6, 6] },
      layers: [
        { type: 'conv2d', filters: 4, kernel: 3, padding: 1 },
        { type: 'relu' },
        {
          type: 'residual',
          layers: [{ type: 'conv2d', filters: 6, kernel: 3, padding: 1, stride: 2 }, { type: 'tanh' }, { type: 'conv2d', filters: 6, kernel: 3, padding: 1 }],
          shortcut: [{ type: 'conv2d', filters: 6, kernel: 1, stride: 2, bias: false }, { type: 'batchnorm' }],
        },
        { type: 'tanh' },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 6, kernel: 3, padding: 'same' }, { type: 'sigmoid' }] },
        { type: 'globalavgpool' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'float32', dims: [4, 3, 6, 6], data: randn(4 * 108) },
    labels: [2, 0, 1, 1],
  },
  {
    name: 'many input channels (the weight gradient by Gather or by Slices), a padded overlapping average pool',
    spec: {
      input: { shape: [8, 5, 5] },
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
        { type: 'tanh' },
        { type: 'avgpool', size: 3, stride: 1, padding: 1 },
        { type: 'conv2d', filters: 2, kernel: 3, stride: 2 },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'float32', dims: [3, 8, 5, 5], data: randn(3 * 200) },
    labels: [1, 2, 0],
  },
  {
    // On one thread, a map of ≥ 128 positions takes per-sample products for the weight gradient
    // (compared below with the multi-thread graph, which these finite differences check).
    name: 'larger map: 8 input channels on 12×12',
    spec: {
      input: { shape: [8, 12, 12] },
      layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 1 }, { type: 'tanh' }, { type: 'flatten' }, { type: 'dense', units: 2 }],
    },
    // Small inputs keep the logits (dense fan-out 2) away from saturation.
    x: { dtype: 'float32', dims: [2, 8, 12, 12], data: randn(2 * 8 * 144).map((v) => 0.05 * v) },
    labels: [1, 0],
  },
  {
    // Length unknown in the spec: the weight gradients slice the patches instead of gathering them.
    name: 'text model of any length: wider embedding, dilated conv1d, global max pool',
    spec: {
      input: { shape: [null], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 9, dim: 6 },
        { type: 'conv1d', filters: 4, kernel: 2, dilation: 2, padding: 1 },
        { type: 'tanh' },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'int64', dims: [2, 6], data: BigInt64Array.from([1, 2, 3, 4, 0, 5, 6, 7, 8, 2, 1, 3].map(BigInt)) },
    labels: [1, 2],
  },
  {
    name: 'text model: embedding with a padding row, conv1d, global max pool',
    spec: {
      input: { shape: [7], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 9, dim: 3, padId: 0 },
        { type: 'conv1d', filters: 4, kernel: 2 },
        { type: 'tanh' },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'int64', dims: [3, 7], data: BigInt64Array.from([1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 2, 1, 0, 3, 3, 4, 8, 7, 6, 5].map(BigInt)) },
    labels: [1, 0, 2],
  },
  {
    name: 'regression: conv1d, global average pool, MSE',
    spec: {
      input: { shape: [3, 5] },
      layers: [
        { type: 'conv1d', filters: 4, kernel: 3, padding: 1 },
        { type: 'sigmoid' },
        { type: 'globalavgpool' },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    },
    x: { dtype: 'float32', dims: [4, 3, 5], data: randn(60) },
    values: randn(8),
  },
  {
    // Deep Taylor's detection network: ReLU detectors with biases kept ≤ 0, summed in groups.
    name: 'detection + sum pooling: dense with a non-positive bias, relu, sums of feature groups, MSE',
    spec: {
      input: { shape: [6] },
      layers: [{ type: 'dense', units: 8, bias: 'nonpositive' }, { type: 'relu' }, { type: 'sumpool', size: 4 }],
    },
    x: { dtype: 'float32', dims: [4, 6], data: randn(24) },
    values: randn(8),
  },
  {
    name: 'conv detectors with non-positive biases, spatial sum pooling (overlapping windows), dense, MSE',
    spec: {
      input: { shape: [2, 6, 6] },
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3, bias: 'nonpositive' },
        { type: 'relu' },
        { type: 'sumpool', size: 2, stride: 1 },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    },
    x: { dtype: 'float32', dims: [3, 2, 6, 6], data: randn(3 * 72) },
    values: randn(6),
  },
  {
    // The "quantum machine" network in miniature: scaled tanh 1.5·tanh(x/1.5), several outputs,
    // a target missing for some molecules (mask 0), weighted tasks.
    name: 'multi-task regression: dense, scaled tanh, masked multi-task MSE',
    spec: {
      input: { shape: [5] },
      layers: [
        { type: 'dense', units: 6 },
        { type: 'tanh', scale: 1.5 },
        { type: 'dense', units: 4 },
        { type: 'tanh', scale: 1.5 },
        { type: 'dense', units: 3 },
      ],
    },
    x: { dtype: 'float32', dims: [4, 5], data: randn(20) },
    values: randn(12),
    mask: Float32Array.from([1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0]),
    weights: [1, 0.5, 2],
  },
];

describe('training gradients vs float64 finite differences', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const loss = c.labels
        ? ({ kind: 'cross-entropy' } as const)
        : c.mask
          ? ({ kind: 'multitask-mse', weights: c.weights } as const)
          : ({ kind: 'mse' } as const);
      const K = c.values ? c.values.length / c.x.dims[0]! : 0;
      const floatInput = c.x.dtype === 'float32';
      // Checked against finite differences: the graph as trained on several threads with ONNX
      // Runtime's blocked kernels (one Gather + product per weight gradient, blocked pools).
      const built = buildGraph(c.spec, 'train', {
        loss,
        optimizer: { kind: 'sgd', momentum: 0 },
        inputGradient: floatInput,
        nchwcBlock: await nchwcBlockSize(),
        threads: 2,
      });
      const session = await ort.InferenceSession.create(encodeModel(built.graph));
      const params = initParams(c.spec, 5);
      // Biases kept ≤ 0 start below zero, where most steps stay unprojected and show the gradient.
      for (const p of built.params.filter((q) => q.nonPositive))
        (params.get(p.name)!.data as Float32Array).forEach((_, i, b) => (b[i] = -Math.abs(randn(1)[0]!)));
      const feeds: Record<string, ort.Tensor> = {
        input:
          c.x.dtype === 'int64' ? new ort.Tensor('int64', c.x.data as BigInt64Array, c.x.dims) : new ort.Tensor('float32', c.x.data as Float32Array, c.x.dims),
        labels: c.labels
          ? new ort.Tensor('int64', BigInt64Array.from(c.labels.map(BigInt)), [c.labels.length])
          : new ort.Tensor('float32', c.values!, [c.x.dims[0]!, K]),
        lr: new ort.Tensor('float32', new Float32Array([1]), []),
      };
      if (c.mask) feeds.mask = new ort.Tensor('float32', c.mask, [c.x.dims[0]!, K]);
      for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!.data as Float32Array, p.dims);
      const out = await session.run(feeds);
      // float64 copies of the same (float32) parameters and inputs.
      const p64 = new Map([...params].map(([k, t]) => [k, Float64Array.from(t.data as Float32Array)]));
      const input =
        c.x.dtype === 'int64'
          ? { dims: c.x.dims, ids: Array.from(c.x.data as BigInt64Array, Number) }
          : { dims: c.x.dims, data: Float64Array.from(c.x.data as Float32Array) };
      const target = c.labels
        ? { labels: c.labels }
        : c.mask
          ? { values: Float64Array.from(c.values!), mask: Float64Array.from(c.mask), weights: c.weights }
          : { values: Float64Array.from(c.values!) };
      const L = () => loss64(forward64(c.spec, p64, input), target);
      expect(Math.abs(L() - (out[built.loss!]!.data as Float32Array)[0]!)).toBeLessThan(1e-5);
      // Updates are read as before − after in float32: a saturated loss would leave gradients
      // below float32's resolution of the weights and the comparison would test rounding.
      expect(L(), 'the case needs a loss that is not saturated (change its labels or data)').toBeGreaterThan(1e-3);
      let checked = 0;
      let unprojected = 0;
      for (const p of built.params.filter((q) => !q.buffer)) {
        const before = params.get(p.name)!.data as Float32Array;
        const after = out[built.updated!.get(p.name)!]!.data as Float32Array;
        const w = p64.get(p.name)!;
        let num = 0;
        let den = 0;
        // The padding row is deliberately never trained: its update is zero, not the true gradient.
        const padStart = p.padRow === undefined ? -1 : p.padRow * p.dims[1]!;
        const padEnd = p.padRow === undefined ? -1 : padStart + p.dims[1]!;
        for (let i = 0; i < w.length; i++) {
          if (i >= padStart && i < padEnd) {
            expect(before[i]! - after[i]!).toBe(0);
            continue;
          }
          // A bias kept ≤ 0 is projected after the step: before − min(before − lr·grad, 0), lr = 1.
          const fd = p.nonPositive ? before[i]! - Math.min(before[i]! - centralDifference(L, w, i), 0) : centralDifference(L, w, i);
          if (p.nonPositive && after[i]! < 0) unprojected++;
          const graph = before[i]! - after[i]!;
          num += (graph - fd) ** 2;
          den += fd * fd;
          checked++;
        }
        expect(Math.sqrt(num / Math.max(den, 1e-30)), `${p.name}`).toBeLessThan(1e-3);
      }
      expect(checked).toBeGreaterThan(30);
      if (built.params.some((q) => q.nonPositive)) expect(unprojected, 'steps of non-positive biases that show their gradient').toBeGreaterThan(1);
      if (floatInput) {
        // Every input element: dL/dx from the graph against central differences in float64.
        const xs = (input as { data: Float64Array }).data;
        const gx = out[built.inputGrad!]!.data as Float32Array;
        expect(gx.length).toBe(xs.length);
        let num = 0;
        let den = 0;
        for (let i = 0; i < xs.length; i++) {
          const fd = centralDifference(L, xs, i);
          num += (gx[i]! - fd) ** 2;
          den += fd * fd;
        }
        expect(den).toBeGreaterThan(0);
        expect(Math.sqrt(num / den), 'input gradient').toBeLessThan(1e-3);
      } else expect(built.inputGrad).toBeUndefined();
      // The single-thread graph with plain Conv computes the weight gradients with separate
      // products per kernel offset, and max pools with indices: the same updates.
      const single = buildGraph(c.spec, 'train', { loss, optimizer: { kind: 'sgd', momentum: 0 }, threads: 1, nchwcBlock: 0 });
      const s1 = await ort.InferenceSession.create(encodeModel(single.graph));
      const out1 = await s1.run(feeds);
      for (const p of built.params.filter((q) => !q.buffer)) {
        const a = out[built.updated!.get(p.name)!]!.data as Float32Array;
        const b = out1[single.updated!.get(p.name)!]!.data as Float32Array;
        expect(Math.hypot(...a.map((v, i) => v - b[i]!)) / Math.hypot(...a), p.name).toBeLessThan(1e-5);
      }
      await s1.release();
      await session.release();
    });
  }
});
