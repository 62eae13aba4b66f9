#!/usr/bin/env node
/**
 * Check the torchvision import-check assets: fill every skeleton in test/assets/torchvision/ with
 * test/helpers/torchvision-weights.ts, run it with onnxruntime-node on the deterministic input and
 * compare the logits with PyTorch's (relative L2 <= 1e-4). Also checks the PRNG test vector and
 * the gradient file's shape.
 *
 *   node scripts/check-torchvision-fill.mjs [model ...]      (from the repository root)
 *
 * Node 20 cannot run TypeScript, so the helper (and the src/ modules it imports) is compiled
 * with the project's tsc into node_modules/.cache/relprop-torchvision-check first.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ort from 'onnxruntime-node';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ASSETS = join(ROOT, 'test/assets/torchvision');
const OUT = join(ROOT, 'node_modules/.cache/relprop-torchvision-check');
const TOL = 1e-4;

rmSync(OUT, { recursive: true, force: true });
execFileSync(
  join(ROOT, 'node_modules/.bin/tsc'),
  [
    '--ignoreConfig',
    '--outDir',
    OUT,
    '--rootDir',
    ROOT,
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--strict',
    '--skipLibCheck',
    '--esModuleInterop',
    '--types',
    'node',
    join(ROOT, 'test/helpers/torchvision-weights.ts'),
  ],
  { cwd: ROOT, stdio: 'inherit' },
);
// under node_modules the package scope lookup stops, so mark the compiled files as ESM
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'package.json'), '{ "type": "module" }\n');
const helper = await import(pathToFileURL(join(OUT, 'test/helpers/torchvision-weights.js')).href);

const models = process.argv.slice(2).length
  ? process.argv.slice(2)
  : readdirSync(ASSETS)
      .filter((f) => f.endsWith('.skeleton.onnx'))
      .map((f) => f.replace(/\.skeleton\.onnx$/, ''))
      .sort();

let failures = 0;
for (const name of models) {
  const t0 = Date.now();
  try {
    const spec = JSON.parse(readFileSync(join(ASSETS, `${name}.json`), 'utf8'));
    // PRNG test vector (exact)
    const u = helper.prngUniform(spec.prng_check.name, spec.prng_check.u_head.length);
    spec.prng_check.u_head.forEach((v, i) => {
      if (u[i] !== v) throw new Error(`prngUniform mismatch at ${i}: ${u[i]} vs python ${v}`);
    });
    const asset = helper.loadTorchvisionAsset(name, ASSETS);
    spec.prng_check.input_head.forEach((v, i) => {
      if (asset.input.data[i] !== v) throw new Error(`input mismatch at ${i}: ${asset.input.data[i]} vs python ${v}`);
    });
    if (JSON.stringify(asset.grad.dims) !== JSON.stringify(spec.input_shape) || asset.grad.dtype !== 'float32') {
      throw new Error(`grad file ${asset.grad.dtype} ${JSON.stringify(asset.grad.dims)} does not match input ${JSON.stringify(spec.input_shape)}`);
    }
    const tFill = Date.now() - t0;
    const session = await ort.InferenceSession.create(asset.model, { graphOptimizationLevel: 'disabled' });
    const out = await session.run({ input: new ort.Tensor('float32', asset.input.data, asset.input.dims) });
    const logits = out.logits.data;
    const ref = spec.torch_logits;
    if (logits.length !== ref.length) throw new Error(`logits length ${logits.length} vs ${ref.length}`);
    let num = 0,
      den = 0,
      maxAbs = 0;
    for (let i = 0; i < ref.length; i++) {
      num += (logits[i] - ref[i]) ** 2;
      den += ref[i] ** 2;
      maxAbs = Math.max(maxAbs, Math.abs(logits[i] - ref[i]));
    }
    const rel = Math.sqrt(num / den);
    const argmaxOk = logits.indexOf(Math.max(...logits)) === ref.indexOf(Math.max(...ref));
    const ok = rel <= TOL;
    if (!ok) failures++;
    console.log(
      `${ok ? 'ok  ' : 'FAIL'} ${name.padEnd(20)} input ${JSON.stringify(spec.input_shape)} filled ${(asset.model.length / 1e6).toFixed(1)} MB ` +
        `rel L2 ${rel.toExponential(2)} max abs ${maxAbs.toExponential(2)} argmax ${argmaxOk ? 'same' : 'DIFFERENT'} ` +
        `(fill ${tFill} ms, total ${Date.now() - t0} ms)`,
    );
    await session.release?.();
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e instanceof Error ? e.stack : e}`);
  }
}
rmSync(OUT, { recursive: true, force: true });
if (failures) {
  console.log(`${failures} model(s) failed`);
  process.exit(1);
}
console.log(`all ${models.length} model(s) match PyTorch (rel L2 <= ${TOL})`);
