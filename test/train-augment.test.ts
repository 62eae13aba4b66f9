/** The trainer's augmentation hook: each step's inputs come from it (fresh per presentation), checked for shape. */
import { describe, expect, it } from 'vitest';
import type { TensorData } from '../src/core/onnx/tensor.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { Trainer, type Dataset } from '../src/core/train/trainer.js';

// No bias: on all-zero inputs every gradient is zero, so only augmented inputs can move the weights.
const spec: ModelSpec = { input: { shape: [3] }, layers: [{ type: 'dense', units: 2, bias: false }] };
const N = 10;
const zeros: Dataset = {
  x: { dtype: 'float32', dims: [N, 3], data: new Float32Array(N * 3) },
  y: { dtype: 'float32', dims: [N, 2], data: Float32Array.from({ length: N * 2 }, (_, i) => (i % 3) - 1) },
};

describe('trainer augmentation hook', () => {
  it('feeds the hook’s inputs at every step, with the rows and epoch of that step', async () => {
    const calls: { rows: number[]; epoch: number; step: number }[] = [];
    const augment = (idx: Int32Array, epoch: number, step: number): TensorData => {
      calls.push({ rows: [...idx], epoch, step });
      return { dtype: 'float32', dims: [idx.length, 3], data: Float32Array.from({ length: idx.length * 3 }, (_, i) => 1 + idx[Math.floor(i / 3)]! * 0.1) };
    };
    const plain = new Trainer(spec, { epochs: 2, batchSize: 4, lr: 0.05, loss: { kind: 'mse' }, optimizer: { kind: 'sgd', momentum: 0 }, threads: 1 });
    const w0 = Float32Array.from(plain.params.get('dense_0.weight')!.data as Float32Array);
    await plain.fit(zeros);
    expect([...(plain.params.get('dense_0.weight')!.data as Float32Array)]).toEqual([...w0]);
    const t = new Trainer(spec, { epochs: 2, batchSize: 4, lr: 0.05, loss: { kind: 'mse' }, optimizer: { kind: 'sgd', momentum: 0 }, threads: 1, augment });
    await t.fit(zeros);
    // 3 steps per epoch (4 + 4 + 2 rows), each epoch covering every row once.
    expect(calls.map((c) => [c.epoch, c.step])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    for (const e of [0, 1])
      expect(
        calls
          .filter((c) => c.epoch === e)
          .flatMap((c) => c.rows)
          .sort((a, b) => a - b),
      ).toEqual([...Array(N).keys()]);
    const w = t.params.get('dense_0.weight')!.data as Float32Array;
    expect(Math.max(...w.map((v, i) => Math.abs(v - w0[i]!)))).toBeGreaterThan(1e-3);
  });

  it('rejects an augmented batch of the wrong shape', async () => {
    const t = new Trainer(spec, {
      epochs: 1,
      batchSize: 4,
      lr: 0.05,
      loss: { kind: 'mse' },
      threads: 1,
      augment: (idx) => ({ dtype: 'float32', dims: [idx.length, 4], data: new Float32Array(idx.length * 4) }),
    });
    await expect(t.fit(zeros)).rejects.toThrow(/augmented batch has shape \[4,4\], the training step expects \[4,3\]/);
  });
});
