/** What users see from the CLI: heatmap figures with the input and a colour bar, class names, the demo page, evaluate's grid captions. */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../src/core/onnx/npy.js';
import { colorize } from '../src/core/visualize/colormap.js';
import { loadImage } from '../src/node/io/image.js';
import { relprop } from './helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'relprop-view-'));
const MODELS = join(import.meta.dirname, '..', 'models');
const MODEL = join(MODELS, 'fmnist-cnn.onnx');
const DRESS = join(MODELS, 'samples', '13-dress.png');
const pixel = (png: PNG, x: number, y: number) => [...png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 3)];

/** Where the 28×28 image, upscaled 8×, sits in the figure (undefined when it is not there). */
function findInput(png: PNG, gray: Float32Array): [number, number] | undefined {
  for (let y0 = 0; y0 + 224 <= png.height; y0++)
    for (let x0 = 0; x0 + 224 <= png.width; x0++) {
      let ok = true;
      for (let p = 0; p < 784 && ok; p++) {
        const v = Math.round(gray[p]! * 255);
        // Both corners of every 8×8 cell: only the exact position matches.
        for (const d of [0, 7]) ok &&= pixel(png, x0 + 8 * (p % 28) + d, y0 + 8 * Math.floor(p / 28) + d).every((c) => c === v);
      }
      if (ok) return [x0, y0];
    }
  return undefined;
}

/** `relprop explain` of one input into tmp/<name>.npy with a heatmap tmp/<name>.png, plus `flags`. */
const explainTo = (name: string, input: string, ...flags: string[]) =>
  relprop(['explain', '--model', MODEL, '--input', input, '--out', join(tmp, `${name}.npy`), '--heatmap', join(tmp, `${name}.png`), ...flags]);

describe('relprop explain: heatmaps and class names', () => {
  it('names the classes from the model card in its output and summary; the heatmap shows the input beside the map', async () => {
    const heat = join(tmp, 'dress.png');
    const summary = join(tmp, 'dress.json');
    const r = await explainTo('dress', DRESS, '--summary', summary, '--composite', 'epsilon-gamma-box', '--input-range', '0,1');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^sample 0: predicted 3 \(Dress\), target 3 \(Dress\), logit /m);
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s.samples[0]).toMatchObject({ predicted: 3, predicted_name: 'Dress', target: 3, target_name: 'Dress' });
    expect(s.classes).toHaveLength(10);
    const png = PNG.sync.read(readFileSync(heat));
    const gray = loadImage(readFileSync(DRESS), { channels: 1, size: [28, 28] }).data as Float32Array;
    const at = findInput(png, gray);
    expect(at, 'the input image is in the figure').toBeDefined();
    // The heatmap is right of the input: its pixel for the most relevant input is the colour bar's top colour.
    const rel = readNpy(readFileSync(join(tmp, 'dress.npy'))).data as Float32Array;
    let best = 0;
    for (let p = 1; p < 784; p++) if (Math.abs(rel[p]!) > Math.abs(rel[best]!)) best = p;
    const hx = at![0] + 224 + 16 + 8 * (best % 28) + 4;
    const hy = at![1] + 8 * Math.floor(best / 28) + 4;
    expect(pixel(png, hx, hy)).toEqual(colorize(Math.sign(rel[best]!), 'bwr'));
    // A colour bar: a column right of the heatmap that runs from red (top) to blue (bottom).
    const bx = at![0] + 2 * 224 + 16 + 16 + 8;
    expect(pixel(png, bx, at![1])).toEqual([255, 0, 0]);
    expect(pixel(png, bx, at![1] + 223)).toEqual([0, 0, 255]);
  });

  it('keeps the bare heatmap (--heatmap-style bare --colormap bwr): 224×224, red = +max', async () => {
    const heat = join(tmp, 'bare.png');
    const r = await explainTo('bare', DRESS, '--heatmap-style', 'bare', '--colormap', 'bwr', '--quiet');
    expect(r.stderr).toBe('');
    const png = PNG.sync.read(readFileSync(heat));
    expect([png.width, png.height]).toEqual([224, 224]);
    const rel = readNpy(readFileSync(join(tmp, 'bare.npy'))).data as Float32Array;
    const m = Math.max(...Array.from(rel, Math.abs));
    for (const p of [0, 300, 500]) expect(pixel(png, 8 * (p % 28) + 4, 8 * Math.floor(p / 28) + 4)).toEqual(colorize(rel[p]! / m, 'bwr'));
  });

  it('uses a sequential colour map for all-positive maps and a clear error for a contradictory style', async () => {
    // epsilon-plus-flat on this image gives no negative relevance (z+ and flat rules below the dense layers).
    const heat = join(tmp, 'pos.png');
    const summary = join(tmp, 'pos.json');
    const t = await explainTo('pos', join(MODELS, 'samples', '19-t-shirt-top.png'), '--summary', summary, '--quiet');
    expect(t.stderr).toBe('');
    const rel = readNpy(readFileSync(join(tmp, 'pos.npy'))).data as Float32Array;
    expect(Math.min(...rel)).toBeGreaterThanOrEqual(0);
    const png = PNG.sync.read(readFileSync(heat));
    const gray = loadImage(readFileSync(join(MODELS, 'samples', '19-t-shirt-top.png')), { channels: 1, size: [28, 28] }).data as Float32Array;
    const at = findInput(png, gray)!;
    const bx = at[0] + 2 * 224 + 16 + 16 + 8;
    expect(pixel(png, bx, at[1])).toEqual(colorize(1, 'viridis'));
    expect(pixel(png, bx, at[1] + 223)).toEqual(colorize(0, 'viridis'));
    const r = await explainTo('x', DRESS, '--overlay', '--heatmap-style', 'side-by-side');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^relprop: error: --overlay and --heatmap-style side-by-side contradict each other$/);
    expect(readdirSync(tmp)).not.toContain('x.npy');
  });
});

describe('relprop demo: the page explains ΣR / logit and links its files', () => {
  it('links every file it wrote and states what ΣR means per method', async () => {
    const out = join(tmp, 'demo');
    const r = await relprop(['demo', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    for (const f of readdirSync(out)) if (f !== 'index.html') expect(html, f).toContain(`href="${f}"`);
    expect(html).toContain('What ΣR / logit means');
    expect(html).toMatch(/<dt>integrated gradients<\/dt><dd>Sums to logit − f\(baseline\)/);
    expect(html).toMatch(/<dt>gradient<\/dt><dd>Not a decomposition of the logit/);
    expect(html).toMatch(/<dt>LRP epsilon-gamma-box<\/dt><dd>Conservative/);
    expect(html).toContain('ΣR / (logit − f(baseline))');
    expect(html).toContain('0 (T-shirt/top)');
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const ig = s.results.find((x: { method: string }) => x.method === 'integrated gradients');
    expect(ig.predicted_name).toBe('T-shirt/top');
    expect(typeof ig.baseline_logit).toBe('number');
    // Every heatmap PNG is a figure: wider than the 224-pixel map alone.
    expect(PNG.sync.read(readFileSync(join(out, '0-gradient.png'))).width).toBeGreaterThan(2 * 224);
  });
});

describe('relprop evaluate: captions per row, class names', () => {
  it('shows magnitude rows with a sequential map and says so; names the classes', async () => {
    const out = join(tmp, 'eval');
    const r = await relprop([
      'evaluate',
      '--model',
      MODEL,
      '--data',
      join(MODELS, 'samples', 'samples.npy'),
      '--out',
      out,
      '--limit',
      '3',
      '--methods',
      'gradient,lrp:epsilon-gamma-box,random',
      '--input-range',
      '0,1',
      '--region-size',
      '7',
      '--steps',
      '4',
      '--threads',
      '1',
      '--heatmap-samples',
      '2',
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(res.heatmapGrid.colormaps).toEqual([null, 'viridis', 'bwr']);
    expect(res.heatmapGrid.captions[1]).toMatch(/^magnitude \(l2 over channels\)/);
    expect(res.heatmapGrid.captions[2]).toMatch(/^signed: red > 0, blue < 0/);
    const svg = readFileSync(join(out, 'heatmaps-labelled.svg'), 'utf8');
    expect(svg).not.toMatch(/red: positive, blue: negative/);
    expect(svg).toContain('magnitude (l2 over channels)');
    expect(svg).toContain('T-shirt/top');
    // The unlabelled grid: the gradient row (row 1) has no white pixel (bwr's zero), the LRP row has some.
    const grid = PNG.sync.read(readFileSync(join(out, 'heatmaps.png')));
    const tile = 112;
    const white = (row: number) => {
      let n = 0;
      for (let y = row * (tile + 2); y < row * (tile + 2) + tile; y++) for (let x = 0; x < tile; x++) if (pixel(grid, x, y).every((c) => c === 255)) n++;
      return n;
    };
    expect(white(1)).toBe(0);
    expect(white(2)).toBeGreaterThan(0);
    const csv = readFileSync(join(out, 'samples.csv'), 'utf8').split('\n');
    expect(csv[0]).toMatch(/,label_name,target_name,predicted_name$/);
    expect(csv[1]).toMatch(/,T-shirt\/top,T-shirt\/top$/);
  });
});
