/**
 * The model card `relprop train` writes records the raw input range (what box rules need) and
 * the threads used: [0, 1] for 8-bit pixels the loader scales, the observed min and max for float
 * .npy data, nothing for token ids.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { readModelCard } from '../src/node/model-card.js';
import { relprop } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'relprop-card-'));
const tinyIdx = join(import.meta.dirname, 'fixtures', 'fashion-mnist-tiny', 't10k-images-idx3-ubyte.gz');

function writeJson(name: string, v: unknown): string {
  const p = join(tmp, name);
  writeFileSync(p, JSON.stringify(v));
  return p;
}
const imageSpec = writeJson('image-spec.json', {
  input: { shape: [1, 28, 28] },
  layers: [{ type: 'conv2d', filters: 2, kernel: 3 }, { type: 'relu' }, { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'dense', units: 10 }],
});
const vectorSpec = writeJson('vector-spec.json', { input: { shape: [3] }, layers: [{ type: 'dense', units: 2 }] });

/** Train for one epoch and return the card. */
async function train(name: string, args: string[]) {
  const out = join(tmp, `${name}.onnx`);
  const r = await relprop(['train', ...args, '--epochs', '1', '--batch-size', '8', '--out', out, '--quiet']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const raw = JSON.parse(readFileSync(join(tmp, `${name}.json`), 'utf8')) as { input: Record<string, unknown>; training: Record<string, unknown> };
  return { raw, card: readModelCard(out)! };
}

describe('relprop train: the model card', () => {
  it('IDX pixels: input.range [0, 1], and the threads asked for', async () => {
    const { raw, card } = await train('idx', ['--spec', imageSpec, '--data', tinyIdx, '--threads', '1']);
    expect(raw.input.range).toEqual([0, 1]);
    expect(raw.input.range_note).toMatch(/pixel/);
    expect(card.inputRange).toEqual([0, 1]);
    expect(raw.training.threads).toBe(1);
  });

  it('float .npy: the observed min and max of the training inputs (validation share included); threads default to one per core', async () => {
    const x = Float32Array.from({ length: 20 * 3 }, (_, i) => ((i * 7) % 11) / 2 - 2.5);
    x[17] = -3.75;
    x[40] = 6.5;
    writeFileSync(join(tmp, 'x.npy'), encodeNpy({ dtype: 'float32', dims: [20, 3], data: x }));
    writeFileSync(join(tmp, 'y.npy'), encodeNpy({ dtype: 'int64', dims: [20], data: BigInt64Array.from({ length: 20 }, (_, i) => BigInt(i % 2)) }));
    const { raw, card } = await train('npy', ['--spec', vectorSpec, '--data', join(tmp, 'x.npy'), '--labels', join(tmp, 'y.npy'), '--val-split', '0.2']);
    expect(card.inputRange).toEqual([-3.75, 6.5]);
    expect(raw.input.range_note).toMatch(/observed/);
    expect(raw.training.threads).toBe(availableParallelism());
  });

  it('uint8 .npy is scaled to [0, 1]', async () => {
    const u8 = Uint8Array.from({ length: 8 * 3 }, (_, i) => (i * 37) % 200);
    writeFileSync(join(tmp, 'u8.npy'), encodeNpy({ dtype: 'uint8', dims: [8, 3], data: u8 }));
    writeFileSync(join(tmp, 'y8.npy'), encodeNpy({ dtype: 'int64', dims: [8], data: BigInt64Array.from({ length: 8 }, (_, i) => BigInt(i % 2)) }));
    const { card } = await train('u8', ['--spec', vectorSpec, '--data', join(tmp, 'u8.npy'), '--labels', join(tmp, 'y8.npy')]);
    expect(card.inputRange).toEqual([0, 1]);
  });

  it('an image folder: [0, 1]', async () => {
    for (const [cls, shade] of [
      ['dark', 40],
      ['light', 200],
    ] as const) {
      mkdirSync(join(tmp, 'images', cls), { recursive: true });
      for (let k = 0; k < 3; k++) {
        const png = new PNG({ width: 28, height: 28 });
        png.data.fill(shade + k);
        for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
        writeFileSync(join(tmp, 'images', cls, `${k}.png`), PNG.sync.write(png, { colorType: 0 }));
      }
    }
    const spec = writeJson('two-class.json', {
      input: { shape: [1, 28, 28] },
      layers: [{ type: 'conv2d', filters: 2, kernel: 3 }, { type: 'relu' }, { type: 'globalavgpool' }, { type: 'flatten' }, { type: 'dense', units: 2 }],
    });
    const { card } = await train('folder', ['--spec', spec, '--data', join(tmp, 'images')]);
    expect(card.inputRange).toEqual([0, 1]);
  });

  it('token ids: no input range', async () => {
    const docs = Array.from({ length: 8 }, (_, i) => JSON.stringify({ ids: [1, 2 + (i % 3), 4, 5], y: i % 2 })).join('\n');
    writeFileSync(join(tmp, 'ids.jsonl'), docs);
    const spec = writeJson('text-spec.json', {
      input: { shape: [null], dtype: 'int64' },
      layers: [
        { type: 'embedding', vocab: 8, dim: 4, padId: 0 },
        { type: 'conv1d', filters: 3, kernel: 1 },
        { type: 'globalmaxpool' },
        { type: 'flatten' },
        { type: 'dense', units: 2 },
      ],
    });
    const { raw, card } = await train('text', ['--spec', spec, '--data', join(tmp, 'ids.jsonl')]);
    expect(raw.input.dtype).toBe('int64');
    expect('range' in raw.input).toBe(false);
    expect(card.inputRange).toBeUndefined();
  });
});
