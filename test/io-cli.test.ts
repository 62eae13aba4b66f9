/**
 * The CLI's image inputs and output files end to end (the built dist/ CLI): images are converted
 * visibly (one stderr line saying what was done), damaged images get one clear error, output
 * names must have their format's extension, and a failing command leaves nothing behind — no
 * files, no temp files, no empty folders.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import { relprop } from './helpers/cli.js';
import { FIXTURES } from './helpers/fixtures.js';
import { discardUnfinishedProgress, ProgressFile } from '../src/node/evaluate/progress.js';

const ROOT = join(import.meta.dirname, '..');
const FMNIST = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLE = join(ROOT, 'models', 'samples', readdirSync(join(ROOT, 'models', 'samples')).find((f) => f.endsWith('.png'))!);
const CNN = join(FIXTURES, 'cnn', 'model.onnx'); // [N, 1, 14, 14] → 10 classes
const TEXT_MODEL = join(ROOT, 'examples', 'text', 'standin', 'textcnn.onnx');
const root = mkdtempSync(join(tmpdir(), 'relprop-io-cli-'));
let dirs = 0;
/** A fresh empty folder per case, so that "nothing left behind" is "the folder is as it was". */
const fresh = (): string => {
  const d = join(root, `case-${dirs++}`);
  mkdirSync(d);
  return d;
};
/** Every file and folder under `dir` (hidden ones too: temp files start with a dot). */
const tree = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [`${e.name}/`, ...tree(join(dir, e.name)).map((p) => `${e.name}/${p}`)] : [e.name],
  );

/** w×h RGBA PNG from a per-pixel function. */
function rgbaPng(w: number, h: number, px: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set(px(x, y), 4 * (y * w + x));
  return PNG.sync.write(png);
}

/** Black ink (a 10×10 square) on a transparent background, as drawing programs save it. */
const ink = (x: number, y: number): [number, number, number, number] => (x >= 9 && x < 19 && y >= 9 && y < 19 ? [0, 0, 0, 255] : [0, 0, 0, 0]);

const expectOneErrorLine = (r: { code: number; stderr: string }, message: RegExp) => {
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^relprop: error: /);
  expect(r.stderr).toMatch(message);
};

describe('images are converted visibly', () => {
  it('RGBA: alpha over white by default (the ink stays visible), one line saying so; --background black', async () => {
    const d = fresh();
    const png = join(d, 'ink.png');
    writeFileSync(png, rgbaPng(28, 28, ink));
    // The input the model must see: 0 on the ink, 1 (white) around it.
    const expected = new Float32Array(784).map((_, p) => (ink(p % 28, Math.floor(p / 28))[3] === 255 ? 0 : 1));
    const npy = join(d, 'expected.npy');
    writeFileSync(npy, encodeNpy({ dtype: 'float32', dims: [1, 1, 28, 28], data: expected }));
    const run = async (input: string, out: string, extra: string[] = []) =>
      relprop(['explain', '--model', FMNIST, '--input', input, '--out', join(d, out), '--method', 'gradient-x-input', '--target', '0', '--quiet', ...extra]);
    const fromPng = await run(png, 'png.npy');
    expect(fromPng.code).toBe(0);
    expect(fromPng.stderr).toBe(`relprop: ${png}: 28×28 RGBA → 28×28 grey (alpha over white)\n`);
    const fromNpy = await run(npy, 'npy.npy');
    expect(fromNpy.stderr).toBe('');
    // gradient × input: zero wherever the input is zero, so this also pins which pixels were white
    expect(readNpy(readFileSync(join(d, 'png.npy'))).data).toEqual(readNpy(readFileSync(join(d, 'npy.npy'))).data);

    const black = await run(png, 'black.npy', ['--background', 'black']);
    expect(black.stderr).toBe(`relprop: ${png}: 28×28 RGBA → 28×28 grey (alpha over black)\n`);
    for (const v of readNpy(readFileSync(join(d, 'black.npy'))).data as Float32Array) expect(v === 0).toBe(true);
  });

  it('says what it did to a non-square RGBA image, and how --fit changes it; nothing for a matching image', async () => {
    const d = fresh();
    const png = join(d, 'input.png');
    writeFileSync(
      png,
      rgbaPng(300, 200, (x) => [200, 100, 50, x < 150 ? 0 : 255]),
    );
    const explain = (fit: string[]) => relprop(['explain', '--model', FMNIST, '--input', png, '--out', join(d, 'r.npy'), '--quiet', ...fit]);
    expect((await explain([])).stderr).toBe(`relprop: ${png}: 300×200 RGBA → 28×28 grey (alpha over white, resized without keeping the aspect ratio)\n`);
    expect((await explain(['--fit', 'pad'])).stderr).toBe(
      `relprop: ${png}: 300×200 RGBA → 28×28 grey (alpha over white, resized keeping the aspect ratio, padded with white)\n`,
    );
    expect((await explain(['--fit', 'crop', '--background', '#ff0000'])).stderr).toBe(
      `relprop: ${png}: 300×200 RGBA → 28×28 grey (alpha over #ff0000, centre cropped to the aspect ratio, then resized)\n`,
    );
    const jpg = join(d, 'photo.jpg');
    const data = new Uint8Array(40 * 30 * 4).fill(120);
    writeFileSync(jpg, encodeJpeg({ width: 40, height: 30, data }, 90).data);
    const j = await relprop(['explain', '--model', FMNIST, '--input', jpg, '--out', join(d, 'j.npy'), '--quiet']);
    expect(j.stderr).toBe(`relprop: ${jpg}: 40×30 RGB → 28×28 grey (resized without keeping the aspect ratio)\n`);
    const same = await relprop(['explain', '--model', FMNIST, '--input', SAMPLE, '--out', join(d, 's.npy'), '--quiet']);
    expect(same.code).toBe(0);
    expect(same.stderr).toBe('');
  });

  it('a bad --background or --fit is one error line', async () => {
    const d = fresh();
    for (const [flag, value, message] of [
      ['--background', 'purple', /--background needs white, black or #rrggbb, got "purple"/],
      ['--fit', 'stretch', /--fit.*stretch.*squash, pad, crop/],
    ] as const) {
      const r = await relprop(['explain', '--model', FMNIST, '--input', SAMPLE, '--out', join(d, 'r.npy'), flag, value]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(tree(d)).toEqual([]);
  });

  it('image folders (evaluate, train, test): one line counting the conversions', async () => {
    const d = fresh();
    const data = join(d, 'images');
    for (const [cls, shade] of [
      ['a', 40],
      ['b', 220],
    ] as const) {
      mkdirSync(join(data, cls), { recursive: true });
      for (const k of [0, 1])
        writeFileSync(
          join(data, cls, `${k}.png`),
          rgbaPng(16, 8, (x) => [shade, shade, shade, x < 4 ? 0 : 255]),
        );
    }
    const ev = await relprop([
      'evaluate',
      '--model',
      FMNIST,
      '--data',
      data,
      '--out',
      join(d, 'eval'),
      '--methods',
      'gradient,random',
      '--region-size',
      '7',
      '--steps',
      '2',
      '--heatmap-samples',
      '0',
      '--no-plot',
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(ev.code).toBe(0);
    expect(ev.stderr).toBe(
      `relprop: ${data}: 4 of 4 images converted to 28×28 grey: 4 from RGBA; 4 alpha over white; 4 resized without keeping the aspect ratio\n`,
    );
    const spec = join(d, 'spec.json');
    writeFileSync(spec, JSON.stringify({ input: { shape: [1, 8, 8] }, layers: [{ type: 'flatten' }, { type: 'dense', units: 2 }] }));
    const model = join(d, 'net.onnx');
    const tr = await relprop(['train', '--spec', spec, '--data', data, '--epochs', '1', '--batch-size', '2', '--out', model, '--threads', '1', '--quiet']);
    expect(tr.code).toBe(0);
    const line = `relprop: ${data}: 4 of 4 images converted to 8×8 grey: 4 from RGBA; 4 alpha over white; 4 resized without keeping the aspect ratio\n`;
    expect(tr.stderr).toBe(line);
    const te = await relprop(['test', model, '--data', data, '--threads', '1', '--quiet']);
    expect(te.code).toBe(0);
    expect(te.stderr).toBe(line);
    const padded = await relprop(['test', model, '--data', data, '--fit', 'pad', '--background', 'black', '--threads', '1', '--quiet']);
    expect(padded.stderr).toMatch(/4 alpha over black; 4 resized keeping the aspect ratio, padded with black\n$/);
  });
});

describe('damaged or foreign images: one error line in our words', () => {
  const d = fresh();
  const sample = readFileSync(SAMPLE);
  const truncatedPng = join(d, 'truncated.png');
  writeFileSync(truncatedPng, sample.subarray(0, Math.floor(sample.length / 2)));
  const jpg = Buffer.from(encodeJpeg({ width: 28, height: 28, data: new Uint8Array(28 * 28 * 4).fill(90) }, 90).data);
  const truncatedJpg = join(d, 'truncated.jpg');
  writeFileSync(truncatedJpg, jpg.subarray(0, Math.floor(jpg.length / 2)));
  const gif = join(d, 'picture.png');
  writeFileSync(gif, Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'));
  for (const [what, path, message] of [
    ['a truncated PNG', truncatedPng, `cannot read image ${truncatedPng}: the PNG file is truncated or corrupt`],
    ['a truncated JPEG', truncatedJpg, `cannot read image ${truncatedJpg}: the JPEG file is truncated or corrupt`],
    ['a GIF named .png', gif, `cannot read image ${gif}: it is a GIF file; relprop reads PNG and JPEG images`],
  ] as const) {
    it(what, async () => {
      const out = join(d, 'r.npy');
      const r = await relprop(['explain', '--model', FMNIST, '--input', path, '--out', out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(`relprop: error: ${message}\n`);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('in an image folder, naming the file', async () => {
    const folder = join(fresh(), 'imgs');
    mkdirSync(folder);
    writeFileSync(join(folder, 'a.png'), sample);
    writeFileSync(join(folder, 'b.png'), sample.subarray(0, 100));
    const out = join(folder, '..', 'eval');
    const r = await relprop(['evaluate', '--model', FMNIST, '--data', folder, '--out', out, '--methods', 'gradient', '--quiet']);
    expect(r.stderr).toBe(`relprop: error: cannot read image ${join(folder, 'b.png')}: the PNG file is truncated or corrupt\n`);
    expect(existsSync(out)).toBe(false);
  });
});

describe('output names must have their format extension', () => {
  const input = join(root, 'x.npy');
  writeFileSync(input, encodeNpy({ dtype: 'float32', dims: [1, 1, 14, 14], data: new Float32Array(196).fill(0.5) }));
  const cases: [string, (d: string) => string[], RegExp][] = [
    [
      'explain --out',
      (d) => ['explain', '--model', CNN, '--input', input, '--out', join(d, 'rel.png')],
      /--out .*rel\.png: the file is written as \.npy; give it a name ending in \.npy/,
    ],
    [
      'explain --heatmap',
      (d) => ['explain', '--model', CNN, '--input', input, '--out', join(d, 'r.npy'), '--heatmap', join(d, 'h.npy')],
      /--heatmap .*h\.npy: .* ending in \.png/,
    ],
    [
      'explain --summary',
      (d) => ['explain', '--model', CNN, '--input', input, '--out', join(d, 'r.npy'), '--summary', join(d, 's.txt')],
      /--summary .*s\.txt: .* ending in \.json/,
    ],
    [
      'explain --save-explainer',
      (d) => ['explain', '--model', CNN, '--input', input, '--out', join(d, 'r.npy'), '--save-explainer', join(d, 'e.json')],
      /--save-explainer .*e\.json: .* ending in \.onnx/,
    ],
    [
      'explain-text --html',
      (d) => ['explain-text', '--model', TEXT_MODEL, '--html', join(d, 'w.txt'), 'a sound editor'],
      /--html .*w\.txt: .* ending in \.html or \.htm/,
    ],
    [
      'explain-text --json',
      (d) => ['explain-text', '--model', TEXT_MODEL, '--json', join(d, 'w.jsonl'), 'a sound editor'],
      /--json .*w\.jsonl: .* ending in \.json/,
    ],
    [
      'train --out',
      (d) => ['train', '--preset', 'mlp', '--data', join(FIXTURES, 'fashion-mnist-tiny'), '--out', join(d, 'm.npy')],
      /--out .*m\.npy: .* ending in \.onnx/,
    ],
    ['word-vectors --out', (d) => ['word-vectors', '--data', input, '--vocab-size', '10', '--out', join(d, 'v.json')], /--out .*v\.json: .* ending in \.npy/],
    ['text-vocab --out', (d) => ['text-vocab', '--data', input, '--out', join(d, 'v.txt')], /--out .*v\.txt: .* ending in \.json/],
    [
      'text-encode --out',
      (d) => ['text-encode', '--vocab', 'v.json', '--data', input, '--out', join(d, 'ids.json')],
      /--out .*ids\.json: .* ending in \.jsonl/,
    ],
    [
      'evaluate --progress',
      (d) => ['evaluate', '--model', CNN, '--data', input, '--out', join(d, 'eval'), '--progress', join(d, 'p.json')],
      /--progress .*p\.json: .* ending in \.jsonl/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: refused before any work, nothing written`, async () => {
      const d = fresh();
      expectOneErrorLine(await relprop(args(d)), message);
      expect(tree(d)).toEqual([]);
    });
  }
});

describe('no partial output: a failing command leaves nothing behind', () => {
  const batch = join(root, 'batch.npy');
  writeFileSync(batch, encodeNpy({ dtype: 'float32', dims: [3, 1, 14, 14], data: new Float32Array(588).fill(0.5) }));
  const explain = (args: string[]) => relprop(['explain', '--model', CNN, '--input', batch, '--target', '1', ...args]);

  it('explain: a --heatmap or --summary that cannot be written stops the .npy too', async () => {
    const d = fresh();
    writeFileSync(join(d, 'file.txt'), '');
    expectOneErrorLine(
      await explain(['--out', join(d, 'r.npy'), '--heatmap', join(d, 'missing', 'h.png')]),
      /cannot write .*h(-0)?\.png: its folder does not exist/,
    );
    expect(tree(d)).toEqual(['file.txt']);
    expectOneErrorLine(await explain(['--out', join(d, 'r.npy'), '--summary', join(d, 'file.txt', 's.json')]), /cannot write .*s\.json: /);
    expect(tree(d)).toEqual(['file.txt']);
    mkdirSync(join(d, 'r2.npy'));
    expectOneErrorLine(await explain(['--out', join(d, 'r2.npy')]), /cannot write .*r2\.npy: it is a folder/);
    // numbered heatmaps are checked once the batch size is known, still before the work
    mkdirSync(join(d, 'h-1.png'));
    expectOneErrorLine(await explain(['--out', join(d, 'r.npy'), '--heatmap', join(d, 'h.png')]), /cannot write .*h-1\.png: it is a folder/);
    expect(tree(d).sort()).toEqual(['file.txt', 'h-1.png/', 'r2.npy/']);
    // and the same command with writable outputs writes them all
    const ok = await explain(['--out', join(d, 'r.npy'), '--heatmap', join(d, 'g.png'), '--summary', join(d, 's.json'), '--quiet']);
    expect(ok.code).toBe(0);
    expect(tree(d).sort()).toEqual(['file.txt', 'g-0.png', 'g-1.png', 'g-2.png', 'h-1.png/', 'r.npy', 'r2.npy/', 's.json']);
  });

  it('explain-text: an unwritable --json stops the --html too', async () => {
    const d = fresh();
    expectOneErrorLine(
      await relprop(['explain-text', '--model', TEXT_MODEL, '--html', join(d, 'w.html'), '--json', join(d, 'no', 'w.json'), 'a sound editor']),
      /cannot write .*w\.json: its folder does not exist/,
    );
    expect(tree(d)).toEqual([]);
  });

  it('text-vocab, text-encode, word-vectors: an unwritable --out is refused before the work', async () => {
    const d = fresh();
    const docs = join(root, 'docs.jsonl');
    writeFileSync(docs, '{"label":"a","text":"red red apple"}\n{"label":"b","text":"blue blue sky"}\n');
    const ids = join(root, 'ids.jsonl');
    writeFileSync(ids, '{"ids":[2,3,4,2]}\n{"ids":[3,4,5]}\n');
    expectOneErrorLine(await relprop(['text-vocab', '--data', docs, '--out', join(d, 'no', 'v.json')]), /cannot write .*v\.json: its folder does not exist/);
    expectOneErrorLine(
      await relprop(['text-encode', '--vocab', join(TEXT_MODEL.replace(/\.onnx$/, '.vocab.json')), '--data', docs, '--out', join(d, 'no', 'i.jsonl')]),
      /cannot write .*i\.jsonl: its folder does not exist/,
    );
    expectOneErrorLine(
      await relprop(['word-vectors', '--data', ids, '--vocab-size', '6', '--dim', '2', '--out', join(d, 'no', 'v.npy')]),
      /cannot write .*v\.npy: its folder does not exist/,
    );
    expect(tree(d)).toEqual([]);
  });

  it('train: no output folder is created when training fails; --checkpoint-dir is checked first', async () => {
    const d = fresh();
    writeFileSync(join(d, 'file.txt'), '');
    const out = join(d, 'new', 'sub', 'm.onnx');
    expectOneErrorLine(await relprop(['train', '--preset', 'mlp', '--data', join(d, 'missing.npy'), '--out', out]), /missing\.npy/);
    expect(tree(d)).toEqual(['file.txt']);
    expectOneErrorLine(
      await relprop(['train', '--preset', 'mlp', '--data', join(FIXTURES, 'fashion-mnist-tiny'), '--out', join(d, 'file.txt', 'm.onnx')]),
      /--out .*file\.txt is a file, not a folder/,
    );
    expectOneErrorLine(
      await relprop([
        'train',
        '--preset',
        'mlp',
        '--data',
        join(FIXTURES, 'fashion-mnist-tiny'),
        '--out',
        join(d, 'm.onnx'),
        '--checkpoint-dir',
        join(d, 'file.txt', 'ck'),
      ]),
      /--checkpoint-dir .*file\.txt is a file, not a folder/,
    );
    expect(tree(d)).toEqual(['file.txt']);
  });

  it('demo: all files or none, and no folder when it fails', async () => {
    const d = fresh();
    // a folder where index.html should go: found after the work, before anything is written
    mkdirSync(join(d, 'demo', 'index.html'), { recursive: true });
    expectOneErrorLine(await relprop(['demo', '--out', join(d, 'demo'), '--threads', '1', '--quiet']), /cannot write .*index\.html: /);
    expect(tree(d).sort()).toEqual(['demo/', 'demo/index.html/']);
    writeFileSync(join(d, 'file.txt'), '');
    expectOneErrorLine(await relprop(['demo', '--out', join(d, 'file.txt', 'demo'), '--threads', '1']), /--out .*file\.txt is a file, not a folder/);
    expect(tree(d).sort()).toEqual(['demo/', 'demo/index.html/', 'file.txt']);
  });

  it('evaluate: no output folder or progress file when it fails early or in the run', async () => {
    const d = fresh();
    const data = join(root, 'eval-data.npy');
    writeFileSync(data, encodeNpy({ dtype: 'float32', dims: [4, 1, 14, 14], data: new Float32Array(784).map((_, i) => (i % 7) / 7) }));
    const args = ['--data', data, '--methods', 'gradient', '--steps', '2', '--region-size', '7', '--quiet', '--threads', '1'];
    expectOneErrorLine(await relprop(['evaluate', '--model', join(d, 'nope.onnx'), '--out', join(d, 'eval'), ...args]), /nope\.onnx/);
    expect(tree(d)).toEqual([]);
    // the text model cannot run on images: the failure comes from inside the run
    expectOneErrorLine(await relprop(['evaluate', '--model', TEXT_MODEL, '--out', join(d, 'a', 'eval'), ...args]), /./);
    expect(tree(d)).toEqual([]);
    // a successful run writes everything and keeps its progress file (resumable by design)
    const ok = await relprop(['evaluate', '--model', CNN, '--out', join(d, 'eval'), ...args, '--no-plot', '--heatmap-samples', '0']);
    expect(ok.code).toBe(0);
    expect(tree(join(d, 'eval')).sort()).toEqual(['aopc.csv', 'curves.csv', 'progress.jsonl', 'results.json', 'samples.csv', 'table.md']);
  });

  it('text-experiments: no output folder when it fails', async () => {
    const d = fresh();
    const data = join(root, 'labelled.jsonl');
    writeFileSync(data, '{"label":"sound","text":"play audio files"}\n{"label":"games","text":"a puzzle game"}\n');
    expectOneErrorLine(
      await relprop(['text-experiments', '--model', TEXT_MODEL, '--data', data, '--out', join(d, 'exp'), '--methods', 'lrp,lrp', '--threads', '1', '--quiet']),
      /listed twice/,
    );
    expect(tree(d)).toEqual([]);
    writeFileSync(join(d, 'file.txt'), '');
    expectOneErrorLine(
      await relprop(['text-experiments', '--model', TEXT_MODEL, '--data', data, '--out', join(d, 'file.txt'), '--threads', '1', '--quiet']),
      /--out .*file\.txt is a file, not a folder/,
    );
    expect(tree(d)).toEqual(['file.txt']);
  });
});

describe("evaluate's cleanup after a failed run", () => {
  it('removes a progress file with nothing to resume, keeps one with a finished chunk', async () => {
    const d = fresh();
    const path = join(d, 'progress.jsonl');
    await ProgressFile.open(path, 'hash', {});
    expect(discardUnfinishedProgress(path)).toBe(true);
    expect(tree(d)).toEqual([]);
    const log = await ProgressFile.open(path, 'hash', {});
    log.append(0, [{ chunk: 0, id: 0, method: 'gradient', target: 1, label: 1, morf: [1, 0.5], lerf: [1, 0.9] } as never]);
    expect(discardUnfinishedProgress(path)).toBe(false);
    expect(tree(d)).toEqual(['progress.jsonl']);
    expect(discardUnfinishedProgress(join(d, 'none.jsonl'))).toBe(false);
  });
});
