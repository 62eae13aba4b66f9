/**
 * Several training steps per session run (TrainOptions.stepsPerRun, train/chain.ts): the same
 * parameters, optimizer state, batch-norm statistics and per-step losses as one step per run,
 * for Adam and SGD with momentum, with weight decay, with the partial batch and the leftover full
 * batches of an epoch taking single steps, and across a checkpoint written by one and resumed by
 * the other.
 */
import { describe, expect, it } from 'vitest';
import { rngFor } from '../src/core/math/rng.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { memoryCheckpoints } from '../src/core/train/checkpoint-store.js';
import type { OptimizerSpec } from '../src/core/train/graph.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { type Dataset, Trainer, type TrainOptions } from '../src/core/train/trainer.js';

/** Three noisy classes in 5-D; 70 rows: with batch 8, eight full batches and one of 6. */
function classes(n: number, seed: number): Dataset {
  const rng = rngFor('steps', seed);
  const x = new Float32Array(n * 5);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = BigInt(c);
    for (let k = 0; k < 5; k++) x[i * 5 + k] = (k === c ? 1.5 : 0) + (rng() - 0.5) * 2;
  }
  return { x: { dtype: 'float32', dims: [n, 5], data: x }, y: { dtype: 'int64', dims: [n], data: y } };
}

/** Two regression targets with missing values (the masked multi-task loss). */
function targets(n: number, seed: number): Dataset {
  const rng = rngFor('steps-mse', seed);
  const x = Float32Array.from({ length: n * 5 }, () => rng() * 2 - 1);
  const y = new Float32Array(n * 2);
  const mask = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    y[i * 2] = x[i * 5]! - x[i * 5 + 1]!;
    y[i * 2 + 1] = x[i * 5 + 2]! * x[i * 5 + 3]!;
    mask[i * 2] = 1;
    mask[i * 2 + 1] = i % 4 === 0 ? 0 : 1;
  }
  return {
    x: { dtype: 'float32', dims: [n, 5], data: x },
    y: { dtype: 'float32', dims: [n, 2], data: y },
    mask: { dtype: 'float32', dims: [n, 2], data: mask },
  };
}

const mlp: ModelSpec = {
  input: { shape: [5] },
  layers: [
    { type: 'dense', units: 16 },
    { type: 'tanh', scale: 1.5 },
    { type: 'dense', units: 3 },
  ],
};
const bn: ModelSpec = {
  input: { shape: [5] },
  layers: [{ type: 'dense', units: 16 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 3 }],
};

interface Run {
  params: Map<string, TensorData>;
  losses: number[];
  steps: number[];
  trainLoss: number[];
  trainAccuracy: (number | undefined)[];
}

async function train(spec: ModelSpec, data: Dataset, o: Partial<TrainOptions> & { optimizer: OptimizerSpec }): Promise<Run> {
  const losses: number[] = [];
  const steps: number[] = [];
  const t = new Trainer(spec, {
    epochs: 3,
    batchSize: 8,
    lr: 0.02,
    seed: 3,
    threads: 1,
    ...o,
    // The epoch's running mean after each step: equal running means mean equal per-step losses.
    onStep: (s) => {
      losses.push(s.loss);
      steps.push(s.step);
    },
  });
  const hist = await t.fit(data);
  return { params: t.params, losses, steps, trainLoss: hist.map((h) => h.trainLoss), trainAccuracy: hist.map((h) => h.trainAccuracy) };
}

function expectSame(a: Run, b: Run) {
  expect(b.steps).toEqual(a.steps);
  b.losses.forEach((l, i) => expect(l, `step report ${i}`).toBeCloseTo(a.losses[i]!, 5));
  b.trainLoss.forEach((l, i) => expect(l).toBeCloseTo(a.trainLoss[i]!, 5));
  expect(b.trainAccuracy).toEqual(a.trainAccuracy);
  for (const [name, t] of a.params) {
    const u = b.params.get(name)!.data as Float32Array;
    const v = t.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(u[i]! - v[i]!) / (1e-3 + Math.abs(v[i]!)));
    expect(worst, name).toBeLessThan(1e-4);
  }
}

describe('several training steps per session run', () => {
  const cases: [string, ModelSpec, OptimizerSpec][] = [
    ['Adam with weight decay', mlp, { kind: 'adam', weightDecay: 0.05 }],
    ['SGD with momentum and weight decay', mlp, { kind: 'sgd', momentum: 0.9, weightDecay: 0.05 }],
    ['Adam, batch norm (running statistics carried from step to step)', bn, { kind: 'adam' }],
  ];
  for (const [what, spec, optimizer] of cases)
    it(`${what}: equals one step per run, the partial and leftover batches taking single steps`, async () => {
      const data = classes(70, 1);
      const single = await train(spec, data, { optimizer });
      // 9 batches per epoch: 4 + 4 chained, then the partial one alone; with 3: 3 + 3, then 2 full and the partial one alone.
      expect(single.steps.filter((s) => s === 9)).toHaveLength(3);
      for (const k of [4, 3]) expectSame(single, await train(spec, data, { optimizer, stepsPerRun: k }));
      // More steps per run than batches: all single steps.
      expectSame(single, await train(spec, data, { optimizer, stepsPerRun: 16 }));
    });

  it('the masked multi-task loss, with running means that differ from step to step', async () => {
    const data = targets(64, 2);
    const optimizer: OptimizerSpec = { kind: 'adam' };
    const spec: ModelSpec = { ...mlp, layers: [...mlp.layers.slice(0, -1), { type: 'dense', units: 2 }] };
    const single = await train(spec, data, { optimizer, loss: { kind: 'multitask-mse' } });
    const chained = await train(spec, data, { optimizer, loss: { kind: 'multitask-mse' }, stepsPerRun: 8 });
    expectSame(single, chained);
    // Each epoch's running mean changes from step to step: the chained run reports every step's own loss.
    expect(new Set(chained.losses.slice(0, 8)).size).toBe(8);
  });

  it('feeds the augmenter’s batches in the order single steps do, and copes with a hook that reuses its buffer', async () => {
    const data = classes(70, 3);
    const calls: string[] = [];
    const buffer = new Float32Array(8 * 5);
    const augment = (idx: Int32Array, epoch: number, step: number): TensorData => {
      calls.push(`${epoch}:${step}:${idx.join(',')}`);
      const x = buffer.subarray(0, idx.length * 5);
      idx.forEach((r, i) => {
        for (let k = 0; k < 5; k++) x[i * 5 + k] = (data.x.data as Float32Array)[r * 5 + k]! * (1 + 0.1 * Math.sin(epoch + step + k));
      });
      return { dtype: 'float32', dims: [idx.length, 5], data: x };
    };
    const single = await train(mlp, data, { optimizer: { kind: 'adam' }, augment });
    const singleCalls = calls.splice(0);
    const chained = await train(mlp, data, { optimizer: { kind: 'adam' }, augment, stepsPerRun: 4 });
    expect(calls).toEqual(singleCalls);
    expectSame(single, chained);
  });

  it('a checkpoint written with single steps resumes with chained ones, and the other way round', async () => {
    const data = classes(70, 4);
    const optimizer: OptimizerSpec = { kind: 'adam', weightDecay: 0.01 };
    const straight = await train(mlp, data, { optimizer, epochs: 4 });
    for (const [first, then] of [
      [1, 4],
      [4, 1],
    ] as const) {
      const store = memoryCheckpoints();
      await train(mlp, data, { optimizer, epochs: 2, checkpoints: store, stepsPerRun: first });
      const resumed = await train(mlp, data, { optimizer, epochs: 4, checkpoints: store, resume: true, stepsPerRun: then });
      for (const [name, t] of straight.params) {
        const u = resumed.params.get(name)!.data as Float32Array;
        (t.data as Float32Array).forEach((v, i) => expect(u[i]!, name).toBeCloseTo(v, 5));
      }
      expect(resumed.trainLoss.map((l) => l.toFixed(5))).toEqual(straight.trainLoss.map((l) => l.toFixed(5)));
    }
  });

  it('names the step whose loss is not finite', async () => {
    const good = classes(32, 5);
    const x = Float32Array.from(good.x.data as Float32Array);
    // Row 0 overflows the first layer: the step whose batch holds it fails.
    x.set([3e38, -3e38, 3e38, -3e38, 3e38], 0);
    const bad: Dataset = { ...good, x: { ...good.x, data: x } };
    const steps: number[] = [];
    const relu: ModelSpec = { input: { shape: [5] }, layers: [{ type: 'dense', units: 16 }, { type: 'relu' }, { type: 'dense', units: 3 }] };
    const t = new Trainer(relu, { epochs: 1, batchSize: 8, lr: 0.01, seed: 0, threads: 1, stepsPerRun: 4, onStep: (s) => steps.push(s.step) });
    const before = Float32Array.from(t.params.get('dense_0.weight')!.data as Float32Array);
    const err = await t.fit(bad).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/loss became (NaN|Infinity|-Infinity) at epoch 1, step [1-4];/);
    // The run's steps are not applied, and none reported.
    expect(steps).toEqual([]);
    expect([...(t.params.get('dense_0.weight')!.data as Float32Array)]).toEqual([...before]);
  });

  it('refuses a step count that is not a positive integer', () => {
    expect(() => new Trainer(mlp, { epochs: 1, batchSize: 8, lr: 0.01, stepsPerRun: 0 })).toThrow(/steps per run must be a positive integer, got 0/);
    expect(() => new Trainer(mlp, { epochs: 1, batchSize: 8, lr: 0.01, stepsPerRun: 2.5 })).toThrow(/steps per run/);
  });
});
