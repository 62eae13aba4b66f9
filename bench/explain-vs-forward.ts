/**
 * Explainer time over forward-only time of the same model on onnxruntime-node, plus peak memory,
 * on what users run: torchvision's VGG-16, ResNet-18, MobileNetV2 and DenseNet-121 exported by
 * PyTorch (random weights; bench/export_torchvision.py writes them to bench/.cache), the bundled
 * Fashion-MNIST CNN and a small random CNN of the same family. Every row is measured three ways:
 * the forward pass in a plain ONNX Runtime session, `Explainer.explain` (the API), and the saved
 * explainer (`compile(dims).model`) in a plain ONNX Runtime session. Each configuration runs in its
 * own child process, so that its peak RSS is its own (the saved-explainer process compiles first:
 * its peak includes compiling); `--rounds R` repeats the row's processes R times, alternating, and
 * reports the median of the per-round ratios.
 *
 *   /usr/bin/python3 bench/export_torchvision.py     # once: the torchvision exports
 *   npm run bench                                     # every model, 1 thread
 *   npm run bench -- --threads 2 --models fmnist,resnet18 --rounds 3
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { Explainer } from '../src/node/api.js';
import { fmnistCnn } from './models.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CACHE = join(ROOT, 'bench', '.cache');
const torchvision = (name: string) => () => {
  const file = join(CACHE, `${name}.onnx`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run /usr/bin/python3 bench/export_torchvision.py (needs python3-torchvision)`);
  return readFileSync(file);
};
const MODELS: Record<string, { make: () => Uint8Array; shape: number[]; batches: number[] }> = {
  fmnist: { make: () => readFileSync(join(ROOT, 'models', 'fmnist-cnn.onnx')), shape: [1, 28, 28], batches: [64] },
  'small-cnn': { make: fmnistCnn, shape: [1, 28, 28], batches: [64] },
  resnet18: { make: torchvision('resnet18'), shape: [3, 224, 224], batches: [1, 8] },
  mobilenet_v2: { make: torchvision('mobilenet_v2'), shape: [3, 224, 224], batches: [1, 8] },
  densenet121: { make: torchvision('densenet121'), shape: [3, 224, 224], batches: [1, 8] },
  vgg16: { make: torchvision('vgg16'), shape: [3, 224, 224], batches: [1, 8] },
};
const COMPOSITES = ['epsilon-plus-flat', 'epsilon-gamma-box'];
const sessionOptions = (threads: number) => ({ intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const });

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

async function timeIt(f: () => Promise<unknown>, minMs = 1500, minReps = 3): Promise<number> {
  await f(); // warm-up: allocations, kernel selection
  const times: number[] = [];
  const t0 = performance.now();
  while (times.length < minReps || performance.now() - t0 < minMs) {
    const s = performance.now();
    await f();
    times.push(performance.now() - s);
    if (times.length >= 20) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Child: one model, one batch size, one mode ('forward', 'api:COMPOSITE' or 'saved:COMPOSITE'); prints JSON. */
async function child(model: string, batch: number, mode: string, threads: number) {
  const spec = MODELS[model]!;
  const bytes = spec.make();
  const dims = [batch, ...spec.shape];
  const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5 + 0.5;
  const [kind, composite] = mode.split(':') as [string, string | undefined];
  let ms: number;
  if (kind === 'forward') {
    const s = await ort.InferenceSession.create(bytes, sessionOptions(threads));
    const feeds = { [s.inputNames[0]!]: new ort.Tensor('float32', x, dims) };
    ms = await timeIt(() => s.run(feeds));
  } else {
    const ex = await Explainer.create(bytes, { method: 'lrp', composite, threads, batchSize: batch, inputRange: [0, 1] });
    if (kind === 'api') {
      const input = { dtype: 'float32' as const, dims, data: x };
      ms = await timeIt(() => ex.explain(input, { target: 0 }));
    } else {
      const compiled = await ex.compile(dims);
      const saved = compiled.model;
      const feeds = {
        [compiled.input]: new ort.Tensor('float32', x, dims),
        [compiled.seedInput]: new ort.Tensor('int64', new BigInt64Array(batch), [batch]),
      };
      await ex.release();
      const s = await ort.InferenceSession.create(saved, sessionOptions(threads));
      ms = await timeIt(() => s.run(feeds));
    }
  }
  process.stdout.write(`${JSON.stringify({ ms, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

async function main() {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]!, Number(process.argv[4]), process.argv[5]!, Number(process.argv[6]));
    return;
  }
  const threads = Number(arg('threads', '1'));
  const rounds = Number(arg('rounds', '1'));
  const models = arg('models', Object.keys(MODELS).join(',')).split(',');
  for (const m of models) if (!MODELS[m]) throw new Error(`unknown model ${m} (known: ${Object.keys(MODELS).join(', ')})`);
  const self = fileURLToPath(import.meta.url);
  console.log(
    `relprop explainer vs forward, onnxruntime-node ${ort.env.versions.common}, ${cpus()[0]?.model} ×${cpus().length}, ${threads} thread(s), Node ${process.version}, ${rounds} round(s), load ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log('| model | batch | forward ms | composite | API ms | API / forward | saved ms | saved / forward | peak RSS MB: forward / API / saved |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const m of models) {
    for (const b of MODELS[m]!.batches) {
      const run = (mode: string) =>
        JSON.parse(execFileSync('node', [self, '--child', m, String(b), mode, String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as {
          ms: number;
          peakRssMB: number;
        };
      const modes = ['forward', ...COMPOSITES.flatMap((c) => [`api:${c}`, `saved:${c}`])];
      const got = new Map<string, { ms: number; peakRssMB: number }[]>(modes.map((k) => [k, []]));
      for (let r = 0; r < rounds; r++) for (const mode of modes) got.get(mode)!.push(run(mode));
      const fwd = got.get('forward')!;
      const ratio = (mode: string) => median(got.get(mode)!.map((e, r) => e.ms / fwd[r]!.ms));
      const ms = (mode: string) => median(got.get(mode)!.map((e) => e.ms));
      const rss = (mode: string) => median(got.get(mode)!.map((e) => e.peakRssMB)).toFixed(0);
      for (const c of COMPOSITES) {
        console.log(
          `| ${m} | ${b} | ${ms('forward').toFixed(1)} | ${c} | ${ms(`api:${c}`).toFixed(1)} | ${ratio(`api:${c}`).toFixed(2)}× | ${ms(`saved:${c}`).toFixed(1)} | ${ratio(`saved:${c}`).toFixed(2)}× | ${rss('forward')} / ${rss(`api:${c}`)} / ${rss(`saved:${c}`)} |`,
        );
      }
    }
  }
}

await main();
