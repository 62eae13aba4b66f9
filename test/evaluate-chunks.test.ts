/** Region perturbation split into chunks: each chunk alone, in any order, and resuming from a progress store. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMethodSpec } from '../src/core/evaluate/methods.js';
import {
  checkRun,
  chunkCount,
  evaluateChunk,
  evaluateRegionPerturbation,
  memoryProgress,
  openEngines,
  releaseEngines,
  type Dataset,
  type EvaluateConfig,
  type ProgressStore,
  type RunOptions,
  type SampleRecord,
} from '../src/core/evaluate/region-perturbation.js';
import { readNpy } from '../src/core/onnx/npy.js';
import { encodePng } from '../src/node/visualize/png.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = new Uint8Array(readFileSync(join(ROOT, 'models', 'fmnist-cnn.onnx')));

function samples(n: number): Dataset {
  const t = readNpy(readFileSync(join(ROOT, 'models', 'samples', 'samples.npy')));
  const per = t.data.length / t.dims[0]!;
  // ids other than 0..n-1: the random streams are keyed by them.
  return {
    x: { dtype: 'float32', dims: [n, ...t.dims.slice(1)], data: (t.data as Float32Array).slice(0, n * per) },
    ids: Array.from({ length: n }, (_, i) => 40 + 3 * i),
  };
}

/** A memory store that also records which chunks were appended. */
function recordingStore(): { store: ProgressStore; appended: number[] } {
  const inner = memoryProgress();
  const appended: number[] = [];
  const store: ProgressStore = {
    async open(hash, settings) {
      const log = await inner.open(hash, settings);
      return {
        done: log.done,
        spent: log.spent,
        append: (c, records, spent) => {
          appended.push(c);
          return log.append(c, records, spent);
        },
      };
    },
  };
  return { store, appended };
}

describe('region perturbation by chunks', () => {
  const methods = ['lrp:epsilon-plus-flat', 'gradient', 'random'].map((m) => parseMethodSpec(m));
  const config: EvaluateConfig = { methods, regionSize: [4, 4], steps: 12, chunkSize: 2, repeats: 2 };
  const run: RunOptions = { threads: 1, forwardBatch: 50, encodePng: (rgba, w, h) => encodePng(rgba, w, h, 1) };
  const data = samples(5);
  // Per sample: 3 methods × 2 repeats × 2 orders × 12 steps.
  const PER_SAMPLE = 144;

  it('evaluates each chunk on its own, in any order, to the records of the whole run', async () => {
    const whole = await evaluateRegionPerturbation(MODEL, data, config, run);
    expect(whole.records.length).toBe(15);
    const { plan, engines } = await openEngines(MODEL, checkRun(data, config, run), run);
    try {
      expect(chunkCount(plan)).toBe(3);
      const byChunk = new Map<number, SampleRecord[]>();
      for (const c of [2, 0, 1]) {
        let heard = 0;
        const { records, spent } = await evaluateChunk(plan, engines, c, (n) => (heard += n));
        const n = c === 2 ? 1 : 2;
        expect(spent.inferences).toBe(n * PER_SAMPLE);
        expect(heard).toBe(spent.inferences);
        expect(records.map((r) => [r.chunk, r.i])).toEqual(methods.flatMap(() => Array.from({ length: n }, (_, i) => [c, 2 * c + i])));
        byChunk.set(c, records);
      }
      expect([0, 1, 2].flatMap((c) => byChunk.get(c)!)).toEqual(whole.records);
      await expect(evaluateChunk(plan, engines, 3)).rejects.toThrow(/chunk 3 is out of range \(3 chunks\)/);
    } finally {
      await releaseEngines(engines);
    }
  });

  it('resumes an aborted run from its store, skipping the chunks it holds', async () => {
    const whole = await evaluateRegionPerturbation(MODEL, data, config, run);
    const { store, appended } = recordingStore();
    const controller = new AbortController();
    const first = await evaluateRegionPerturbation(MODEL, data, config, {
      ...run,
      progress: store,
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 0) controller.abort();
      },
    });
    expect(first.complete).toBe(false);
    expect(appended).toEqual([0]);
    expect(first.records).toEqual(whole.records.filter((r) => r.chunk === 0));
    const heard: [number, number][] = [];
    const resumed = await evaluateRegionPerturbation(MODEL, data, config, {
      ...run,
      forwardBatch: 7,
      progress: store,
      onProgress: (d, t) => heard.push([d, t]),
    });
    expect(resumed.complete).toBe(true);
    expect(appended).toEqual([0, 1, 2]);
    expect(resumed.records).toEqual(whole.records);
    expect(heard[0]).toEqual([2 * PER_SAMPLE, 5 * PER_SAMPLE]);
    expect(heard.at(-1)).toEqual([5 * PER_SAMPLE, 5 * PER_SAMPLE]);
    expect(resumed.timing.inferences).toBe(3 * PER_SAMPLE);
    expect(resumed.timingAllChunks?.inferences).toBe(5 * PER_SAMPLE);
    expect(whole.timingAllChunks).toBeUndefined();
    await expect(evaluateRegionPerturbation(MODEL, data, { ...config, seed: 1 }, { ...run, progress: store })).rejects.toThrow(/other settings/);
  });
});
