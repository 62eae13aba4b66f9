/** Fine-tuning existing ONNX models: a sequential network read back into a spec computes the same logits. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/onnx/model.js';
import { specFromOnnx } from '../src/train/from-onnx.js';
import { buildGraph } from '../src/train/graph.js';
import { FIXTURES, fixtureInput, loadFixture } from './helpers/fixtures.js';

describe('specFromOnnx', () => {
  for (const [name, file, types] of [
    ['cnn', 'model.onnx', 'conv2d,relu,maxpool,conv2d,relu,avgpool,flatten,dense'],
    ['cnn_bn', 'model_bn.onnx', 'conv2d,relu,conv2d,relu,globalavgpool,flatten,dense'],
    ['textcnn', 'model.onnx', 'embedding,conv1d,relu,maxpool,flatten,dense'],
    ['mlp', 'model.onnx', 'dense,relu,dense,relu,dense'],
  ] as const) {
    it(`${name}/${file}: the rebuilt model gives the original logits`, async () => {
      const bytes = readFileSync(join(FIXTURES, name, file));
      const { spec, params } = await specFromOnnx(bytes, name);
      expect(spec.layers.map((l) => l.type).join()).toBe(types);
      const rebuilt = encodeModel(buildGraph(spec, 'infer', { values: params }).graph);
      const fx = loadFixture(name);
      const x = fixtureInput(fx.inputs[0]!);
      const t = x.dtype === 'int64' ? new ort.Tensor('int64', x.data as BigInt64Array, x.dims) : new ort.Tensor('float32', x.data as Float32Array, x.dims);
      const out = await (await ort.InferenceSession.create(rebuilt)).run({ input: t });
      (out.logits!.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(fx.logits[0]![i]!, 4));
    });
  }

  it('refuses a network that is not a single chain (a residual block), naming the node', async () => {
    await expect(specFromOnnx(readFileSync(join(FIXTURES, 'resblock', 'model.onnx')), 'resblock')).rejects.toThrow(/cannot fine-tune node .*not a single chain/);
  });
});
