// Late-training level and stability of each run in curves.jsonl (written by experiment.mjs):
// over the evaluations from epoch FROM on, the mean and the lowest test log-likelihood and the
// mean absolute change between consecutive evaluations.
// Usage: node examples/boltzmann/summary.mjs RESULTS_DIR [FROM=1300]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, fromArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: node summary.mjs RESULTS_DIR [FROM]');
const from = Number(fromArg ?? 1300);
const records = readFileSync(join(dir, 'curves.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const runs = new Map();
for (const r of records) {
  const key = `${r.positive} | ${r.centered ? 'centered' : 'uncentered'} | ${r.seed}`;
  if (!runs.has(key)) runs.set(key, []);
  if (r.epoch >= from) runs.get(key).push(r.test);
}
const lines = [
  `| positive phase | model | seed | mean test log-lik, epochs ≥ ${from} | lowest | mean abs change between evaluations |`,
  '|---|---|---|---|---|---|',
];
for (const [key, t] of runs) {
  const mean = t.reduce((s, x) => s + x, 0) / t.length;
  let change = 0;
  for (let i = 1; i < t.length; i++) change += Math.abs(t[i] - t[i - 1]);
  lines.push(`| ${key} | ${mean.toFixed(3)} | ${Math.min(...t).toFixed(3)} | ${(change / (t.length - 1)).toFixed(3)} |`);
}
writeFileSync(join(dir, 'summary.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);
