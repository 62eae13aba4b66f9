/**
 * Zennit fixtures: every case of test/fixtures/lrp, on every ONNX file it applies to, within
 * its tolerance; logits within 1e-5; a batch of three equals the samples one at a time.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Explainer } from '../src/node/api.js';
import { caseOptions, fixtureInput, fixtureModels, FIXTURES, loadFixture, relL2, stackInputs } from './helpers/fixtures.js';

const explainers: Explainer[] = [];
afterAll(async () => {
  for (const e of explainers) await e.release();
});

for (const name of fixtureModels()) {
  const fx = loadFixture(name);
  for (const file of fx.onnx) {
    describe(`${name}/${file}`, () => {
      const inputs = fx.inputs.map(fixtureInput);
      for (const c of fx.cases) {
        it(c.id, async () => {
          const ex = await Explainer.create(join(FIXTURES, name, file), caseOptions(c, file));
          explainers.push(ex);
          for (let k = 0; k < inputs.length; k++) {
            const r = await ex.explain(inputs[k]!, { target: fx.targets[k]! });
            const err = relL2(r.relevance.data as Float32Array, c.expected[k]!.data);
            expect(err, `sample ${k}`).toBeLessThanOrEqual(c.tolerance.rel_l2);
            expect(r.relevance.dims).toEqual(c.expected[k]!.shape);
            if (c.expected_embedding) {
              expect(relL2(r.relevanceEmbedding!.data as Float32Array, c.expected_embedding[k]!.data)).toBeLessThanOrEqual(c.tolerance.rel_l2);
            }
            expect(relL2(r.logits.data as Float32Array, fx.logits[k]!)).toBeLessThanOrEqual(1e-5);
          }
          // Batch independence: the three samples as one batch give the same relevance.
          const batch = await ex.explain(stackInputs(inputs), { target: fx.targets });
          const per = batch.relevance.data.length / inputs.length;
          for (let k = 0; k < inputs.length; k++) {
            const part = (batch.relevance.data as Float32Array).subarray(k * per, (k + 1) * per);
            expect(relL2(part, c.expected[k]!.data), `batched sample ${k}`).toBeLessThanOrEqual(c.tolerance.rel_l2);
          }
        });
      }
    });
  }
}
