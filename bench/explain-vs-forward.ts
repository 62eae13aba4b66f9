/**
 * Explainer time over forward-only time of the same model on onnxruntime-node, measured in one
 * run, plus peak memory. Each configuration runs in its own child process so that peak RSS
 * belongs to it alone.
 *
 *   npm run bench                    # all models, 1 thread
 *   npm run bench -- --threads 2 --models fmnist
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import ort from 'onnxruntime-node';
import { Explainer } from '../src/node/api.js';
import { fmnistCnn, resnet18, vgg16 } from './models.js';

const MODELS: Record<string, { make: () => Uint8Array; shape: number[]; batches: number[] }> = {
  fmnist: { make: fmnistCnn, shape: [1, 28, 28], batches: [64] },
  resnet18: { make: resnet18, shape: [3, 224, 224], batches: [1, 8] },
  vgg16: { make: vgg16, shape: [3, 224, 224], batches: [1, 8] },
};
const COMPOSITES = ['epsilon-plus-flat', 'epsilon-gamma-box'];

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

/** Child: one model, one batch size, one mode ('forward' or a composite); prints JSON. */
async function child(model: string, batch: number, mode: string, threads: number) {
  const spec = MODELS[model]!;
  const bytes = spec.make();
  const x = new Float32Array(batch * spec.shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5 + 0.5;
  let ms: number;
  if (mode === 'forward') {
    const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const feeds = { input: new ort.Tensor('float32', x, [batch, ...spec.shape]) };
    ms = await timeIt(() => s.run(feeds));
  } else {
    const ex = await Explainer.create(bytes, { method: 'lrp', composite: mode, threads, batchSize: batch, inputRange: [0, 1] });
    const input = { dtype: 'float32' as const, dims: [batch, ...spec.shape], data: x };
    ms = await timeIt(() => ex.explain(input, { target: 0 }));
  }
  process.stdout.write(JSON.stringify({ ms, peakRssMB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

async function main() {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]!, Number(process.argv[4]), process.argv[5]!, Number(process.argv[6]));
    return;
  }
  const threads = Number(arg('threads', '1'));
  const models = arg('models', Object.keys(MODELS).join(',')).split(',');
  const self = fileURLToPath(import.meta.url);
  console.log(
    `relprop explainer vs forward, onnxruntime-node ${ort.env.versions.common}, ${cpus()[0]?.model} ×${cpus().length}, ${threads} thread(s), Node ${process.version}`,
  );
  console.log('model      batch  forward ms  composite           explain ms  ratio  peak RSS MB (fwd / explain)');
  for (const m of models) {
    if (!MODELS[m]) throw new Error(`unknown model ${m} (known: ${Object.keys(MODELS).join(', ')})`);
    for (const b of MODELS[m]!.batches) {
      const run = (mode: string) =>
        JSON.parse(execFileSync('node', [self, '--child', m, String(b), mode, String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as {
          ms: number;
          peakRssMB: number;
        };
      const fwd = run('forward');
      for (const c of COMPOSITES) {
        const e = run(c);
        console.log(
          `${m.padEnd(9)}  ${String(b).padStart(5)}  ${fwd.ms.toFixed(1).padStart(10)}  ${c.padEnd(18)}  ${e.ms.toFixed(1).padStart(10)}  ${(e.ms / fwd.ms).toFixed(2).padStart(5)}  ${fwd.peakRssMB.toFixed(0)} / ${e.peakRssMB.toFixed(0)}`,
        );
      }
    }
  }
}

await main();
