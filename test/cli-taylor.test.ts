/**
 * `relprop explain --method sensitivity|taylor` end to end, on a detection network with a known
 * gradient: f(x) = max(0, x·w + b), one detector per class summed by a sum pool.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../src/core/onnx/model.js';
import { readNpy } from '../src/core/onnx/npy.js';
import type { TensorData } from '../src/core/onnx/tensor.js';
import { buildGraph } from '../src/core/train/graph.js';
import type { ModelSpec } from '../src/core/train/spec.js';
import { relprop } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'relprop-taylor-cli-'));
const model = join(tmp, 'det.onnx');
// Class 0: 1·x0 + 2·x1 − 1·x2 − 0.5; class 1: −x0 + x1 + x2 − 0.25.
const spec: ModelSpec = { input: { shape: [3] }, layers: [{ type: 'dense', units: 2, bias: 'nonpositive' }, { type: 'relu' }, { type: 'sumpool', size: 1 }] };
const values = new Map<string, TensorData>([
  ['dense_0.weight', { dtype: 'float32', dims: [3, 2], data: Float32Array.from([1, -1, 2, 1, -1, 1]) }],
  ['dense_0.bias', { dtype: 'float32', dims: [2], data: Float32Array.from([-0.5, -0.25]) }],
]);
writeFileSync(model, encodeModel(buildGraph(spec, 'infer', { values }).graph));
const input = join(tmp, 'x.json');
writeFileSync(input, JSON.stringify([[0.4, 0.3, 0.1]]));
const run = (out: string, ...args: string[]) => relprop(['explain', '--model', model, '--input', input, '--out', out, '--target', '0', '--quiet', ...args]);
const rel = (p: string) => Array.from(readNpy(readFileSync(p)).data as Float32Array);

describe('explain --method sensitivity|taylor', () => {
  it('sensitivity writes the squared gradient', async () => {
    const out = join(tmp, 's.npy');
    const r = await run(out, '--method', 'sensitivity');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(rel(out)).toEqual([1, 4, 1]);
  });

  it('taylor: the root in the box [0, 1] gives R summing to f(x) = 0.4, all from the gradient w', async () => {
    const out = join(tmp, 't.npy');
    const r = await run(out, '--method', 'taylor', '--input-range', '0,1');
    expect(r.code).toBe(0);
    const R = rel(out);
    // One linear piece: R = w ⊙ (x − x̃) with w·(x − x̃) = f(x) = 0.4 + 0.6 − 0.1 − 0.5.
    expect(R.reduce((a, v) => a + v, 0)).toBeCloseTo(0.4, 3);
    // x̃ = x − t·w inside the box: t = f/‖w‖² = 0.4/6, no component clipped.
    const t = 0.4 / 6;
    [1, 2, -1].forEach((w, k) => expect(R[k]).toBeCloseTo(w * w * t, 4));
  });

  it('taylor takes the range from the model card and says so', async () => {
    writeFileSync(join(tmp, 'det.json'), JSON.stringify({ input: { range: [0, 1] } }));
    try {
      const out = join(tmp, 'card.npy');
      const r = await relprop(['explain', '--model', model, '--input', input, '--out', out, '--target', '0', '--method', 'taylor']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`relprop: root search within input range [0, 1] from ${join(tmp, 'det.json')}\n`);
      expect(rel(out).reduce((a, v) => a + v, 0)).toBeCloseTo(0.4, 3);
    } finally {
      rmSync(join(tmp, 'det.json'));
    }
  });

  it('taylor without an input range is refused, with one error line and no output', async () => {
    const out = join(tmp, 'none.npy');
    const r = await run(out, '--method', 'taylor');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^relprop: error: --method taylor needs the input range/);
    expect(existsSync(out)).toBe(false);
  });

  it('rejects LRP flags, --audit and misspelt names, listing the new methods', async () => {
    const out = join(tmp, 'bad.npy');
    for (const [args, msg] of [
      [['--method', 'taylor', '--input-range', '0,1', '--rule', 'zplus'], /--composite and --rule apply to --method lrp, not taylor/],
      [['--method', 'sensitivity', '--audit'], /--audit applies to --method lrp, not sensitivity/],
      [['--method', 'tayler'], /unknown method "tayler": did you mean "taylor"\?.*sensitivity, taylor/],
      [['--method', 'taylor', '--input-range', '0,0.2'], /outside the box/],
    ] as [string[], RegExp][]) {
      const r = await run(out, ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(existsSync(out)).toBe(false);
    }
  });
});
