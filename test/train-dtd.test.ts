/**
 * Deep Taylor networks in the trainer: biases declared "nonpositive" stay ≤ 0 through training
 * (a projection inside the training step), and sum pooling sums.
 */
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import { rngFor } from '../src/core/math/rng.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import { checkSpec, type ModelSpec } from '../src/core/train/spec.js';
import { Trainer, type Dataset } from '../src/core/train/trainer.js';

/** Inputs in [0, 1] and targets far above what zero biases give: training pushes biases up. */
function data(n: number, seed: number): Dataset {
  const rng = rngFor('test', seed);
  const x = Float32Array.from({ length: n * 5 }, () => rng());
  const y = Float32Array.from({ length: n }, () => 20);
  return { x: { dtype: 'float32', dims: [n, 5], data: x }, y: { dtype: 'float32', dims: [n, 1], data: y } };
}

const net = (bias: true | 'nonpositive'): ModelSpec => ({
  input: { shape: [5] },
  layers: [{ type: 'dense', units: 6, bias }, { type: 'relu' }, { type: 'sumpool', size: 6 }],
});

const biases = (t: Trainer) => Array.from(t.params.get('dense_0.bias')!.data as Float32Array);

describe('deep Taylor networks: non-positive biases and sum pooling', () => {
  it('biases declared non-positive stay ≤ 0 after every step, where free ones turn positive', async () => {
    const opts = { epochs: 3, batchSize: 8, lr: 0.05, seed: 3, threads: 1, loss: { kind: 'mse' } as const };
    const free = new Trainer(net(true), opts);
    await free.fit(data(32, 1));
    // The same problem without the constraint drives biases above zero: the check below can fail.
    expect(Math.max(...biases(free))).toBeGreaterThan(0.1);
    const seen: number[][] = [];
    const kept: Trainer = new Trainer(net('nonpositive'), { ...opts, onStep: () => seen.push(biases(kept)) });
    await kept.fit(data(32, 1));
    expect(seen.length).toBe(12);
    for (const b of seen) expect(Math.max(...b)).toBeLessThanOrEqual(0);
    // The projection is active (some bias sits on the bound) and the weights still learned.
    expect(biases(kept).some((v) => v === 0)).toBe(true);
    const loss0 = (await new Trainer(net('nonpositive'), opts).evaluate(data(32, 1))).loss;
    expect((await kept.evaluate(data(32, 1))).loss).toBeLessThan(loss0 / 2);
  });

  it('the training step projects a positive bias it is given back to ≤ 0 (Min in the graph)', async () => {
    const spec = net('nonpositive');
    const built = buildGraph(spec, 'train', { loss: { kind: 'mse' }, optimizer: { kind: 'sgd', momentum: 0 } });
    const s = await ort.InferenceSession.create(encodeModel(built.graph));
    const p = initParams(spec, 1);
    const b0 = Float32Array.from([0.5, -0.5, 2, -2, 0, 1]);
    const d = data(4, 2);
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', d.x.data as Float32Array, d.x.dims),
      labels: new ort.Tensor('float32', d.y.data as Float32Array, d.y.dims),
      lr: new ort.Tensor('float32', new Float32Array([0]), []),
      'dense_0.weight': new ort.Tensor('float32', p.get('dense_0.weight')!.data as Float32Array, [5, 6]),
      'dense_0.bias': new ort.Tensor('float32', b0, [6]),
    };
    const out = await s.run(feeds);
    // lr = 0: the step leaves every value where it was, then projects onto b ≤ 0.
    expect(Array.from(out[built.updated!.get('dense_0.bias')!]!.data as Float32Array)).toEqual([0, -0.5, 0, -2, 0, 0]);
    await s.release();
  });

  it('sum pooling sums groups of features and windows of a map', async () => {
    const flat = buildGraph(net(true), 'infer', { values: new Map([...initParams(net(true), 1)]) });
    const s = await ort.InferenceSession.create(encodeModel(flat.graph));
    const d = data(3, 4);
    const logits = (await s.run({ input: new ort.Tensor('float32', d.x.data as Float32Array, d.x.dims) })).logits!.data as Float32Array;
    const p = initParams(net(true), 1);
    const W = p.get('dense_0.weight')!.data as Float32Array;
    const x = d.x.data as Float32Array;
    for (let n = 0; n < 3; n++) {
      let f = 0;
      for (let j = 0; j < 6; j++)
        f += Math.max(
          0,
          [0, 1, 2, 3, 4].reduce((a, i) => a + x[n * 5 + i]! * W[i * 6 + j]!, 0),
        );
      expect(logits[n]).toBeCloseTo(f, 5);
    }
    await s.release();
    const spatial: ModelSpec = { input: { shape: [1, 3, 4] }, layers: [{ type: 'sumpool', size: 2 }] };
    const s2 = await ort.InferenceSession.create(encodeModel(buildGraph(spatial, 'infer', { values: new Map() }).graph));
    const xs = Float32Array.from({ length: 12 }, (_, i) => i + 1);
    const y = (await s2.run({ input: new ort.Tensor('float32', xs, [1, 1, 3, 4]) })).logits!;
    expect(y.dims).toEqual([1, 1, 1, 2]);
    expect(Array.from(y.data as Float32Array)).toEqual([1 + 2 + 5 + 6, 3 + 4 + 7 + 8]);
    await s2.release();
  });

  it('rejects a bias setting other than true, false or "nonpositive", and groups that do not divide', () => {
    expect(() => checkSpec({ input: { shape: [4] }, layers: [{ type: 'dense', units: 2, bias: 'negative' }] })).toThrow(
      /"bias" must be true, false or "nonpositive"/,
    );
    expect(() => buildGraph({ input: { shape: [5] }, layers: [{ type: 'sumpool', size: 2 }] }, 'eval')).toThrow(/5 features do not split into groups of 2/);
  });
});
