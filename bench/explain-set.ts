/**
 * Explaining a whole data set: `relprop explain --data` (the CLI as users run it: reading the set a
 * batch at a time, writing relevance.npy and samples.csv) against the forward pass alone over the
 * same set (the same reader, a plain ONNX Runtime session with the same threads and batch), in
 * images/s, alternating the two. Default: the bundled Fashion-MNIST CNN on the full test set.
 *
 *   npm run build && node dist/bench/explain-set.js --data /usr/share/datasets/fashion-mnist \
 *     [--threads 1,2] [--batch-size 64] [--rounds 3] [--composite epsilon-plus-flat]
 */
import '../src/node/register.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { openSampleStream } from '../src/node/data/stream.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    'batch-size': { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    composite: { type: 'string', default: 'epsilon-plus-flat' },
  },
});
if (!values.data) throw new Error('give --data: a Fashion-MNIST IDX folder (e.g. /usr/share/datasets/fashion-mnist) or another set the model reads');
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'node', 'cli', 'main.js');
const model = values.model ?? join(ROOT, 'models', 'fmnist-cnn.onnx');
const batch = Number(values['batch-size']);
const rounds = Number(values.rounds);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;

async function forward(threads: number): Promise<number> {
  const s = await ort.InferenceSession.create(readFileSync(model), { intraOpNumThreads: threads, interOpNumThreads: 1 });
  const stream = openSampleStream(values.data!, {});
  const t0 = performance.now();
  for (let i = 0; i < stream.count; i += batch) {
    const { x } = stream.read(i, Math.min(batch, stream.count - i));
    await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x.data as Float32Array, x.dims) });
  }
  const ms = performance.now() - t0;
  stream.close();
  await s.release();
  return stream.count / (ms / 1000);
}

/** Images/s of the whole command (starting Node, importing, compiling included) and of its explaining loop alone. */
function explainSet(threads: number): { command: number; loop: number } {
  const dir = mkdtempSync(join(tmpdir(), 'relprop-bench-set-'));
  const out = join(dir, 'run');
  const t0 = performance.now();
  execFileSync('node', [
    CLI,
    'explain',
    '--model',
    model,
    '--data',
    values.data!,
    '--out',
    out,
    '--composite',
    values.composite,
    '--threads',
    String(threads),
    '--batch-size',
    String(batch),
    '--quiet',
  ]);
  const wall = (performance.now() - t0) / 1000;
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { samples: number; images_per_second: number };
  rmSync(dir, { recursive: true, force: true });
  return { command: summary.samples / wall, loop: summary.images_per_second };
}

const stream = openSampleStream(values.data, {});
console.log(
  `${cpus()[0]?.model} ×${cpus().length}, load ${loadavg()[0]!.toFixed(2)}, Node ${process.version}, ${stream.count} samples of ${JSON.stringify(stream.sampleDims)} from ${stream.source}, batch ${batch}, ${values.composite}, medians of ${rounds} alternating rounds`,
);
stream.close();
console.log('| threads | forward only (images/s) | explain --data loop (images/s) | whole command (images/s) | forward / explain loop |');
console.log('|---|---|---|---|---|');
for (const t of values.threads.split(',').map(Number)) {
  const fw: number[] = [];
  const loop: number[] = [];
  const cmd: number[] = [];
  await forward(t); // warm-up
  for (let r = 0; r < rounds; r++) {
    fw.push(await forward(t));
    const e = explainSet(t);
    loop.push(e.loop);
    cmd.push(e.command);
  }
  const [f, l, c] = [median(fw), median(loop), median(cmd)];
  console.log(`| ${t} | ${f.toFixed(0)} | ${l.toFixed(0)} | ${c.toFixed(0)} | ${(f / l).toFixed(2)}× |`);
}
