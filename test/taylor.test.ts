/**
 * Deep Taylor's baselines: sensitivity = squared gradient, and the one-shot Taylor decomposition
 * at a nearest root inside the input box, on detection networks whose roots are known in closed form.
 */
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { nearestRootTaylor, sensitivity } from '../src/core/explain/taylor.js';
import { buildGraph } from '../src/core/train/graph.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { Explainer } from '../src/node/api.js';

/** f(x) = Σ_j max(0, x·W_j + b_j): detectors summed by a sum pool. */
async function detectors(W: number[][], b: number[]) {
  const spec: ModelSpec = {
    input: { shape: [W.length] },
    layers: [{ type: 'dense', units: b.length, bias: 'nonpositive' }, { type: 'relu' }, { type: 'sumpool', size: b.length }],
  };
  const values = new Map<string, TensorData>([
    ['dense_0.weight', { dtype: 'float32', dims: [W.length, b.length], data: Float32Array.from(W.flat()) }],
    ['dense_0.bias', { dtype: 'float32', dims: [b.length], data: Float32Array.from(b) }],
  ]);
  return Explainer.create(encodeModel(buildGraph(spec, 'infer', { values }).graph), { method: 'gradient', threads: 1 });
}
const input = (rows: number[][]): TensorData => ({ dtype: 'float32', dims: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });

describe('deep Taylor baselines', () => {
  it('sensitivity is the squared gradient and sums to ‖∇f‖², not f(x)', async () => {
    const e = await detectors([[1], [-2], [0.5]], [-0.25]);
    const s = await sensitivity(e, input([[1, 0, 1]]), { target: 0 });
    expect(Array.from(s.relevance.data as Float32Array)).toEqual([1, 4, 0.25]);
    expect((s.logits.data as Float32Array)[0]).toBeCloseTo(1.25, 6);
    await e.release();
  });

  it('one detector: the root is the orthogonal projection onto w·x + b = 0, and R sums to f(x)', async () => {
    const e = await detectors([[1], [2], [-1]], [-0.5]);
    const x = [0.4, 0.3, 0.1];
    const t = await nearestRootTaylor(e, input([x]), { target: 0, low: -10, high: 10 });
    const z = 0.4 + 0.6 - 0.1 - 0.5;
    const root = x.map((v, k) => v - (z * [1, 2, -1][k]!) / 6);
    (t.roots.data as Float32Array).forEach((v, k) => expect(v).toBeCloseTo(root[k]!, 4));
    expect(t.reached).toEqual([true]);
    const R = Array.from(t.relevance.data as Float32Array);
    R.forEach((v, k) => expect(v).toBeCloseTo(([1, 2, -1][k]! ** 2 * z) / 6, 4));
    await e.release();
  });

  it('a bound stops the search along the gradient: the root stays in the box, off the unconstrained nearest root', async () => {
    // f = max(0, x0 + x1 − 0.5) at x = (0.1, 0.9): the unconstrained root (−0.15, 0.65) leaves [0, 1];
    // inside, the nearest root along the free direction is (0, 0.5).
    const e = await detectors([[1], [1]], [-0.5]);
    const t = await nearestRootTaylor(e, input([[0.1, 0.9]]), { target: 0, low: 0, high: 1 });
    // (within the tolerance: f(x̃) ≤ 1e-3·f(x))
    const root = Array.from(t.roots.data as Float32Array);
    expect(root[0]).toBe(0);
    expect(root[1]).toBeCloseTo(0.5, 3);
    const R = Array.from(t.relevance.data as Float32Array);
    expect(R[0]).toBeCloseTo(0.1, 4);
    expect(R[1]).toBeCloseTo(0.4, 3);
    await e.release();
  });

  it('two detectors switching off on the way: the gradient at the root misses the other detector, ΣR ≠ f(x)', async () => {
    // f = max(0, x0 − 0.1) + max(0, x1 − 0.6) at (0.5, 0.7): f = 0.5; the first step crosses
    // the second detector's threshold; R = ∇f(x̃)·(x − x̃) keeps only the first detector's slope.
    const e = await detectors(
      [
        [1, 0],
        [0, 1],
      ],
      [-0.1, -0.6],
    );
    const t = await nearestRootTaylor(e, input([[0.5, 0.7]]), { target: 0, low: 0, high: 1 });
    expect(t.reached).toEqual([true]);
    expect(t.rootScores[0]).toBeLessThanOrEqual(0.5e-3);
    const R = Array.from(t.relevance.data as Float32Array);
    expect(R[1]).toBe(0);
    expect(R[0]! + R[1]!).not.toBeCloseTo(0.5, 2);
    await e.release();
  });

  it('refuses other methods, inputs outside the box and a bad box', async () => {
    const e = await detectors([[1]], [0]);
    await expect(nearestRootTaylor(e, input([[2]]), { low: 0, high: 1 })).rejects.toThrow(/outside the box \[0, 1\]/);
    await expect(nearestRootTaylor(e, input([[0.5]]), { low: 1, high: 0 })).rejects.toThrow(/low ≤ high/);
    await e.release();
    const lrp = await Explainer.create(
      encodeModel(
        buildGraph({ input: { shape: [1] }, layers: [{ type: 'dense', units: 1 }] }, 'infer', {
          values: new Map([
            ['dense_0.weight', { dtype: 'float32', dims: [1, 1], data: Float32Array.from([1]) }],
            ['dense_0.bias', { dtype: 'float32', dims: [1], data: Float32Array.from([0]) }],
          ]),
        }).graph,
      ),
    );
    await expect(sensitivity(lrp, input([[1]]))).rejects.toThrow(/method "gradient"/);
    await lrp.release();
  });
});
