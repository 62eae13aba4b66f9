/**
 * The browser app in real headless Chromium driven by Playwright (Debian's chromium, no browser
 * download; RELPROP_CHROMIUM names another):
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
import { type Browser, chromium as playwright, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../src/core/onnx/model.js';
import { encodeNpy, Explainer, type ExplainerOptions, importModel, readNpy, TextExplainer, Vocabulary } from '../src/node/index.js';
import { loadImage } from '../src/node/io/image.js';
import { CLI, relprop } from './helpers/cli.js';
import { relL2 } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLES = join(ROOT, 'models', 'samples');
const LRN_MODEL = join(ROOT, 'examples', 'lrn-dtd', 'lrn-cnn.onnx');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'lrp');
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
    browser = await playwright.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ acceptDownloads: true });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { relpropApp?: { last(): unknown } }).relpropApp?.last(), undefined, { timeout: 60_000 });
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
      JSON.stringify([before.options, before.input, before.model, before.target]),
      { timeout: 60_000 },
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
    r = await nextResult(r, () => page.selectOption('#composite', 'epsilon-gamma-box'));
    expect(r.options).toMatchObject({ composite: 'epsilon-gamma-box', inputRange: [0, 1] });
    const x = Float32Array.from(r.input);
    let want = await nodeExplain(MODEL, x, [1, 1, 28, 28], { composite: 'epsilon-gamma-box', inputRange: [0, 1] }, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    r = await nextResult(r, () => page.selectOption('#target', '3'));
    expect(r.target).toBe(3);
    r = await nextResult(r, () => page.selectOption('#method', 'gradient'));
    want = await nodeExplain(MODEL, x, [1, 1, 28, 28], { method: 'gradient' }, 3);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    expect(await text('#summary')).toMatch(/does not decompose the logit/);
    r = await nextResult(r, () => page.selectOption('#method', 'lrp'));
    r = await nextResult(r, () => page.selectOption('#target', 'predicted'));
    await nextResult(r, () => page.selectOption('#composite', 'epsilon-plus-flat'));
  });

  it('a drawing on the pad becomes the input and is explained', async () => {
    const before = await last();
    // The mouse acts in the viewport: bring the pad into it first.
    await page.locator('#pad').scrollIntoViewIfNeeded();
    const b = (await page.locator('#pad').boundingBox())!;
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
    const r = await last();
    const want = ['fmnist-cnn-lrp-relevance.npy', 'fmnist-cnn-lrp-heatmap.png', 'fmnist-cnn-lrp-explainer.onnx'];
    for (const [i, id] of ['dl-npy', 'dl-png', 'dl-onnx'].entries()) {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(`#${id}`)]);
      expect(d.suggestedFilename()).toBe(want[i]);
      await d.saveAs(join(dl, want[i]!));
    }
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
    await page.setInputFiles('input#model-file', [LRN_MODEL, LRN_MODEL.replace(/\.onnx$/, '.json')]);
    await page.waitForFunction(() => document.getElementById('model-name')!.textContent === 'lrn-cnn.onnx');
    expect(await text('#model-info')).toMatch(/input 1×28×28, 10 classes \(card lrn-cnn\.json\)/);
    const file = join(SAMPLES, '13-dress.png');
    const r = await nextResult(before, () => page.setInputFiles('input#image-file', file));
    expect(r.model).toBe('lrn-cnn.onnx');
    const x = loadImage(readFileSync(file), { channels: 1, size: [28, 28] });
    expect(r.input).toEqual(Array.from(x.data as Float32Array));
    expect(r.options).toMatchObject({ method: 'lrp', inputRange: [0, 1] });
    const want = await nodeExplain(LRN_MODEL, x.data as Float32Array, x.dims, r.options, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    expect(await text('#audit tbody')).toMatch(/lrn_0\s+LRN\s+lrn-taylor\(epsilon=0\.000001\)/);
    const identity = await nextResult(r, () => page.selectOption('#lrn', 'identity'));
    expect(relL2(identity.relevance, r.relevance)).toBeGreaterThan(1e-3);
    const back = await nextResult(identity, () => page.click('#model-default'));
    expect(back.model).toBe('fmnist-cnn.onnx');
  });

  it('per-layer rules and rule parameters reach the explainer; a bad mapping is one error line', async () => {
    let r = await last();
    r = await nextResult(r, async () => {
      await page.fill('#p-epsilon', '0.5');
      await page.fill('#rules', '{"dense_1": {"rule": "epsilon", "epsilon": 2}}');
      await page.locator('#rules').dispatchEvent('change');
    });
    expect(r.options).toMatchObject({ params: { epsilon: 0.5 }, rules: { dense_1: { rule: 'epsilon', epsilon: 2 } } });
    const want = await nodeExplain(MODEL, Float32Array.from(r.input), [1, 1, 28, 28], r.options, r.target);
    expect(relL2(r.relevance, want.relevance.data as Float32Array)).toBeLessThan(1e-5);
    expect(await text('#audit tbody')).toMatch(/dense_1\s+MatMul\s+epsilon\(2\)/);
    await page.fill('#rules', '{"dense_1": {"rule": "nonsense"}}');
    await page.locator('#rules').dispatchEvent('change');
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await text('#error')).toMatch(/nonsense/);
    await page.fill('#rules', '');
    await page.fill('#p-epsilon', '');
    await nextResult(r, () => page.locator('#rules').dispatchEvent('change'));
  });

  it('compares methods side by side, each as Node computes it', async () => {
    const r = await last();
    await page.check('#compare-choices input[value="lrp:epsilon-gamma-box"]');
    const out = await page.evaluate(() =>
      (globalThis as unknown as { relpropApp: { compare(): Promise<{ method: string; relevance: number[] }[]> } }).relpropApp.compare(),
    );
    expect(out.map((o) => o.method)).toEqual(['lrp:epsilon-plus-flat', 'lrp:epsilon-gamma-box', 'gradient', 'integrated-gradients']);
    expect(await page.locator('#compare figure').count()).toBe(4);
    const x = Float32Array.from(r.input);
    const opts: Record<string, ExplainerOptions> = {
      'lrp:epsilon-plus-flat': { composite: 'epsilon-plus-flat' },
      'lrp:epsilon-gamma-box': { composite: 'epsilon-gamma-box', inputRange: [0, 1] },
      gradient: { method: 'gradient' },
      'integrated-gradients': { method: 'integrated-gradients', steps: 32 },
    };
    for (const o of out) {
      const want = await nodeExplain(MODEL, x, [1, 1, 28, 28], opts[o.method]!, r.target);
      expect(relL2(o.relevance, want.relevance.data as Float32Array), o.method).toBeLessThan(1e-5);
    }
  });

  it('the fixture image models with their own inputs (.npy): the page equals Node', async () => {
    for (const name of ['cnn', 'resblock']) {
      const model = join(FIXTURES, name, 'model.onnx');
      const cases = JSON.parse(readFileSync(join(FIXTURES, name, 'cases.json'), 'utf8')) as { inputs: { shape: number[]; data: number[] }[] };
      const inp = cases.inputs[0]!;
      const npy = join(tmp, `${name}-input.npy`);
      writeFileSync(npy, encodeNpy({ dtype: 'float32', dims: inp.shape, data: Float32Array.from(inp.data) }));
      const before = await last();
      await page.setInputFiles('input#model-file', model);
      // Both fixtures are named model.onnx: wait for this one's input shape.
      await page.waitForFunction(
        (info) => document.getElementById('model-info')!.textContent === info && document.getElementById('model-name')!.textContent === 'model.onnx',
        `input ${inp.shape.slice(1).join('×')}, no card`,
      );
      const r = await nextResult(before, () => page.setInputFiles('input#npy-file', npy));
      expect(r.input).toEqual(Array.from(Float32Array.from(inp.data)));
      const want = await nodeExplain(model, Float32Array.from(inp.data), inp.shape, r.options, r.target);
      expect(relL2(r.relevance, want.relevance.data as Float32Array), name).toBeLessThan(1e-5);
      expect(relL2(r.logits, want.logits.data as Float32Array), name).toBeLessThan(1e-5);
    }
  });

  it('a text model with its vocabulary: the words highlighted, relevance per word as Node computes it', async () => {
    const model = join(FIXTURES, 'textcnn', 'model.onnx');
    const m = importModel(readFileSync(model));
    const gather = m.graph.nodes.find((n) => n.op === 'Gather')!;
    const V = m.graph.initializers.get(gather.inputs[0]!)!.dims[0]!;
    const words = Array.from({ length: V - 2 }, (_, i) => `word${i}`);
    const vocab = Vocabulary.build([words.join(' ')], { minCount: 1, length: { mode: 'fixed', length: 12, minPad: 0 } });
    const vocabFile = join(tmp, 'textcnn.vocab.json');
    writeFileSync(vocabFile, vocab.toJson());
    await page.setInputFiles('input#model-file', [model, vocabFile]);
    await page.waitForFunction(() => /token ids, vocabulary of \d+/.test(document.getElementById('model-info')!.textContent ?? ''));
    const sentence = 'word3 word17 unknownword word5 word40';
    await page.fill('#text', sentence);
    await page.click('#text-explain');
    await page.waitForFunction((s) => {
      const t = (globalThis as unknown as { relpropApp: { lastText(): { tokens: string[] } | undefined } }).relpropApp.lastText();
      return t !== undefined && t.tokens.join(' ') === s;
    }, sentence);
    const got = await page.evaluate(() =>
      (globalThis as unknown as { relpropApp: { lastText(): { relevance: number[]; target: number; logits: number[] } } }).relpropApp.lastText(),
    );
    const te = await TextExplainer.create(model, { vocab, threads: 1 });
    try {
      const [want] = await te.explainTexts([sentence], got.target);
      expect(relL2(got.relevance, want!.relevance)).toBeLessThan(1e-5);
      expect(relL2(got.logits, want!.logits)).toBeLessThan(1e-5);
    } finally {
      await te.release();
    }
    expect(await page.locator('#text-out .relprop-token').count()).toBe(5);
    expect(await text('#summary')).toMatch(/over 5 words \(1 unknown to the vocabulary\)/);
    await page.click('#model-default');
    await page.waitForFunction(() => document.getElementById('model-name')!.textContent === 'fmnist-cnn.onnx');
  });

  it('a file that is not a model gives one clear error and keeps the page working', async () => {
    const bad = join(tmp, 'notes.onnx');
    writeFileSync(bad, 'not a model');
    await page.setInputFiles('input#model-file', bad);
    await page.waitForFunction(() => !document.getElementById('error')!.hidden);
    expect(await text('#error')).toMatch(/notes\.onnx/);
    const notImage = join(tmp, 'x.txt');
    writeFileSync(notImage, 'hello');
    await page.setInputFiles('input#model-file', notImage);
    await page.waitForFunction(() =>
      /not an \.onnx model, a \.json card or a \.vocab\.json vocabulary/.test(document.getElementById('error')!.textContent ?? ''),
    );
    // What the CLI rejects, the page reports in one line: an unsupported operator, an image that
    // does not decode, an input of the wrong shape.
    const g = decodeModel(readFileSync(MODEL));
    g.nodes.find((n) => n.op === 'Relu')!.op = 'Erf';
    const erf = join(tmp, 'erf.onnx');
    writeFileSync(erf, encodeModel(g));
    const errorText = async (act: () => Promise<unknown>, want: RegExp) => {
      await act();
      await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('error')!.textContent ?? ''), want.source, { timeout: 60_000 });
      expect((await text('#error')).split('\n')).toHaveLength(1);
    };
    await errorText(() => page.setInputFiles('input#model-file', erf), /unsupported operator Erf at node/);
    await errorText(() => page.setInputFiles('input#image-file', notImage), /^x\.txt: the browser cannot decode it as an image$/);
    const wrong = join(tmp, 'wrong.npy');
    writeFileSync(wrong, encodeNpy({ dtype: 'float32', dims: [2, 2], data: new Float32Array(4) }));
    await errorText(() => page.setInputFiles('input#npy-file', wrong), /^wrong\.npy: shape \[2,2\]; the model takes \[1, 1, 28, 28\]/);
    // The page still works: the model it had explains another sample, and the error is gone.
    const before = await last();
    const again = await nextResult(before, () => page.click('#samples button:nth-child(3)'));
    expect(again.model).toBe('fmnist-cnn.onnx');
    expect(await page.isHidden('#error')).toBe(true);
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
