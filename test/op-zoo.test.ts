/**
 * The importer's operator list at opsets 11, 13, 17 (PyTorch 1.13 exports, scripts/export_op_zoo.py)
 * and 18 (derived here: ReduceMean's axes become an input): `gradient` equals PyTorch autograd,
 * the softmax at the output is stripped, and LRP runs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Explainer } from '../src/node/api.js';
import { decodeModel, encodeModel } from '../src/core/onnx/model.js';
import { int64 } from '../src/core/onnx/tensor.js';
import { relL2 } from './helpers/fixtures.js';

const DIR = join(import.meta.dirname, 'assets', 'op-zoo');

interface ZooSpec {
  model: string;
  opsets: number[];
  input_shape: number[];
  input: number[];
  target: number;
  torch_logits: number[];
  grad: number[];
}

/** The opset-17 export rewritten to opset 18, where ReduceMean takes its axes as an input. */
function toOpset18(bytes: Uint8Array): Uint8Array {
  const g = decodeModel(bytes);
  for (const n of g.nodes) {
    if (n.op === 'ReduceMean' && Array.isArray(n.attrs.axes)) {
      const name = `${n.name}/axes`;
      g.initializers.set(name, int64([(n.attrs.axes as number[]).length], n.attrs.axes as number[]));
      n.inputs = [n.inputs[0]!, name];
      delete n.attrs.axes;
    }
  }
  g.opset = 18;
  return encodeModel(g);
}

for (const name of ['mixed', 'sequence']) {
  const spec = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as ZooSpec;
  const x = { dtype: 'float32' as const, dims: spec.input_shape, data: Float32Array.from(spec.input) };
  describe(name, () => {
    for (const opset of [...spec.opsets, 18]) {
      it(`opset ${opset}: gradient equals PyTorch autograd; softmax stripped; LRP runs`, async () => {
        const bytes = opset === 18 ? toOpset18(readFileSync(join(DIR, `${name}-opset17.onnx`))) : readFileSync(join(DIR, `${name}-opset${opset}.onnx`));
        const ex = await Explainer.create(bytes, { method: 'gradient' });
        expect(ex.model.info.strippedSoftmax).not.toBeNull();
        const r = await ex.explain(x, { target: spec.target });
        expect(relL2(r.logits.data as Float32Array, spec.torch_logits)).toBeLessThan(1e-5);
        expect(relL2(r.relevance.data as Float32Array, spec.grad)).toBeLessThan(1e-4);
        await ex.release();
        const lrp = await Explainer.create(bytes, { method: 'lrp', composite: 'epsilon-gamma-box', inputRange: [-0.1, 1.1] });
        const l = await lrp.explain(x, { target: spec.target });
        expect((l.relevance.data as Float32Array).every(Number.isFinite)).toBe(true);
        await lrp.release();
      });
    }
  });
}
