/** The training loop: a toy problem converges, updates follow Adam, save/reload and resume are exact, NaN stops cleanly. */
import { mkdtempSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { folderCheckpoints } from '../src/node/train/checkpoints.js';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import { numel, type TensorData } from '../src/core/onnx/tensor.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import { rngFor } from '../src/core/math/rng.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { Trainer, type Dataset } from '../src/core/train/trainer.js';
import { Explainer } from '../src/node/api.js';

/** Two Gaussian blobs in 4-D, labels by blob. */
function blobs(n: number, seed: number): Dataset {
  const rng = rngFor('test', seed);
  const x = new Float32Array(n * 4);
  const y = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    y[i] = BigInt(c);
    for (let k = 0; k < 4; k++) x[i * 4 + k] = (c ? 1.5 : -1.5) + (rng() - 0.5) * 2;
  }
  return { x: { dtype: 'float32', dims: [n, 4], data: x }, y: { dtype: 'int64', dims: [n], data: y } };
}

const mlp: ModelSpec = { input: { shape: [4] }, layers: [{ type: 'dense', units: 8 }, { type: 'relu' }, { type: 'dense', units: 2 }] };
const tmp = mkdtempSync(join(tmpdir(), 'relprop-train-'));

describe('training loop', () => {
  it('a separable toy problem reaches near-zero loss and full accuracy', async () => {
    const t = new Trainer(mlp, { epochs: 20, batchSize: 16, lr: 0.01, seed: 1, threads: 1 });
    const hist = await t.fit(blobs(128, 1), blobs(64, 2));
    expect(hist).toHaveLength(20);
    expect(hist[19]!.valAccuracy).toBe(1);
    expect(hist[19]!.trainLoss).toBeLessThan(0.05);
    expect(hist[19]!.trainLoss).toBeLessThan(hist[0]!.trainLoss / 5);
  });

  it('one step follows Adam from the graph gradient', async () => {
    const spec: ModelSpec = { input: { shape: [3] }, layers: [{ type: 'dense', units: 2 }] };
    const data = blobs(8, 3);
    const x: TensorData = { dtype: 'float32', dims: [8, 3], data: (data.x.data as Float32Array).filter((_, i) => i % 4 !== 3) };
    const y = data.y;
    // The gradient, read off an SGD step with lr = 1.
    const sgd = buildGraph(spec, 'train', { optimizer: { kind: 'sgd', momentum: 0 } });
    const s = await ort.InferenceSession.create(encodeModel(sgd.graph));
    const p0 = initParams(spec, 5);
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor('float32', x.data as Float32Array, x.dims),
      labels: new ort.Tensor('int64', y.data as BigInt64Array, y.dims),
      lr: new ort.Tensor('float32', new Float32Array([1]), []),
    };
    for (const [k, v] of p0) feeds[k] = new ort.Tensor('float32', v.data as Float32Array, v.dims);
    const out = await s.run(feeds);
    const W0 = p0.get('dense_0.weight')!.data as Float32Array;
    const g = W0.map((v, i) => v - (out[sgd.updated!.get('dense_0.weight')!]!.data as Float32Array)[i]!);
    // One Adam step of the trainer: m = 0.1 g, v = 0.001 g², update lr·m̂/(√v̂ + ε) = lr·g/(|g| + ε').
    const t = new Trainer(spec, { epochs: 1, batchSize: 8, lr: 0.01, seed: 0, threads: 1 }, initParams(spec, 5));
    await t.fit({ x, y });
    const W1 = t.params.get('dense_0.weight')!.data as Float32Array;
    W0.forEach((w, i) => expect(W1[i]).toBeCloseTo(w - (0.01 * g[i]!) / (Math.abs(g[i]!) + 1e-8), 5));
  });

  it("the saved inference model gives the trainer's logits, and relprop explains it", async () => {
    const spec: ModelSpec = {
      input: { shape: [1, 8, 8] },
      layers: [
        { type: 'conv2d', filters: 3, kernel: 3, padding: 1 },
        { type: 'batchnorm' },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'flatten' },
        { type: 'dropout', rate: 0.5 },
        { type: 'dense', units: 3 },
      ],
    };
    const rng = rngFor('test', 9);
    const n = 24;
    const data: Dataset = {
      x: { dtype: 'float32', dims: [n, 1, 8, 8], data: Float32Array.from({ length: n * 64 }, () => rng()) },
      y: { dtype: 'int64', dims: [n], data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 3)) },
    };
    const t = new Trainer(spec, { epochs: 2, batchSize: 8, lr: 0.01, seed: 0, threads: 1 });
    await t.fit(data);
    const ev = await t.evaluate(data);
    const bytes = t.inferenceModel();
    const s = await ort.InferenceSession.create(bytes);
    const out = await s.run({ input: new ort.Tensor('float32', data.x.data as Float32Array, data.x.dims) });
    const logits = out.logits!.data as Float32Array;
    logits.forEach((v, i) => expect(v).toBeCloseTo(ev.logits[i]!, 5));
    // No Dropout in the saved graph; BatchNormalization is in inference form (and relprop folds it).
    const ex = await Explainer.create(bytes, { composite: 'epsilon-plus' });
    expect([...ex.model.info.merged.keys()]).toHaveLength(1);
    const r = await ex.explain(data.x, { target: 'predicted' });
    expect(r.relevance.dims).toEqual([n, 1, 8, 8]);
  });

  it('resuming from a checkpoint gives the same weights as an uninterrupted run', async () => {
    const dir = join(tmp, 'ckpt');
    const opts = { batchSize: 16, lr: 0.01, seed: 4, threads: 1 };
    const straight = new Trainer(mlp, { ...opts, epochs: 4 });
    await straight.fit(blobs(64, 7));
    const first = new Trainer(mlp, { ...opts, epochs: 2, checkpoints: folderCheckpoints(dir) });
    await first.fit(blobs(64, 7));
    expect(existsSync(join(dir, 'checkpoint.json'))).toBe(true);
    const resumed = new Trainer(mlp, { ...opts, epochs: 4, checkpoints: folderCheckpoints(dir), resume: true });
    const hist = await resumed.fit(blobs(64, 7));
    expect(hist.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    for (const [k, v] of straight.params) expect(Array.from(resumed.params.get(k)!.data as Float32Array)).toEqual(Array.from(v.data as Float32Array));
  });

  it('resuming keeps the early-stopping state: best metric, best weights and the epochs without improvement', async () => {
    // Label noise and a wide layer: the validation loss is best after epoch 1 and worse after.
    const noisy = (n: number, seed: number): Dataset => {
      const rng = rngFor('test', 'noisy', seed);
      const x = new Float32Array(n * 4);
      const y = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const c = i % 2;
        y[i] = BigInt(rng() < 0.3 ? 1 - c : c);
        for (let k = 0; k < 4; k++) x[i * 4 + k] = (c ? 0.5 : -0.5) + (rng() - 0.5) * 2;
      }
      return { x: { dtype: 'float32', dims: [n, 4], data: x }, y: { dtype: 'int64', dims: [n], data: y } };
    };
    const wide: ModelSpec = { input: { shape: [4] }, layers: [{ type: 'dense', units: 64 }, { type: 'relu' }, { type: 'dense', units: 2 }] };
    const opts = { batchSize: 8, lr: 0.01, seed: 2, threads: 1, patience: 3 };
    const straight = new Trainer(wide, { ...opts, epochs: 30 });
    const hist = await straight.fit(noisy(48, 1), noisy(64, 2));
    const vals = hist.map((h) => h.valLoss!);
    expect(vals).toHaveLength(4); // best at epoch 1, then 3 epochs without improvement
    expect(Math.min(...vals)).toBe(vals[0]);
    const dir = join(tmp, 'ckpt-patience');
    await new Trainer(wide, { ...opts, epochs: 2, checkpoints: folderCheckpoints(dir) }).fit(noisy(48, 1), noisy(64, 2));
    const resumed = new Trainer(wide, { ...opts, epochs: 30, checkpoints: folderCheckpoints(dir), resume: true });
    const rh = await resumed.fit(noisy(48, 1), noisy(64, 2));
    expect(rh.map((h) => h.valLoss)).toEqual(vals);
    for (const [k, v] of straight.params) expect(Array.from(resumed.params.get(k)!.data as Float32Array), k).toEqual(Array.from(v.data as Float32Array));
    // Resuming a run that already stopped early trains no further and returns the best weights.
    const again = new Trainer(wide, { ...opts, epochs: 30, checkpoints: folderCheckpoints(dir), resume: true });
    expect(await again.fit(noisy(48, 1), noisy(64, 2))).toHaveLength(4);
    for (const [k, v] of straight.params) expect(Array.from(again.params.get(k)!.data as Float32Array), k).toEqual(Array.from(v.data as Float32Array));
  });

  for (const layout of ['flat', 'per-parameter'] as const)
    it(`resumes checkpoints of the older ${layout} layout, Adam's moments as averages, and refuses a mismatched optimizer`, async () => {
      const dir = join(tmp, `ckpt-old-${layout}`);
      const opts = { batchSize: 16, lr: 0.01, seed: 4, threads: 1 };
      const straight = new Trainer(mlp, { ...opts, epochs: 3 });
      await straight.fit(blobs(64, 7));
      await new Trainer(mlp, { ...opts, epochs: 2, checkpoints: folderCheckpoints(dir) }).fit(blobs(64, 7));
      // Rewrite the "<param>.m_sum" and "<param>.v_sum" entries as the averages m = (1 − β1)·m_sum and
      // v = (1 − β2)·v_sum: one flat "optimizer.<m|v>" vector per slot, parameters in order, or "<param>.<m|v>".
      const meta = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
        dataFile: string;
        index: { name: string; dims: number[]; offset: number }[];
      };
      const blob = new Float32Array(Uint8Array.prototype.slice.call(readFileSync(join(dir, meta.dataFile))).buffer);
      const isState = (name: string) => /\.(m|v)_sum$/.test(name);
      const params = meta.index.filter((e) => !isState(e.name));
      expect(meta.index.filter((e) => isState(e.name)).map((e) => e.name)).toEqual(params.flatMap((e) => [`${e.name}.m_sum`, `${e.name}.v_sum`]));
      const index: typeof meta.index = [];
      const parts: Float32Array[] = [];
      let at = 0;
      const put = (name: string, dims: number[], data: Float32Array) => {
        index.push({ name, dims, offset: at });
        parts.push(data);
        at += data.length;
      };
      const read = (e: (typeof meta.index)[number]) => blob.slice(e.offset, e.offset + e.dims.reduce((a, b) => a * b, 1));
      for (const e of params) put(e.name, e.dims, read(e));
      for (const [slot, scale] of [
        ['m', 0.1],
        ['v', 0.001],
      ] as const) {
        const pieces = params.map((e) => read(meta.index.find((s) => s.name === `${e.name}.${slot}_sum`)!).map((x) => x * scale));
        if (layout === 'per-parameter') pieces.forEach((p, i) => put(`${params[i]!.name}.${slot}`, params[i]!.dims, p));
        else {
          const flat = new Float32Array(pieces.reduce((a, p) => a + p.length, 0));
          let o = 0;
          for (const p of pieces) {
            flat.set(p, o);
            o += p.length;
          }
          put(`optimizer.${slot}`, [flat.length], flat);
        }
      }
      const out = new Float32Array(at);
      parts.forEach((d, i) => out.set(d, index[i]!.offset));
      writeFileSync(join(dir, meta.dataFile), out);
      writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify({ ...meta, index }));
      const resumed = new Trainer(mlp, { ...opts, epochs: 3, checkpoints: folderCheckpoints(dir), resume: true });
      await resumed.fit(blobs(64, 7));
      // Equal up to the rounding of the rescaled moments.
      for (const [k, v] of straight.params) {
        const r = resumed.params.get(k)!.data as Float32Array;
        (v.data as Float32Array).forEach((x, i) => expect(r[i]!, k).toBeCloseTo(x, 5));
      }
      // Adam's moments cannot continue an SGD-with-momentum run.
      const other = new Trainer(mlp, { ...opts, epochs: 4, checkpoints: folderCheckpoints(dir), resume: true, optimizer: { kind: 'sgd', momentum: 0.9 } });
      await expect(other.fit(blobs(64, 7))).rejects.toThrow(/no optimizer state "dense_0.weight.velocity"/);
    });

  it('stops with a clear message when the loss is not finite, keeping the last good checkpoint', async () => {
    const dir = join(tmp, 'nan');
    const good = blobs(32, 1);
    const t = new Trainer(mlp, { epochs: 1, batchSize: 8, lr: 0.01, seed: 0, threads: 1, checkpoints: folderCheckpoints(dir) });
    await t.fit(good);
    const saved = readFileSync(join(dir, 'checkpoint.json'), 'utf8');
    // Inputs near the float32 maximum overflow the first layer.
    const bad: Dataset = { ...good, x: { ...good.x, data: (good.x.data as Float32Array).map((v) => Math.sign(v) * 3e38) } };
    const resumed = new Trainer(mlp, { epochs: 2, batchSize: 8, lr: 0.01, seed: 0, threads: 1, checkpoints: folderCheckpoints(dir), resume: true });
    await expect(resumed.fit(bad)).rejects.toThrow(/loss became (NaN|Infinity|-Infinity) at epoch 2, step 1/);
    expect(readFileSync(join(dir, 'checkpoint.json'), 'utf8')).toBe(saved);
  });

  it('rejects labels that do not match the data', async () => {
    const t = new Trainer(mlp, { epochs: 1, batchSize: 8, lr: 0.01 });
    const d = blobs(16, 1);
    await expect(t.fit({ x: d.x, y: { dtype: 'int64', dims: [15], data: new BigInt64Array(15) } })).rejects.toThrow(/16 inputs but 15 labels/);
    await expect(t.fit({ x: d.x, y: { dtype: 'int64', dims: [16], data: new BigInt64Array(16).fill(5n) } })).rejects.toThrow(
      /label 5 is outside the model's 2 classes/,
    );
    await expect(t.fit({ x: { dtype: 'float32', dims: [16, 5], data: new Float32Array(80) }, y: d.y })).rejects.toThrow(/expects \[N, 4\]/);
  });
});

describe('transfer learning', () => {
  it('keeps frozen layers fixed, trains a new head, and starts from matching weights', async () => {
    const base = new Trainer(mlp, { epochs: 3, batchSize: 16, lr: 0.01, seed: 1, threads: 1 });
    await base.fit(blobs(64, 1));
    const onnx = base.inferenceModel();
    // Same body, a new 3-way head (its weights have another shape, so they start fresh).
    const spec: ModelSpec = { input: { shape: [4] }, layers: [{ type: 'dense', units: 8 }, { type: 'relu' }, { type: 'dense', units: 3 }] };
    const t = new Trainer(spec, { epochs: 2, batchSize: 16, lr: 0.01, seed: 2, threads: 1, freeze: ['dense_0'] });
    const { loaded, fresh } = t.loadMatching(Trainer.paramsFromOnnx(onnx));
    expect(loaded).toEqual(['dense_0.weight', 'dense_0.bias']);
    expect(fresh).toEqual(['dense_1.weight', 'dense_1.bias']);
    const headBefore = Array.from(t.params.get('dense_1.weight')!.data as Float32Array);
    const data = blobs(48, 3);
    (data.y.data as BigInt64Array).forEach((_, i, a) => (a[i] = BigInt(i % 3)));
    await t.fit(data);
    expect(Array.from(t.params.get('dense_0.weight')!.data as Float32Array)).toEqual(Array.from(base.params.get('dense_0.weight')!.data as Float32Array));
    expect(Array.from(t.params.get('dense_1.weight')!.data as Float32Array)).not.toEqual(headBefore);
    await expect(new Trainer(spec, { epochs: 1, batchSize: 8, lr: 0.01, freeze: ['nope'] }).fit(data)).rejects.toThrow(/cannot freeze "nope"/);
  });
});

describe('text models', () => {
  it('trains on token-id JSONL of any length and saves a model that takes any length', async () => {
    const { writeFileSync } = await import('node:fs');
    const { loadLabelledData } = await import('../src/node/data/datasets.js');
    const rng = rngFor('test', 11);
    // Class 1 documents contain token 7 somewhere; class 0 ones do not.
    const lines = Array.from({ length: 60 }, (_, i) => {
      const n = 3 + Math.floor(rng() * 9);
      const ids = Array.from({ length: n }, () => 2 + Math.floor(rng() * 5));
      if (i % 2) ids[Math.floor(rng() * n)] = 7;
      return JSON.stringify({ ids, y: i % 2 });
    });
    const path = join(tmp, 'ids.jsonl');
    writeFileSync(path, lines.join('\n') + '\n');
    const d = loadLabelledData(path, {});
    expect(d.x.dims[1]).toBe(11);
    expect(loadLabelledData(path, { maxLength: 5 }).x.dims).toEqual([60, 5]);
    const spec: ModelSpec = {
      input: { shape: [null], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 10, dim: 4, padId: 0 },
        { type: 'conv1d', filters: 4, kernel: 2 },
        { type: 'relu' },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    };
    const t = new Trainer(spec, { epochs: 30, batchSize: 10, lr: 0.05, seed: 0, threads: 1 });
    // Batches are cut to their longest document (plus the model's margin of paddings).
    const hist = await t.fit({ x: d.x, y: d.y, lengths: d.lengths });
    // The padding row (id 0 fills the shorter documents) stays exactly zero; other rows learn.
    const table = t.params.get('embedding_0.weight')!.data as Float32Array;
    expect(Array.from(table.subarray(0, 4))).toEqual([0, 0, 0, 0]);
    expect(table.subarray(28, 32).some((v) => v !== 0)).toBe(true);
    expect(hist[hist.length - 1]!.trainAccuracy).toBeGreaterThan(0.95);
    const ex = await Explainer.create(t.inferenceModel(), { rule: 'epsilon' });
    for (const L of [4, 9]) {
      const ids = BigInt64Array.from({ length: L }, (_, k) => BigInt(k === 1 ? 7 : 3));
      const r = await ex.explain({ dtype: 'int64', dims: [1, L], data: ids }, { target: 1 });
      expect(r.relevance.dims).toEqual([1, L]);
      // The word that decides the class carries the most relevance.
      const rel = Array.from(r.relevance.data as Float32Array);
      expect(rel.indexOf(Math.max(...rel))).toBe(1);
    }
  });

  it("reads class names from the documents' labels, and lengths before padding", async () => {
    const { writeFileSync } = await import('node:fs');
    const { loadLabelledData } = await import('../src/node/data/datasets.js');
    const path = join(tmp, 'labelled.jsonl');
    const doc = (ids: number[], y: number, label: string) => JSON.stringify({ ids, y, label });
    writeFileSync(path, [doc([3, 4], 1, 'mail'), doc([5], 0, 'games'), doc([6, 7, 8], 1, 'mail')].join('\n') + '\n');
    const d = loadLabelledData(path, { maxLength: 2 });
    expect(d.classes).toEqual(['games', 'mail']);
    expect(Array.from(d.lengths!)).toEqual([2, 1, 2]);
    // Labels that contradict each other give no class names rather than wrong ones.
    writeFileSync(path, [doc([3], 1, 'mail'), doc([5], 1, 'games')].join('\n') + '\n');
    expect(loadLabelledData(path, {}).classes).toBeUndefined();
  });

  it('cutting token batches to their longest row gives the logits of full padding', async () => {
    const rng = rngFor('test', 5);
    const N = 37;
    const L = 60;
    const lengths = Int32Array.from({ length: N }, () => 1 + Math.floor(rng() * 30));
    const x = new BigInt64Array(N * L);
    lengths.forEach((n, i) => {
      for (let k = 0; k < n; k++) x[i * L + k] = BigInt(1 + Math.floor(rng() * 19));
    });
    const y = BigInt64Array.from({ length: N }, (_, i) => BigInt(i % 3));
    // Strided pooling and a dilated convolution: the margin must cover their whole receptive field.
    const spec: ModelSpec = {
      input: { shape: [null], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 20, dim: 5, padId: 0 },
        { type: 'conv1d', filters: 6, kernel: 3 },
        { type: 'relu' },
        { type: 'maxpool', size: 2 },
        { type: 'conv1d', filters: 6, kernel: 2, dilation: 2 },
        { type: 'relu' },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 3 },
      ],
    };
    const t = new Trainer(spec, { epochs: 1, batchSize: 8, lr: 0.01, seed: 3, threads: 1 });
    const full = await t.evaluate({ x: { dtype: 'int64', dims: [N, L], data: x }, y: { dtype: 'int64', dims: [N], data: y } }, 8);
    const cut = await t.evaluate({ x: { dtype: 'int64', dims: [N, L], data: x }, y: { dtype: 'int64', dims: [N], data: y }, lengths }, 8);
    expect(Array.from(cut.logits)).toEqual(Array.from(full.logits));
    expect(cut.logits.some((v) => v !== 0)).toBe(true);
  });

  it("position dropout drops a word's whole vector at once", async () => {
    const spec: ModelSpec = {
      input: { shape: [null], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 4, dim: 6 },
        { type: 'dropout', rate: 0.5, per: 'position' },
        { type: 'globalavgpool' },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    };
    const built = buildGraph(spec, 'train', { optimizer: { kind: 'sgd' }, values: initParams(spec, 1) });
    // Expose the dropout layer's output (the embedding times the kept/dropped factor) as a graph output.
    const embedded = built.graph.nodes.find(
      (n) => n.op === 'Transpose' && n.inputs.some((i) => built.graph.nodes.some((m) => m.op === 'Gather' && m.outputs.includes(i))),
    )!;
    const mul = built.graph.nodes.find((n) => n.op === 'Mul' && n.inputs.includes(embedded.outputs[0]!))!;
    built.graph.outputs.push({ name: mul.outputs[0]!, elemType: 1, shape: ['N', 6, 'L'] });
    const session = await ort.InferenceSession.create(encodeModel(built.graph), { logSeverityLevel: 4 });
    const N = 8;
    const L = 50;
    const feeds: Record<string, ort.Tensor> = {
      input: new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: N * L }, (_, i) => BigInt(1 + (i % 3))),
        [N, L],
      ),
      labels: new ort.Tensor('int64', new BigInt64Array(N), [N]),
      lr: new ort.Tensor('float32', new Float32Array([0]), []),
    };
    for (const p of built.params) feeds[p.name] = new ort.Tensor('float32', initParams(spec, 1).get(p.name)!.data as Float32Array, p.dims);
    for (const st of built.states ?? []) feeds[st.name] = new ort.Tensor('float32', new Float32Array(numel(st.dims)), st.dims);
    const out = (await session.run(feeds))[mul.outputs[0]!]!;
    expect(out.dims).toEqual([N, 6, L]);
    const v = out.data as Float32Array;
    const table = initParams(spec, 1).get('embedding_0.weight')!.data as Float32Array;
    let dropped = 0;
    for (let n = 0; n < N; n++)
      for (let l = 0; l < L; l++) {
        const tok = 1 + ((n * L + l) % 3);
        const col = Array.from({ length: 6 }, (_, c) => v[(n * 6 + c) * L + l]!);
        if (col.every((e) => e === 0)) dropped++;
        else col.forEach((e, c) => expect(e / table[tok * 6 + c]!, `dropped so far ${dropped}`).toBeCloseTo(2, 5)); // kept: scaled by 1/(1 − rate)
      }
    expect(dropped / (N * L)).toBeGreaterThan(0.35);
    expect(dropped / (N * L)).toBeLessThan(0.65);
  });
});
