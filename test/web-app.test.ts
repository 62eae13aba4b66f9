/**
 * The browser app in real headless Chromium (Debian's chromium; RELPROP_CHROMIUM names another):
 * served by `relprop web`, it compiles and runs explainers in the page on onnxruntime-web and must
 * give Node's numbers (onnxruntime-node) to 1e-5 relative L2, for the bundled model and for a user's
 * model with LRN layers opened through the file picker; its downloads hold the same numbers; bad
 * files give one error line. Without a Chromium the suite is skipped, unless RELPROP_REQUIRE_BROWSER
 * is set (CI sets it), when it fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Explainer, type ExplainerOptions, readNpy } from '../src/node/index.js';
import { loadImage } from '../src/node/io/image.js';
import { CLI, relprop } from './helpers/cli.js';
import { relL2 } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLES = join(ROOT, 'models', 'samples');
const LRN_MODEL = join(ROOT, 'examples', 'lrn-dtd', 'lrn-cnn.onnx');
const chromium = [process.env.RELPROP_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!chromium && process.env.RELPROP_REQUIRE_BROWSER)
  throw new Error('RELPROP_REQUIRE_BROWSER is set but no Chromium was found (install Debian chromium or set RELPROP_CHROMIUM)');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-web-'));

interface Last {
  model: string;
  options: ExplainerOptions;
  input: number[];
  relevance: number[];
  logits: number[];
  target: number;
}

describe.skipIf(!chromium)('relprop web: the app in headless Chromium', () => {
  let server: ChildProcess;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    server = spawn('node', [CLI, 'web', '--port', '0', '--no-open'], { stdio: ['ignore', 'pipe', 'inherit'] });
    url = await new Promise<string>((ok, fail) => {
      server.stdout!.on('data', (d: Buffer) => {
        const m = /at (http:\S+)/.exec(d.toString());
        if (m) ok(m[1]!);
      });
      server.once('exit', (code) => fail(new Error(`relprop web exited with ${code}`)));
    });
    browser = await puppeteer.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push((e as Error).message));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { relpropApp?: { last(): unknown } }).relpropApp?.last(), { timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    server?.kill();
  });

  const last = () => page.evaluate(() => (globalThis as unknown as { relpropApp: { last(): Last } }).relpropApp.last());
  /** Wait until the page has explained something other than `before` (a new input or new options). */
  const nextResult = async (before: Last, act: () => Promise<unknown>): Promise<Last> => {
    await act();
    await page.waitForFunction(
      (b: string) => {
        const l = (globalThis as unknown as { relpropApp: { last(): Last | undefined } }).relpropApp.last();
        return l !== undefined && JSON.stringify([l.options, l.input, l.model, l.target]) !== b;
      },
      { timeout: 60_000 },
      JSON.stringify([before.options, before.input, before.model, before.target]),
    );
    return last();
  };
  /** An element's text; table rows as lines of tab-separated cells. */
  const text = (sel: string) =>
    page.$eval(sel, (e) => {
      const rows = [...e.querySelectorAll('tr')];
      return rows.length > 0 ? rows.map((tr) => [...tr.children].map((c) => c.textContent).join('\t')).join('\n') : (e.textContent ?? '');
    });

  async function nodeExplain(model: string, x: Float32Array, dims: number[], o: ExplainerOptions, target: number) {
    const ex = await Explainer.create(model, { ...o, threads: 1 });
    try {
      return await ex.explain({ dtype: 'float32', dims, data: x }, { target });
    } finally {
      await ex.release();
    }
  }

  it('explains every bundled sample as Node does (same input tensor, relevance and logits to 1e-5)', async () => {
    expect(await text('#runtime')).toMatch(/onnxruntime-web 1\.\d+\.\d+, WebAssembly backend \(SIMD\), \d threads?/);
    const files = JSON.parse(readFileSync(join(SAMPLES, 'labels.json'), 'utf8')) as { file: string; class: string }[];
    let prev = await last();
    for (const [i, f] of files.entries()) {
      const r = i === 0 ? prev : await nextResult(prev, () => page.click(`#samples button[data-file="${f.file}"]`));
      prev = r;
      const x = loadImage(readFileSync(join(SAMPLES, f.file)), { channels: 1, size: [28, 28] });
      expect(r.input, f.file).toEqual(Array.from(x.data as Float32Array));
      const want = await nodeExplain(MODEL, x.data as Float32Array, x.dims, { composite: 'epsilon-plus-flat' }, r.target);
      expect(relL2(r.relevance, want.relevance.data as Float32Array), f.file).toBeLessThan(1e-5);
      expect(relL2(r.logits, want.logits.data as Float32Array), f.file).toBeLessThan(1e-5);
    }
    // The page names the classes from the card and marks the explained one.
    expect(await text('#scores tbody tr.target')).toMatch(new RegExp(`^${prev.target} ${files.at(-1)!.class}`));
    expect(await text('#audit tbody')).toMatch(/conv2d_0\s+Conv\s+flat/);
  });

  it('follows the controls: another composite, a method, a class; Node agrees', async () => {
    let r = await last();
    r = await nextResult(r, () => page.select('#composite', 'epsilon-gamma-box'));
    expect(r.options).toMatchObject({ composite: 'epsilon-gamma-box', inputRange: [0, 1] });
    const x = Float32Array.from(r.input);
    let want = await nodeExplain(MODEL, x, [1, 1, 28, 28], { composite: 'epsilon-gamma-box', inputRange: [0, 1] }, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    r = await nextResult(r, () => page.select('#target', '3'));
    expect(r.target).toBe(3);
    r = await nextResult(r, () => page.select('#method', 'gradient'));
    want = await nodeExplain(MODEL, x, [1, 1, 28, 28], { method: 'gradient' }, 3);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    expect(await text('#summary')).toMatch(/does not decompose the logit/);
    await nextResult(r, () => page.select('#method', 'lrp'));
    await page.select('#target', 'predicted');
  });

  it('a drawing on the pad becomes the input and is explained', async () => {
    const before = await last();
    const box = (await page.$('#pad'))!;
    const b = (await box.boundingBox())!;
    const r = await nextResult(before, async () => {
      await page.mouse.move(b.x + b.width * 0.3, b.y + b.height * 0.2);
      await page.mouse.down();
      await page.mouse.move(b.x + b.width * 0.5, b.y + b.height * 0.8, { steps: 8 });
      await page.mouse.up();
    });
    const ink = r.input.filter((v) => v > 0.5).length;
    expect(ink).toBeGreaterThan(20);
    expect(ink).toBeLessThan(400);
    const want = await nodeExplain(MODEL, Float32Array.from(r.input), [1, 1, 28, 28], r.options, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('downloads the relevance, the figure and the compiled explainer, with the same numbers', async () => {
    const dl = join(tmp, 'downloads');
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dl });
    const r = await last();
    for (const id of ['dl-npy', 'dl-png', 'dl-onnx']) await page.click(`#${id}`);
    const want = ['fmnist-cnn-lrp-relevance.npy', 'fmnist-cnn-lrp-heatmap.png', 'fmnist-cnn-lrp-explainer.onnx'];
    for (let t = 0; t < 200 && !want.every((f) => existsSync(join(dl, f))); t++) await new Promise((ok) => setTimeout(ok, 100));
    expect(readdirSync(dl).sort()).toEqual([...want].sort());
    const npy = readNpy(readFileSync(join(dl, want[0]!)));
    expect(npy.dims).toEqual([1, 1, 28, 28]);
    expect(Array.from(npy.data as Float32Array)).toEqual(r.relevance.map(Math.fround));
    const png = PNG.sync.read(readFileSync(join(dl, want[1]!)));
    expect(png.width).toBeGreaterThan(2 * 224);
    // The saved explainer runs in onnxruntime-node and gives the page's relevance.
    const ort = (await import('onnxruntime-node')).default;
    const s = await ort.InferenceSession.create(readFileSync(join(dl, want[2]!)));
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {
      [s.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(r.input), [1, 1, 28, 28]),
    };
    for (const n of s.inputNames.slice(1)) feeds[n] = new ort.Tensor('int64', BigInt64Array.from([BigInt(r.target)]), [1]);
    const out = await s.run(feeds);
    const rel = Object.values(out).find((t) => t.dims.join() === '1,1,28,28')!.data as Float32Array;
    expect(relL2(rel, r.relevance)).toBeLessThan(1e-5);
    await s.release();
  });

  it("opens the user's model with its card (an LRN network): Taylor LRN in the page equals Node's", async () => {
    const before = await last();
    const input = (await page.$('input#model-file'))!;
    await input.uploadFile(LRN_MODEL, LRN_MODEL.replace(/\.onnx$/, '.json'));
    await page.waitForFunction(() => document.getElementById('model-name')!.textContent === 'lrn-cnn.onnx');
    expect(await text('#model-info')).toMatch(/input 1×28×28, 10 classes \(card lrn-cnn\.json\)/);
    const file = join(SAMPLES, '13-dress.png');
    const r = await nextResult(before, async () => (await page.$('input#image-file'))!.uploadFile(file));
    expect(r.model).toBe('lrn-cnn.onnx');
    const x = loadImage(readFileSync(file), { channels: 1, size: [28, 28] });
    expect(r.input).toEqual(Array.from(x.data as Float32Array));
    expect(r.options).toMatchObject({ method: 'lrp', inputRange: [0, 1] });
    const want = await nodeExplain(LRN_MODEL, x.data as Float32Array, x.dims, r.options, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    expect(await text('#audit tbody')).toMatch(/lrn_0\s+LRN\s+lrn-taylor\(epsilon=0\.000001\)/);
    const identity = await nextResult(r, () => page.select('#lrn', 'identity'));
    expect(relL2(identity.relevance, r.relevance)).toBeGreaterThan(1e-3);
  });

  it('a file that is not a model gives one clear error and keeps the page working', async () => {
    const bad = join(tmp, 'notes.onnx');
    writeFileSync(bad, 'not a model');
    await (await page.$('input#model-file'))!.uploadFile(bad);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await text('#error')).toMatch(/notes\.onnx/);
    const notImage = join(tmp, 'x.txt');
    writeFileSync(notImage, 'hello');
    await (await page.$('input#model-file'))!.uploadFile(notImage);
    await page.waitForFunction(() => /not an \.onnx model or a \.json card/.test(document.getElementById('error')!.textContent ?? ''));
    expect(errors).toEqual([]);
  });
});

describe('relprop web --export', () => {
  it('writes the app to a new folder and refuses an existing one', async () => {
    const out = join(tmp, 'site');
    const r = await relprop(['web', '--export', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out)).toEqual(expect.arrayContaining(['index.html', 'assets', 'fmnist-cnn.onnx', 'fmnist-cnn.json', 'samples']));
    expect(readdirSync(join(out, 'assets')).some((f) => f.endsWith('.wasm'))).toBe(true);
    const again = await relprop(['web', '--export', out]);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim()).toMatch(/^relprop: error: --export .*site: it exists; give a new folder$/);
  });
});
