/**
 * Initial parameters: every layer kind's weights have the statistics of He / Glorot with the fan-in
 * and fan-out of its own layout (dense [in, out], conv [out, in/groups, k…]), and a fresh 10-class
 * network starts near the loss of a uniform guess, ln 10.
 */
import { describe, expect, it } from 'vitest';
import { rngFor } from '../src/core/math/rng.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { initParams } from '../src/core/train/graph.js';
import { PRESETS, type ModelSpec } from '../src/core/train/spec.js';
import { Trainer } from '../src/core/train/trainer.js';

function stats(t: TensorData) {
  const d = t.data as Float32Array;
  let s = 0;
  let s2 = 0;
  let max = 0;
  for (const v of d) {
    s += v;
    s2 += v * v;
    max = Math.max(max, Math.abs(v));
  }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean), max };
}

/** Every parameter layout the trainer emits, with the fan-in and fan-out each weight must be initialised from. */
const spec = (init: 'he' | 'glorot'): ModelSpec => ({
  input: { shape: [8, 32, 32] },
  init,
  layers: [
    { type: 'conv2d', filters: 64, kernel: 3, padding: 1 }, // fan-in 8·9 = 72, fan-out 64·9 = 576
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'conv2d', filters: 64, kernel: 5, padding: 2, groups: 4, name: 'grouped' }, // fan-in 16·25 = 400, fan-out 16·25
    { type: 'residual', layers: [{ type: 'conv2d', filters: 64, kernel: 3, padding: 1, name: 'inner' }] }, // 576, 576
    { type: 'globalavgpool' },
    { type: 'flatten' },
    { type: 'dense', units: 512 }, // [64, 512]: fan-in 64, fan-out 512
    { type: 'relu' },
    { type: 'dense', units: 32, name: 'narrow' }, // [512, 32]: fan-in 512, fan-out 32
  ],
});
const FANS: Record<string, [number, number]> = {
  'conv2d_0.weight': [72, 576],
  'grouped.weight': [400, 400],
  'inner.weight': [576, 576],
  'dense_0.weight': [64, 512],
  'narrow.weight': [512, 32],
};
const textSpec = (init: 'he' | 'glorot'): ModelSpec => ({
  input: { shape: [40], dtype: 'int64' },
  init,
  layers: [
    { type: 'embedding', vocab: 2000, dim: 50, padId: 0, name: 'tokens' }, // any name: the layer kind decides
    { type: 'conv1d', filters: 96, kernel: 5, padding: 2 }, // fan-in 50·5 = 250, fan-out 96·5 = 480
    { type: 'relu' },
    { type: 'globalmaxpool' },
    { type: 'flatten' },
    { type: 'dense', units: 4 }, // [96, 4]
  ],
});
const TEXT_FANS: Record<string, [number, number]> = { 'conv1d_0.weight': [250, 480], 'dense_0.weight': [96, 4] };

describe('initial parameters', () => {
  for (const init of ['he', 'glorot'] as const) {
    it(`${init}: weights follow the fan-in/fan-out of their layout; biases, batch norm and embeddings as documented`, () => {
      for (const [s, fans] of [
        [spec(init), FANS],
        [textSpec(init), TEXT_FANS],
      ] as const) {
        const params = initParams(s, 7);
        const weights = [...params.keys()].filter((k) => k.endsWith('.weight') && k !== 'tokens.weight');
        expect(weights.sort()).toEqual(Object.keys(fans).sort());
        for (const [name, [fanIn, fanOut]] of Object.entries(fans)) {
          const st = stats(params.get(name)!);
          expect(Math.abs(st.mean), name).toBeLessThan(0.05 * st.std);
          if (init === 'he') {
            // Relative sampling error of the std is about 1/√(2n) (n ≥ 384 here: below 4%).
            expect(st.std / Math.sqrt(2 / fanIn), name).toBeGreaterThan(0.93);
            expect(st.std / Math.sqrt(2 / fanIn), name).toBeLessThan(1.07);
          } else {
            const lim = Math.sqrt(6 / (fanIn + fanOut));
            expect(st.max, name).toBeLessThanOrEqual(lim);
            expect(st.max, name).toBeGreaterThan(0.97 * lim);
            expect(st.std / (lim / Math.sqrt(3)), name).toBeGreaterThan(0.93);
            expect(st.std / (lim / Math.sqrt(3)), name).toBeLessThan(1.07);
          }
        }
        for (const [name, t] of params) {
          const d = t.data as Float32Array;
          if (/\.(bias|beta|running_mean)$/.test(name))
            expect(
              d.every((v) => v === 0),
              name,
            ).toBe(true);
          if (/\.(gamma|running_var)$/.test(name))
            expect(
              d.every((v) => v === 1),
              name,
            ).toBe(true);
        }
      }
      const params = initParams(textSpec(init), 7);
      expect(params.get('conv1d_0.bias')).toBeDefined();
      expect(params.get('batchnorm_0.gamma')).toBeUndefined();
      expect(initParams(spec(init), 7).get('batchnorm_0.running_var')).toBeDefined();
      // Embedding: N(0, 0.1²) whatever the layer's name, the padding row zero.
      const table = params.get('tokens.weight')!;
      const d = table.data as Float32Array;
      expect(d.subarray(0, 50).every((v) => v === 0)).toBe(true);
      const st = stats({ ...table, data: d.subarray(50) });
      expect(st.std).toBeGreaterThan(0.097);
      expect(st.std).toBeLessThan(0.103);
    });
  }

  it('a fresh 10-class network starts near ln 10 on random inputs', async () => {
    const rng = rngFor('test', 'init-ce');
    const data = (shape: number[], n: number) => {
      const x = new Float32Array(n * shape.reduce((a, b) => a * b, 1)).map(() => rng());
      const y = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rng() * 10)));
      return { x: { dtype: 'float32' as const, dims: [n, ...shape], data: x }, y: { dtype: 'int64' as const, dims: [n], data: y } };
    };
    const wide: ModelSpec = {
      input: { shape: [784] },
      layers: [{ type: 'dense', units: 256 }, { type: 'relu' }, { type: 'dense', units: 32 }, { type: 'relu' }, { type: 'dense', units: 10 }],
    };
    // He keeps a layer's output variance near twice its input's second moment, and random
    // logits of variance σ² cost about ln 10 + σ²/2. The MLP's logits stay near unit variance
    // (2.5-2.8 measured); the CNN's max pools raise the second moment, so its start is higher
    // (3.1-5.3 over 8 seeds). The old dense fan-in (the output width) gave 10 and 20+.
    for (const seed of [0, 1, 2, 3]) {
      const mlp = await new Trainer(wide, { epochs: 1, batchSize: 64, lr: 1e-3, seed, threads: 1 }).evaluate(data([784], 256));
      expect(mlp.loss, `mlp, seed ${seed}`).toBeGreaterThan(Math.log(10) - 0.1);
      expect(mlp.loss, `mlp, seed ${seed}`).toBeLessThan(Math.log(10) + 0.7);
      const cnn = await new Trainer(PRESETS['fmnist-cnn']!, { epochs: 1, batchSize: 64, lr: 1e-3, seed, threads: 1 }).evaluate(data([1, 28, 28], 256));
      expect(cnn.loss, `fmnist-cnn, seed ${seed}`).toBeGreaterThan(Math.log(10) - 0.1);
      expect(cnn.loss, `fmnist-cnn, seed ${seed}`).toBeLessThan(Math.log(10) + 3.5);
    }
  });
});
