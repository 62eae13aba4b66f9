#!/usr/bin/env node
// 5-fold cross-validation of a text-CNN configuration on the training split only (the test split
// is never looked at): stratified folds, one `relprop train` per fold (two at a time, 1 thread
// each), mean validation accuracy per epoch. This is how the configuration in make.sh was chosen.
//
//   node examples/text/relprop/cross-validate.mjs NAME SPEC.json TRAIN.ids.jsonl VECTORS.npy [extra train flags…]
//
// Appends one line per configuration to examples/text/relprop/results/cross-validation.tsv.
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '../../../dist/src/node/cli/main.js');
const [name, spec, ids, vectors, ...extra] = process.argv.slice(2);
if (!name || !spec || !ids || !vectors) {
  console.error('usage: cross-validate.mjs NAME SPEC.json TRAIN.ids.jsonl VECTORS.npy [extra train flags…]');
  process.exit(2);
}
if (!existsSync(cli)) {
  console.error(`${cli} is missing: run npm run build first`);
  process.exit(1);
}
const K = 5;
const work = mkdtempSync(join(tmpdir(), 'relprop-cv-'));

// Stratified folds: shuffle each class (seeded), deal its documents round-robin to the folds.
const lines = readFileSync(ids, 'utf8').trim().split('\n');
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const byClass = new Map();
for (const l of lines) {
  const y = JSON.parse(l).y;
  if (!byClass.has(y)) byClass.set(y, []);
  byClass.get(y).push(l);
}
const folds = Array.from({ length: K }, () => []);
let k = 0;
for (const [, docs] of [...byClass].sort((a, b) => a[0] - b[0])) {
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [docs[i], docs[j]] = [docs[j], docs[i]];
  }
  for (const d of docs) folds[k++ % K].push(d);
}
folds.forEach((f, i) => {
  writeFileSync(join(work, `f${i}.val.jsonl`), f.join('\n') + '\n');
  writeFileSync(
    join(work, `f${i}.train.jsonl`),
    folds
      .filter((_, j) => j !== i)
      .flat()
      .join('\n') + '\n',
  );
});

// The make.sh settings unless overridden by `extra` (flag value pairs).
const flags = {
  '--max-length': '512',
  '--epochs': '20',
  '--batch-size': '32',
  '--lr': '2e-3',
  '--weight-decay': '1e-2',
  '--schedule': 'cosine',
  '--seed': '0',
  '--init-param': `embedding_0.weight=${vectors}`,
};
for (let i = 0; i < extra.length; i += 2) flags[extra[i]] = extra[i + 1];
const run = (f) =>
  new Promise((resolve, reject) => {
    const out = join(work, `m${f}.onnx`);
    const args = [
      cli,
      'train',
      '--spec',
      spec,
      '--data',
      join(work, `f${f}.train.jsonl`),
      '--val',
      join(work, `f${f}.val.jsonl`),
      '--threads',
      '1',
      '--quiet',
      ...Object.entries(flags).flat(),
      '--out',
      out,
    ];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) =>
      code ? reject(new Error(`fold ${f} failed (exit ${code})`)) : resolve(JSON.parse(readFileSync(out.replace(/\.onnx$/, '.json'), 'utf8')).history),
    );
  });
const t0 = Date.now();
const histories = [];
for (let f = 0; f < K; f += 2) histories.push(...(await Promise.all([f, f + 1].filter((g) => g < K).map(run))));
rmSync(work, { recursive: true, force: true });

const E = histories[0].length;
const curve = Array.from({ length: E }, (_, e) => histories.reduce((s, h) => s + h[e].valAccuracy, 0) / K);
const pct = (v) => (100 * v).toFixed(2);
const line = [
  name,
  `spec ${spec}`,
  extra.join(' ') || '-',
  pct(curve[E - 1]),
  histories.map((h) => pct(h[E - 1].valAccuracy)).join(' '),
  curve.map(pct).join(' '),
  `${((Date.now() - t0) / 1000).toFixed(0)}s`,
].join('\t');
const table = join(here, 'results/cross-validation.tsv');
if (!existsSync(table))
  writeFileSync(
    table,
    'configuration\tdescription\textra flags\tmean validation accuracy after the last epoch (%)\tper fold (%)\tmean validation accuracy per epoch (%)\ttime\n',
  );
appendFileSync(table, line + '\n');
console.log(line);
