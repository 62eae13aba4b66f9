/** The Explainer API beyond single fixture cases: layer relevances, audit, targets, methods driven from JS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Explainer } from '../src/node/api.js';
import { auditReport } from '../src/core/explain/audit.js';
import { readNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { relL2 } from './helpers/fixtures.js';

const MODEL = join(import.meta.dirname, '..', 'models', 'fmnist-cnn.onnx');
const x = readNpy(readFileSync(join(import.meta.dirname, '..', 'models', 'samples', 'samples.npy')));
const sum = (t: TensorData, i: number, n: number) => {
  const per = t.data.length / n;
  let s = 0;
  for (let k = i * per; k < (i + 1) * per; k++) s += (t.data as Float32Array)[k]!;
  return s;
};

describe('Explainer API', () => {
  it('returns the relevance at every layer, consistent with the audit', async () => {
    const ex = await Explainer.create(MODEL, { composite: 'epsilon-plus', layerRelevance: true, audit: true });
    const r = await ex.explain(x, { target: 'predicted' });
    const N = x.dims[0]!;
    // Layer names come from the bundled model; the audit lists layers in graph order.
    const names = r.audit!.map((a) => a.name);
    const last = r.layers![names[names.length - 1]!]!;
    expect(last.dims).toEqual([N, 10]);
    for (let i = 0; i < N; i++) {
      // The seed: the target logit at the target's position, zero elsewhere.
      const row = (last.data as Float32Array).subarray(i * 10, i * 10 + 10);
      const t = r.targets[i]!;
      expect(row[t]).toBeCloseTo((r.logits.data as Float32Array)[i * 10 + t]!, 5);
      expect(row.filter((_, k) => k !== t).every((v) => v === 0)).toBe(true);
      expect(r.targets[i]).toBe(r.predicted[i]);
    }
    for (const row of r.audit!) {
      const layer = r.layers![row.name]!;
      for (let i = 0; i < N; i++) expect(row.relevanceOut[i]).toBeCloseTo(sum(layer, i, N), 3);
    }
    const rep = auditReport(r);
    expect(rep.lines.map((l) => l.op)).toContain('Conv');
    // The input relevance is what the first layer passes on.
    const first = r.audit![0]!;
    for (let i = 0; i < N; i++) expect(first.relevanceIn[i]).toBeCloseTo(sum(r.relevance, i, N), 3);
    await ex.release();
  });

  it('integrated gradients equals x times the mean gradient along the straight path', async () => {
    const one: TensorData = { dtype: 'float32', dims: [1, 1, 28, 28], data: (x.data as Float32Array).slice(0, 784) };
    const ig = await Explainer.create(MODEL, { method: 'integrated-gradients', steps: 8 });
    const grad = await Explainer.create(MODEL, { method: 'gradient' });
    const r = await ig.explain(one, { target: 3 });
    const mean = new Float64Array(784);
    for (let k = 1; k <= 8; k++) {
      const scaled: TensorData = { ...one, data: (one.data as Float32Array).map((v) => (v * k) / 8) };
      const g = await grad.explain(scaled, { target: 3 });
      for (let i = 0; i < 784; i++) mean[i]! += (g.relevance.data as Float32Array)[i]! / 8;
    }
    const expected = mean.map((v, i) => v * (one.data as Float32Array)[i]!);
    expect(relL2(r.relevance.data as Float32Array, expected)).toBeLessThan(1e-5);
  });

  it('smoothgrad repeats exactly with a seed and changes with another', async () => {
    const a = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 1 })).explain(x, { target: 0 });
    const b = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 1 })).explain(x, { target: 0 });
    const c = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 2 })).explain(x, { target: 0 });
    expect(Array.from(a.relevance.data as Float32Array)).toEqual(Array.from(b.relevance.data as Float32Array));
    expect(relL2(a.relevance.data as Float32Array, c.relevance.data as Float32Array)).toBeGreaterThan(1e-3);
  });

  it('checks targets and inputs', async () => {
    const ex = await Explainer.create(MODEL, {});
    await expect(ex.explain(x, { target: [1, 2] })).rejects.toThrow(/2 targets given for 8 samples/);
    await expect(ex.explain(x, { target: -1 })).rejects.toThrow(/out of range/);
    await expect(ex.explain({ dtype: 'int64', dims: [1, 1, 28, 28], data: new BigInt64Array(784) })).rejects.toThrow(/reads float32/);
    const r = await ex.explain(x, { target: 4 });
    expect(r.targets).toEqual(new Array(8).fill(4));
  });
});

describe('local response normalisation', () => {
  it('the gradient through LRN matches finite differences; LRP passes relevance through it', async () => {
    const { buildGraph, initParams } = await import('../src/core/train/graph.js');
    const { rngFor } = await import('../src/core/math/rng.js');
    const { encodeModel } = await import('../src/core/onnx/model.js');
    const spec = {
      input: { shape: [3, 5, 5] },
      layers: [
        { type: 'conv2d' as const, filters: 6, kernel: 3, padding: 1 },
        { type: 'lrn' as const, size: 5, alpha: 0.8, beta: 0.75, bias: 1 },
        { type: 'tanh' as const },
        { type: 'flatten' as const },
        { type: 'dense' as const, units: 4 },
      ],
    };
    const model = encodeModel(buildGraph(spec, 'infer', { values: initParams(spec, 1) }).graph);
    const rng = rngFor('test', 3);
    const x: TensorData = { dtype: 'float32', dims: [1, 3, 5, 5], data: Float32Array.from({ length: 75 }, () => rng() * 2 - 1) };
    const grad = await Explainer.create(model, { method: 'gradient' });
    const g = (await grad.explain(x, { target: 2 })).relevance.data as Float32Array;
    const norm = Math.hypot(...g);
    const h = 1e-3;
    const logit = async (sign: number) => {
      const xs: TensorData = { ...x, data: (x.data as Float32Array).map((v, i) => v + (sign * h * g[i]!) / norm) };
      return ((await grad.explain(xs, { target: 2 })).logits.data as Float32Array)[2]!;
    };
    const fd = ((await logit(1)) - (await logit(-1))) / (2 * h);
    expect(Math.abs(fd - norm) / norm).toBeLessThan(1e-2);
    const lrp = await Explainer.create(model, { rule: 'epsilon', lrn: 'identity', layerRelevance: true });
    const r = await lrp.explain(x, { target: 2 });
    const names = Object.keys(r.layers!);
    const lrnName = names.find((n) => n.startsWith('lrn'))!;
    const convName = names.find((n) => n.startsWith('conv'))!;
    // Identity treatment: the relevance at the conv output (the LRN input) equals that at the LRN output.
    expect(Array.from(r.layers![convName]!.data as Float32Array)).toEqual(Array.from(r.layers![lrnName]!.data as Float32Array));
  });
});

describe('smoothgrad noise', () => {
  it('depends on the sample and its index, not on how the batch is chunked', async () => {
    const big = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 3, batchSize: 64 })).explain(x, { target: 1 });
    const small = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 3, batchSize: 4 })).explain(x, { target: 1 });
    expect(Array.from(small.relevance.data as Float32Array)).toEqual(Array.from(big.relevance.data as Float32Array));
    const first: TensorData = { dtype: 'float32', dims: [1, 1, 28, 28], data: (x.data as Float32Array).slice(0, 784) };
    const alone = await (await Explainer.create(MODEL, { method: 'smoothgrad', samples: 4, seed: 3 })).explain(first, { target: 1 });
    expect(relL2((big.relevance.data as Float32Array).subarray(0, 784), alone.relevance.data as Float32Array)).toBeLessThan(1e-6);
  });
});
