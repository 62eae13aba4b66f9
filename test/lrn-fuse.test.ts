/**
 * PyTorch's nn.LocalResponseNorm export (scripts/export_lrn.py, torch 1.13, opsets 11/13/17) is
 * fused into one LRN node at import: the fused forward equals ONNX Runtime on the unfused export
 * and PyTorch's logits, and LRP then uses the LRN rule on it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../src/core/graph/canonize.js';
import { decodeModel } from '../src/core/onnx/model.js';
import { Explainer } from '../src/node/api.js';
import { relL2 } from './helpers/fixtures.js';

const DIR = join(import.meta.dirname, 'assets', 'lrn');
const spec = JSON.parse(readFileSync(join(DIR, 'conv-lrn.json'), 'utf8')) as {
  opsets: number[];
  input_shape: number[];
  input: number[];
  torch_logits: number[];
  lrn: { size: number; alpha: number; beta: number; k: number };
};

describe('PyTorch LocalResponseNorm export', () => {
  for (const opset of spec.opsets)
    it(`opset ${opset}: fused into one LRN whose forward matches the unfused export`, async () => {
      const bytes = readFileSync(join(DIR, `conv-lrn-opset${opset}.onnx`));
      const g = decodeModel(bytes);
      expect(g.nodes.some((n) => n.op === 'If')).toBe(true); // the decomposed pattern, not an LRN node
      canonicalize(g);
      const lrn = g.nodes.filter((n) => n.op === 'LRN');
      expect(lrn).toHaveLength(1);
      expect(lrn[0]!.attrs).toEqual({
        size: spec.lrn.size,
        alpha: expect.closeTo(spec.lrn.alpha, 6),
        beta: expect.closeTo(spec.lrn.beta, 6),
        bias: expect.closeTo(spec.lrn.k, 6),
      });
      expect(g.nodes.map((n) => n.op).filter((op) => ['If', 'Pow', 'AveragePool', 'Pad', 'Div'].includes(op))).toEqual([]);

      const x = Float32Array.from(spec.input);
      const s = await ort.InferenceSession.create(bytes);
      const unfused = (await s.run({ input: new ort.Tensor('float32', x, spec.input_shape) })).logits!.data as Float32Array;
      await s.release();
      const ex = await Explainer.create(bytes, {});
      try {
        const info = await ex.info([1, ...spec.input_shape.slice(1)]);
        expect(info.layers.find((l) => l.op === 'LRN')!.rule).toBe('lrn-taylor(epsilon=0.000001)');
        const r = await ex.explain({ dtype: 'float32', dims: spec.input_shape, data: x }, { target: 0 });
        const logits = r.logits.data as Float32Array;
        expect(relL2(logits, unfused)).toBeLessThan(1e-6);
        expect(relL2(logits, spec.torch_logits)).toBeLessThan(1e-5);
        expect((r.relevance.data as Float32Array).every(Number.isFinite)).toBe(true);
      } finally {
        await ex.release();
      }
    });
});
