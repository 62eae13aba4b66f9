// The results table of examples/molecules/README.md from the JSON files run.sh writes: MAE (or
// RMSE) per target for every method whose file exists, next to the test fold's standard deviation
// (read from baselines.txt). Usage: node examples/molecules/table.mjs [mae|rmse]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, 'results');
const metric = process.argv[2] ?? 'mae';
const read = (f) => (existsSync(join(dir, f)) ? JSON.parse(readFileSync(join(dir, f), 'utf8')).results : []);
const fmt = (x) => (x === undefined ? '–' : String(Number(x.toPrecision(4))));

// A column: its title, the files it takes results from, and the method inside them (all if none).
const columns = [
  ['mean predictor', ['baselines.json'], 'mean predictor'],
  ['KRR Laplace, sorted CM', ['baselines.json'], 'KRR laplacian sorted'],
  ['net 400-100, multi-task', ['multitask-400-100.json']],
  ['net 50-25, multi-task', ['multitask-50-25.json']],
  ['net 400-100, single-task', ['single-ae.json', 'single-pbe0.json']],
  ['net 400-100, single-task, sorted CM', ['single-ae-sorted.json']],
]
  .map(([title, files, method]) => [title, files.flatMap(read).filter((r) => method === undefined || r.method === method)])
  .filter(([, rs]) => rs.length);

const std = new Map();
const txt = existsSync(join(dir, 'baselines.txt')) ? readFileSync(join(dir, 'baselines.txt'), 'utf8') : '';
for (const line of txt.split('\n')) {
  const m = /^mean predictor\s+(\S+)\s+\S+\s+\d+\s+\S+\s+\S+\s+(\S+)$/.exec(line);
  if (m) std.set(m[1], Number(m[2]));
}

const targets = [...new Map(columns.flatMap(([, rs]) => rs.map((r) => [r.target, r.unit]))).entries()];
console.log(`| target | test std | ${columns.map(([t]) => t).join(' | ')} |`);
console.log(`| --- | --- | ${columns.map(() => '---').join(' | ')} |`);
for (const [t, unit] of targets)
  console.log(`| \`${t}\` (${unit}) | ${fmt(std.get(t))} | ${columns.map(([, rs]) => fmt(rs.find((r) => r.target === t)?.[metric])).join(' | ')} |`);
