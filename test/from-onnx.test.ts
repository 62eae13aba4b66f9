/**
 * Fine-tuning existing ONNX models: a network (a chain of layers, or ResNet-style residual blocks)
 * read back into a spec computes the same logits, and trains from the imported weights.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/core/onnx/builder.js';
import { decodeModel, ELEM, encodeModel, type Graph } from '../src/core/onnx/model.js';
import { float32, type TensorData } from '../src/core/onnx/tensor.js';
import { specFromOnnx } from '../src/core/train/from-onnx.js';
import { buildGraph, initParams } from '../src/core/train/graph.js';
import { rngFor } from '../src/core/math/rng.js';
import type { LayerSpec, ModelSpec } from '../src/core/train/spec.js';
import { Trainer } from '../src/core/train/trainer.js';
import { FIXTURES, fixtureInput, loadFixture, relL2 } from './helpers/fixtures.js';
import { loadTorchvisionAsset } from './helpers/torchvision-weights.js';

/** The architecture in one line: residual blocks as {body | shortcut}. */
const outline = (layers: LayerSpec[]): string =>
  layers.map((l) => (l.type === 'residual' ? `residual{${outline(l.layers)}|${outline(l.shortcut ?? [])}}` : l.type)).join(',');

async function logitsOf(model: Uint8Array, x: TensorData): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model);
  const t = x.dtype === 'int64' ? new ort.Tensor('int64', x.data as BigInt64Array, x.dims) : new ort.Tensor('float32', x.data as Float32Array, x.dims);
  const out = await s.run({ [s.inputNames[0]!]: t });
  await s.release();
  return out[s.outputNames[0]!]!.data as Float32Array;
}

const rebuild = (spec: ModelSpec, params: Map<string, TensorData>) => encodeModel(buildGraph(spec, 'infer', { values: params }).graph);

/** Every tensor and node renamed, so the import cannot lean on relprop's own naming. */
function renamed(g: Graph): Graph {
  const names = new Map<string, string>();
  const to = (n: string) => (n ? (names.get(n) ?? names.set(n, `t${names.size}`).get(n)!) : n);
  return {
    ...g,
    inputs: g.inputs.map((v) => ({ ...v, name: to(v.name) })),
    outputs: g.outputs.map((v) => ({ ...v, name: to(v.name) })),
    initializers: new Map([...g.initializers].map(([k, v]) => [to(k), v])),
    nodes: g.nodes.map((n, i) => ({ ...n, name: `node${i}`, inputs: n.inputs.map(to), outputs: n.outputs.map(to) })),
  };
}

const rng = rngFor('test', 11);
const uniform = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());

/** A small ResNet: identity blocks, projection blocks (strided 1×1 conv + batch norm), one nested block. */
const resnet: ModelSpec = {
  input: { shape: [3, 12, 12] },
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, padding: 1, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    {
      type: 'residual',
      layers: [{ type: 'conv2d', filters: 4, kernel: 3, padding: 1 }, { type: 'relu' }, { type: 'conv2d', filters: 4, kernel: 3, padding: 1 }],
    },
    { type: 'relu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 8, kernel: 3, padding: 1, stride: 2, bias: false },
        { type: 'batchnorm' },
        { type: 'relu' },
        { type: 'conv2d', filters: 8, kernel: 3, padding: 1 },
      ],
      shortcut: [{ type: 'conv2d', filters: 8, kernel: 1, stride: 2, bias: false }, { type: 'batchnorm' }],
    },
    { type: 'relu' },
    {
      type: 'residual',
      layers: [
        { type: 'conv2d', filters: 6, kernel: 3, padding: 1 },
        { type: 'tanh' },
        { type: 'residual', layers: [{ type: 'conv2d', filters: 6, kernel: 3, padding: 1 }] },
      ],
      shortcut: [{ type: 'conv2d', filters: 6, kernel: 1 }],
    },
    { type: 'maxpool', size: 2 },
    { type: 'globalavgpool' },
    { type: 'flatten' },
    { type: 'dense', units: 3 },
  ],
};
const RESNET_OUTLINE =
  'conv2d,relu,residual{conv2d,relu,conv2d|},relu,residual{conv2d,relu,conv2d|conv2d},relu,' +
  'residual{conv2d,tanh,residual{conv2d|}|conv2d},maxpool,globalavgpool,flatten,dense';

/** Random weights, and batch norms with non-trivial statistics (they are folded on import). */
function randomParams(spec: ModelSpec): Map<string, TensorData> {
  const params = initParams(spec, 3);
  for (const [name, t] of params) {
    const n = t.data.length;
    if (name.endsWith('.gamma') || name.endsWith('.running_var')) t.data = uniform(n, 0.5, 1.5);
    else if (name.endsWith('.beta') || name.endsWith('.running_mean') || name.endsWith('.bias')) t.data = uniform(n, -0.3, 0.3);
  }
  return params;
}

describe('specFromOnnx', () => {
  for (const [name, file, types] of [
    ['cnn', 'model.onnx', 'conv2d,relu,maxpool,conv2d,relu,avgpool,flatten,dense'],
    ['cnn_bn', 'model_bn.onnx', 'conv2d,relu,conv2d,relu,globalavgpool,flatten,dense'],
    ['textcnn', 'model.onnx', 'embedding,conv1d,relu,maxpool,flatten,dense'],
    ['mlp', 'model.onnx', 'dense,relu,dense,relu,dense'],
    ['resblock', 'model.onnx', 'conv2d,relu,residual{conv2d,relu,conv2d|},relu,globalavgpool,flatten,dense'],
    ['resblock', 'model_bn.onnx', 'conv2d,relu,residual{conv2d,relu,conv2d|},relu,globalavgpool,flatten,dense'],
  ] as const) {
    it(`${name}/${file}: the rebuilt model gives the original logits`, async () => {
      const { spec, params } = await specFromOnnx(readFileSync(join(FIXTURES, name, file)), name);
      expect(outline(spec.layers)).toBe(types);
      const fx = loadFixture(name);
      const logits = await logitsOf(rebuild(spec, params), fixtureInput(fx.inputs[0]!));
      logits.forEach((v, i) => expect(v).toBeCloseTo(fx.logits[0]![i]!, 4));
    });
  }

  it('a ResNet with identity, projection and nested blocks, under foreign names: same logits, and it fine-tunes', async () => {
    const original = encodeModel(renamed(buildGraph(resnet, 'infer', { values: randomParams(resnet) }).graph));
    expect(decodeModel(original).initializers.has('conv2d_0.weight')).toBe(false);
    const { spec, params } = await specFromOnnx(original, 'resnet');
    expect(outline(spec.layers)).toBe(RESNET_OUTLINE);
    const N = 32;
    const x: TensorData = { dtype: 'float32', dims: [N, 3, 12, 12], data: uniform(N * 432, -2, 2) };
    const want = await logitsOf(original, x);
    const got = await logitsOf(rebuild(spec, params), x);
    // Measured: 8e-8 (batch norms folded into the convolutions change the float32 rounding only).
    expect(relL2(got, want)).toBeLessThan(1e-5);

    // Fine-tuning starts from exactly these weights and fits random labels of a small set.
    const data = { x, y: { dtype: 'int64' as const, dims: [N], data: BigInt64Array.from({ length: N }, (_, i) => BigInt(i % 3)) } };
    const t = new Trainer(spec, { epochs: 15, batchSize: 8, lr: 3e-3, seed: 1, threads: 1 }, params);
    const before = await t.evaluate(data);
    expect(relL2(before.logits, want)).toBeLessThan(1e-5);
    const hist = await t.fit(data);
    const after = await t.evaluate(data);
    expect(hist.every((e) => Number.isFinite(e.trainLoss))).toBe(true);
    expect(after.loss).toBeLessThan(0.7 * before.loss);
  });

  it('torchvision ResNet-18 (PyTorch export) is read back and reproduces its logits', async () => {
    const a = loadTorchvisionAsset('resnet18');
    const { spec, params } = await specFromOnnx(a.model, 'resnet18');
    const blocks = spec.layers.filter((l) => l.type === 'residual');
    expect(blocks).toHaveLength(8);
    // Downsampling blocks (layer2-4 .0): a strided 1×1 convolution (its batch norm folded in) on the shortcut.
    expect(blocks.map((b) => outline(b.shortcut ?? []))).toEqual(['', '', 'conv2d', '', 'conv2d', '', 'conv2d', '']);
    expect(blocks[2]!.shortcut![0]).toMatchObject({ type: 'conv2d', kernel: 1, stride: 2 });
    const got = await logitsOf(rebuild(spec, params), a.input);
    // Measured: 4.0e-7 against the ONNX model under ONNX Runtime, 6.6e-7 against PyTorch.
    expect(relL2(got, await logitsOf(a.model, a.input))).toBeLessThan(1e-4);
    expect(relL2(got, a.spec.torch_logits)).toBeLessThan(1e-4);
  });

  it('refuses a network that is neither a chain nor residual blocks (an Inception-style concat), naming the node', async () => {
    const spec: ModelSpec = {
      input: { shape: [2, 6, 6] },
      layers: [
        { type: 'concat', branches: [[{ type: 'conv2d', filters: 2, kernel: 1 }], [{ type: 'conv2d', filters: 3, kernel: 3, padding: 1 }]], name: 'mixed' },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    };
    const bytes = encodeModel(buildGraph(spec, 'infer', { values: initParams(spec, 1) }).graph);
    await expect(specFromOnnx(bytes, 'inception')).rejects.toThrow(
      /cannot fine-tune node "mixed" \(Concat\): the network is neither a chain of layers nor residual blocks/,
    );
  });

  it('refuses a branch that reads a tensor inside another block (its layers would be duplicated), naming the node', async () => {
    // y = (relu(u) + u) + conv(relu(u)), u = conv(x): the outer block's branches share the inner ReLU.
    const graph: Graph = {
      nodes: [],
      initializers: new Map(),
      inputs: [{ name: 'x', elemType: ELEM.FLOAT, shape: [1, 2, 4, 4] }],
      outputs: [],
      opset: 17,
      irVersion: 8,
      producer: 'test',
    };
    const g = new GraphBuilder(graph, 'g');
    const conv = (x: string, name: string) =>
      g.layer('Conv', [x, g.initializer('w', float32([2, 2, 1, 1], uniform(4, -1, 1)))], { kernel_shape: [1, 1] }, name);
    const u = conv('x', 'c1');
    const r = g.layer('Relu', [u], {}, 'inner_relu');
    const y = g.layer('Add', [g.layer('Add', [r, u], {}, 'inner_add'), conv(r, 'c2')], {}, 'outer_add');
    const out = g.layer('Flatten', [g.layer('GlobalAveragePool', [y], {}, 'pool')], { axis: 1 }, 'flat');
    graph.outputs.push({ name: out, elemType: ELEM.FLOAT, shape: [1, 2] });
    await expect(specFromOnnx(encodeModel(graph), 'tangled')).rejects.toThrow(/cannot fine-tune node "inner_relu" \(Relu\): it lies on two branches/);
  });
});
