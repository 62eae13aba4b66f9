/**
 * TextExplainer on the Zennit fixture text CNN (Embedding(60,8) → Conv1d(8,6,3) → ReLU → max
 * over time → Linear(6,4), rows of 12 ids): LRP per word equals the fixture's, sensitivity
 * analysis is Σ_d (∂f/∂E)², texts are grouped by row length, deletion replaces by padding.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletionAccuracy, wordDeletionExperiment } from '../src/core/text/deletion.js';
import { documentVector } from '../src/core/text/docvec.js';
import { TextExplainer } from '../src/node/api.js';
import { VOCAB_FORMAT, Vocabulary } from '../src/core/text/vocab.js';
import { FIXTURES, loadFixture, relL2 } from './helpers/fixtures.js';

const model = join(FIXTURES, 'textcnn', 'model.onnx');
const fx = loadFixture('textcnn');
/** Ids 3 and 4 do not occur in the fixture's inputs: they serve as padding and unknown. */
const tokens = Array.from({ length: 60 }, (_, i) => (i === 3 ? '<pad>' : i === 4 ? '<unk>' : `w${i}`));
const vocab = new Vocabulary({
  format: VOCAB_FORMAT,
  version: 1,
  tokenizer: { lowercase: true, numbers: 'keep', numberToken: '<num>', punctuation: 'drop' },
  pad: '<pad>',
  unk: '<unk>',
  padId: 3,
  unkId: 4,
  tokens,
  length: { mode: 'fixed', length: 12, minPad: 0 },
  labels: ['a', 'b', 'c', 'd'],
});
/** The fixture's id rows as text. */
const texts = fx.inputs.map((inp) => inp.data.map((id) => tokens[id]!).join(' '));
const caseOf = (id: string) => fx.cases.find((c) => c.id === id)!;

let lrp: TextExplainer;
let sa: TextExplainer;
beforeAll(async () => {
  for (const inp of fx.inputs) expect(inp.data.every((id) => id !== 3 && id !== 4)).toBe(true);
  lrp = await TextExplainer.create(model, { vocab, method: 'lrp', params: { epsilon: 0.25 }, threads: 1 });
  sa = await TextExplainer.create(model, { vocab, method: 'sa', threads: 1 });
});
afterAll(async () => {
  await lrp.release();
  await sa.release();
});

describe('TextExplainer', () => {
  it('LRP-ε per word matches the Zennit fixture (rule ε on every layer, max-pool winner-take-all)', async () => {
    const res = await lrp.explainTexts(texts, fx.targets);
    const c = caseOf('lrp_epsilon_0.25');
    res.forEach((r, i) => {
      expect(r.tokens.length).toBe(12);
      expect(r.target).toBe(fx.targets[i]);
      expect(relL2(r.relevance, c.expected[i]!.data)).toBeLessThan(1e-4);
      expect(relL2(r.logits, fx.logits[i]!)).toBeLessThan(1e-5);
    });
    expect(lrp.describe()).toMatch(/epsilon rule on every layer \(ε = 0.25\)/);
  });

  it('sensitivity analysis is the squared gradient norm per word', async () => {
    const res = await sa.explainTexts(texts, fx.targets);
    const g = caseOf('gradient').expected_embedding!;
    res.forEach((r, i) => {
      const D = 8;
      const want = Array.from({ length: 12 }, (_, t) => g[i]!.data.slice(t * D, (t + 1) * D).reduce((s, v) => s + v * v, 0));
      expect(relL2(r.relevance, want)).toBeLessThan(1e-4);
      expect(Math.min(...r.relevance)).toBeGreaterThanOrEqual(0);
    });
  });

  it('multi-pass methods (integrated gradients) go through Explainer.explain and match the fixture', async () => {
    const ig = await TextExplainer.create(model, { vocab, method: 'integrated-gradients', steps: 32, threads: 1 });
    try {
      const res = await ig.explainTexts(texts, fx.targets);
      const c = caseOf('integrated_gradients');
      res.forEach((r, i) => expect(relL2(r.relevance, c.expected[i]!.data)).toBeLessThan(1e-4));
    } finally {
      await ig.release();
    }
  });

  it("defaults to the paper's ε rule, reads the vocabulary labels, reports unknown words", async () => {
    const te = await TextExplainer.create(model, { vocab, threads: 1 });
    try {
      expect(te.describe()).toBe('LRP, epsilon rule on every layer (ε = 0.001), max-pool winner-take-all');
      const [r] = await te.explainTexts(['w5 zebra w7 w9']);
      expect(r!.tokens.map((t) => t.text)).toEqual(['w5', 'zebra', 'w7', 'w9']);
      expect(r!.ids).toEqual([5, 4, 7, 9]);
      expect(r!.unknown).toBe(1);
      expect(r!.rowLength).toBe(12);
      expect(r!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    } finally {
      await te.release();
    }
  });

  it('rejects a vocabulary that does not fit the model', async () => {
    const wrong = new Vocabulary({ ...vocab.file, tokens: tokens.slice(0, 50) });
    await expect(TextExplainer.create(model, { vocab: wrong })).rejects.toThrow(/60 rows but the vocabulary has 50 tokens/);
    const bucketed = new Vocabulary({ ...vocab.file, length: { mode: 'bucketed', buckets: [8, 16], minPad: 0 } });
    await expect(TextExplainer.create(model, { vocab: bucketed })).rejects.toThrow(/exactly 12 ids/);
    const labels = new Vocabulary({ ...vocab.file, labels: ['x', 'y'] });
    await expect(TextExplainer.create(model, { vocab: labels })).rejects.toThrow(/names 2 classes but the model has 4/);
  });

  it('document vectors: relevance-weighted sum and plain average of embeddings', async () => {
    const [r] = await lrp.explainTexts([texts[0]!], [fx.targets[0]!]);
    const avg = documentVector(lrp, r!.ids);
    const manual = new Float64Array(8);
    for (const id of r!.ids) lrp.embeddingOf(id).forEach((v, d) => (manual[d]! += v / r!.ids.length));
    expect(relL2(avg, manual)).toBeLessThan(1e-12);
    const w = documentVector(lrp, r!.ids, r!.relevance);
    expect(w.length).toBe(8);
  });

  it('word deletion: k = 0 is the plain accuracy; deleting every word leaves the all-padding prediction', async () => {
    const docs = texts.map((t, i) => ({ enc: vocab.encode(t), y: fx.targets[i]! }));
    const allOrder = docs.map(() => Array.from({ length: 12 }, (_, i) => i));
    const acc = await deletionAccuracy(lrp, docs, allOrder, 12);
    expect(acc.length).toBe(13);
    const pred = fx.logits.map((l) => l.indexOf(Math.max(...l)));
    expect(acc[0]).toBeCloseTo(pred.filter((p, i) => p === fx.targets[i]).length / 3, 10);
    const { curves } = await wordDeletionExperiment(
      new Map([
        ['LRP', lrp],
        ['SA', sa],
      ]),
      docs,
      { maxDeletions: 5, randomRuns: 3 },
    );
    for (const c of curves) {
      expect(c.accuracy.length).toBe(6);
      expect(c.accuracy[0]).toBe(c.set === 'correct' ? 1 : 0);
    }
    expect(curves.map((c) => c.method)).toContain('random');
  });
});
