/**
 * The explainer in the browser against Node: the app served by `relprop web` in headless Chromium
 * (onnxruntime-web, WebAssembly with SIMD and threads, in the app's worker) and an Explainer on
 * onnxruntime-node with the same options, thread count and input, batch 1; rounds alternate
 * between the two, medians after a warm-up. Models: the bundled Fashion-MNIST CNN and a
 * random-weight ResNet-18 (torchvision layout, 3×224×224; bench/models.ts).
 *
 *   npm run build && node dist/bench/browser.js [--rounds 7] [--threads 1,2]
 *
 * Needs a Chromium (Debian's `chromium`, or RELPROP_CHROMIUM).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium as playwright } from 'playwright-core';
import { encodeNpy, Explainer, type ExplainerOptions } from '../src/node/index.js';
import { resnet18 } from './models.js';

interface Last {
  model: string;
  options: ExplainerOptions;
  input: number[];
  target: number;
}
type App = { relpropApp: { last(): Last | undefined; time(rounds: number): Promise<number[]>; runtime(): string } };

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, threads: { type: 'string', default: '1,2' } } });
const rounds = Number(values.rounds);
const threadCounts = values.threads.split(',').map(Number);
if (!Number.isInteger(rounds) || rounds < 1 || threadCounts.some((t) => !Number.isInteger(t) || t < 1))
  throw new Error('--rounds and --threads take positive integers');
const chromium = [process.env.RELPROP_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p && existsSync(p));
if (!chromium) throw new Error('no Chromium found: install Debian chromium or set RELPROP_CHROMIUM');

const ROOT = join(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-bench-browser-'));
const resnetFile = join(tmp, 'resnet18.onnx');
writeFileSync(resnetFile, resnet18());
const resnetInput = join(tmp, 'resnet18-input.npy');
const x = new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
writeFileSync(resnetInput, encodeNpy({ dtype: 'float32', dims: [1, 3, 224, 224], data: x }));

const server: ChildProcess = spawn('node', [join(ROOT, 'dist', 'src', 'node', 'cli', 'main.js'), 'web', '--port', '0', '--no-open'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise<string>((ok, fail) => {
  server.stdout!.on('data', (d: Buffer) => {
    const m = /at (http:\S+)/.exec(d.toString());
    if (m) ok(m[1]!);
  });
  server.once('exit', (code) => fail(new Error(`relprop web exited with ${code}`)));
});
const browser = await playwright.launch({ executablePath: chromium, headless: true, args: ['--no-sandbox'] });
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

console.log(`${cpus()[0]?.model} ×${cpus().length}, load ${loadavg()[0]!.toFixed(2)}, Node ${process.version}, ${browser.version()}, batch 1`);
console.log('| model | threads | onnxruntime-node (ms) | onnxruntime-web in Chromium (ms) | web / node |');
console.log('|---|---|---|---|---|');
try {
  for (const threads of threadCounts) {
    const page = await browser.newPage();
    await page.goto(`${url}?threads=${threads}`);
    const last = () => page.evaluate(() => (globalThis as unknown as App).relpropApp.last());
    await page.waitForFunction(() => (globalThis as unknown as App).relpropApp.last(), undefined, { timeout: 120_000 });
    const label = await page.evaluate(() => (globalThis as unknown as App).relpropApp.runtime());
    if (!label.includes(`${threads} thread`)) throw new Error(`the page runs "${label}", not ${threads} threads`);
    for (const name of ['fmnist-cnn', 'resnet18']) {
      if (name === 'resnet18') {
        await page.setInputFiles('input#model-file', resnetFile);
        await page.waitForFunction(() => document.getElementById('model-name')!.textContent === 'resnet18.onnx', undefined, { timeout: 300_000 });
        await page.setInputFiles('input#npy-file', resnetInput);
        await page.waitForFunction(() => (globalThis as unknown as App).relpropApp.last()?.model === 'resnet18.onnx', undefined, {
          timeout: 300_000,
        });
      }
      const r = (await last())!;
      const ex = await Explainer.create(name === 'resnet18' ? readFileSync(resnetFile) : join(ROOT, 'models', 'fmnist-cnn.onnx'), {
        ...r.options,
        threads,
      });
      const input = { dtype: 'float32' as const, dims: name === 'resnet18' ? [1, 3, 224, 224] : [1, 1, 28, 28], data: Float32Array.from(r.input) };
      await ex.explain(input, { target: r.target });
      await page.evaluate((n) => (globalThis as unknown as App).relpropApp.time(n), 1);
      const ms = { node: [] as number[], web: [] as number[] };
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        await ex.explain(input, { target: r.target });
        ms.node.push(performance.now() - t0);
        ms.web.push(...(await page.evaluate((n) => (globalThis as unknown as App).relpropApp.time(n), 1)));
      }
      await ex.release();
      const [n, w] = [median(ms.node), median(ms.web)];
      const what = `${name} (${r.options.method ?? 'lrp'} ${r.options.composite ?? ''})`.replace(' )', ')');
      console.log(`| ${what} | ${threads} | ${n.toFixed(1)} | ${w.toFixed(1)} | ${(w / n).toFixed(2)}× |`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  server.kill();
}
