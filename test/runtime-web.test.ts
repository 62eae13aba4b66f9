/**
 * The web runtime for real: onnxruntime-web (its WebAssembly backend, which runs in Node as in a
 * page) explains the bundled Fashion-MNIST model through the core API, and gives the relevance
 * and logits of onnxruntime-node's native kernels within 1e-5 relative L2 per sample.
 * Before comparing, each compiled explainer graph is loaded by onnxruntime-web on its own, so a
 * missing operator fails with the graph's operator list and onnxruntime-web's own message.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Explainer, type ExplainerOptions, readNpy, type TensorData } from '../src/core/index.js';
import { nodeRuntime } from '../src/node/runtime-node.js';
import { webRuntime } from '../src/web/runtime-web.js';
import { relL2 } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = readFileSync(join(ROOT, 'models', 'fmnist-cnn.onnx'));
const PER = 28 * 28;
const web = webRuntime();

/** The eight bundled sample images and four uniform-random images in [0, 1] (fixed seed). */
function batch(): TensorData {
  const samples = readNpy(readFileSync(join(ROOT, 'models', 'samples', 'samples.npy')));
  const real = samples.data as Float32Array;
  const nReal = real.length / PER;
  const nRandom = 4;
  const data = new Float32Array((nReal + nRandom) * PER);
  data.set(real);
  let s = 12345;
  for (let i = real.length; i < data.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    data[i] = s / 2 ** 32;
  }
  return { dtype: 'float32', dims: [nReal + nRandom, 1, 28, 28], data };
}

const CASES: [string, ExplainerOptions][] = [
  ['LRP epsilon-plus-flat', { composite: 'epsilon-plus-flat' }],
  ['LRP epsilon-gamma-box, input range [0, 1]', { composite: 'epsilon-gamma-box', inputRange: [0, 1] }],
  ['LRP epsilon-alpha2-beta1', { composite: 'epsilon-alpha2-beta1' }],
  ['gradient', { method: 'gradient' }],
  ['integrated gradients', { method: 'integrated-gradients', steps: 8 }],
];

const explainers: Explainer[] = [];
afterAll(async () => {
  for (const e of explainers) await e.release();
});

describe('onnxruntime-web runs the explainers of onnxruntime-node', () => {
  const x = batch();
  const N = x.dims[0]!;
  const targets = Array.from({ length: N }, (_, i) => i % 10);

  it('the samples are real images and the random ones lie in [0, 1]', () => {
    expect(N).toBe(12);
    const d = x.data as Float32Array;
    expect(Math.min(...d)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...d)).toBeLessThanOrEqual(1);
  });

  for (const [name, opts] of CASES) {
    it(name, async () => {
      const onNode = await Explainer.create(MODEL, { ...opts, runtime: nodeRuntime, threads: 1 });
      explainers.push(onNode);
      // The graph both runtimes run: onnxruntime-web must load every operator in it.
      const compiled = await onNode.compile([N, 1, 28, 28]);
      const ops = [...new Set(compiled.graph.nodes.map((n) => (n.domain ? `${n.domain}.${n.op}` : n.op)))].sort();
      try {
        await (await web.createSession(compiled.model)).release();
      } catch (e) {
        throw new Error(
          `onnxruntime-web cannot load the ${name} explainer (opset ${compiled.graph.opset}; operators ${ops.join(', ')}): ${(e as Error).message}`,
        );
      }

      const onWeb = await Explainer.create(MODEL, { ...opts, runtime: web });
      explainers.push(onWeb);
      const a = await onNode.explain(x, { target: targets });
      const b = await onWeb.explain(x, { target: targets });
      expect(b.relevance.dims).toEqual(a.relevance.dims);
      expect(b.predicted).toEqual(a.predicted);
      const ra = a.relevance.data as Float32Array;
      const rb = b.relevance.data as Float32Array;
      const la = a.logits.data as Float32Array;
      const lb = b.logits.data as Float32Array;
      const C = la.length / N;
      for (let i = 0; i < N; i++) {
        const ref = ra.subarray(i * PER, (i + 1) * PER);
        // A map of zeros would agree trivially.
        expect(
          ref.some((v) => v !== 0),
          `sample ${i}: relevance is all zero`,
        ).toBe(true);
        expect(relL2(rb.subarray(i * PER, (i + 1) * PER), ref), `sample ${i}: relevance`).toBeLessThanOrEqual(1e-5);
        expect(relL2(lb.subarray(i * C, (i + 1) * C), la.subarray(i * C, (i + 1) * C)), `sample ${i}: logits`).toBeLessThanOrEqual(1e-5);
      }
    });
  }
});
