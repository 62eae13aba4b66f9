// Tables from results.jsonl (written by experiment.mjs): per model, the mean over seeds of every
// measure, and the completion / denoising error curves; writes RESULTS_DIR/summary.md.
// Usage: node examples/wasserstein/summary.mjs RESULTS_DIR [TITLE]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlot } from '../../dist/src/node/text/plot.js';

const [dir, title = 'Binarised 8×8 "0" digits, RBM 64-16'] = process.argv.slice(2);
if (!dir) throw new Error('usage: node summary.mjs RESULTS_DIR');
const records = readFileSync(join(dir, 'results.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const groups = new Map();
for (const r of records) {
  if (!groups.has(r.model)) groups.set(r.model, []);
  groups.get(r.model).push(r);
}
const fmt = (rs, key, digits = 2) => {
  const v = rs.map((r) => r[key]).filter((x) => x !== undefined);
  if (!v.length) return '–';
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return v.length > 1 ? `${m.toFixed(digits)} (${v.map((x) => x.toFixed(digits)).join(', ')})` : m.toFixed(digits);
};
const describe = (r) =>
  r.objective === 'kl' ? `PCD, lr ${r.lr}, batch ${r.batchSize}` : r.objective ? `γ ${r.gamma}, η ${r.eta}, λ ${r.lambda}, lr ${r.lr}` : '';
const lines = [
  'Mean over seeds (per seed in brackets).',
  '',
  '| model | settings | test log-lik (nats) | train log-lik | test W_γ | test transport cost | sample diversity | distinct of 500 samples |',
  '|---|---|---|---|---|---|---|---|',
];
for (const [name, rs] of groups) {
  lines.push(
    `| ${name} | ${describe(rs[0])} | ${fmt(rs, 'test_loglik')} | ${fmt(rs, 'train_loglik')} | ${fmt(rs, 'test_w')} | ${fmt(rs, 'test_transport')} | ${fmt(rs, 'diversity')} | ${fmt(rs, 'distinct_samples', 0)} |`,
  );
}
lines.push(
  '',
  'Completion (fraction missing) and denoising (flip rate): mean Hamming distance per test sample between the output and the clean sample.',
  '',
  '| model | 25% missing | 50% | 75% | 5% flipped | 10% | 20% |',
  '|---|---|---|---|---|---|---|',
);
for (const [name, rs] of groups) {
  if (rs[0]['complete_0.25'] === undefined) continue;
  lines.push(
    `| ${name} | ${['complete_0.25', 'complete_0.5', 'complete_0.75', 'denoise_0.05', 'denoise_0.1', 'denoise_0.2'].map((k) => fmt(rs, k)).join(' | ')} |`,
  );
}
writeFileSync(join(dir, 'summary.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);

// Error curves (target 3.8) and the test log-likelihood during training (the KL ablation, 3.3).
const points = [];
for (const r of records) {
  if (r['complete_0.25'] === undefined) continue;
  for (const f of [0.25, 0.5, 0.75]) points.push({ task: 'completion (fraction missing)', level: f, error: r[`complete_${f}`], model: r.model, seed: r.seed });
  for (const f of [0.05, 0.1, 0.2]) points.push({ task: 'denoising (flip rate)', level: f, error: r[`denoise_${f}`], model: r.model, seed: r.seed });
}
const errors = await renderPlot({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: {
    text: `${title}: restoration error on the test set`,
    subtitle: 'mean over seeds of the mean Hamming distance to the clean sample',
  },
  data: { values: points },
  facet: { column: { field: 'task', title: null } },
  resolve: { scale: { x: 'independent' } },
  spec: {
    width: 280,
    height: 220,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'level', type: 'quantitative', title: 'corruption' },
      y: { aggregate: 'mean', field: 'error', type: 'quantitative', title: 'Hamming error per sample' },
      color: { field: 'model', type: 'nominal' },
    },
  },
});
writeFileSync(join(dir, 'errors.svg'), errors.svg);
writeFileSync(join(dir, 'errors.png'), errors.png);
const curves = readFileSync(join(dir, 'curves.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const ll = await renderPlot({
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: 'Exact test log-likelihood during training', subtitle: title },
  data: { values: curves.map((c) => ({ ...c, run: `${c.model} seed ${c.seed}` })) },
  width: 420,
  height: 260,
  mark: { type: 'line' },
  encoding: {
    x: { field: 'step', type: 'quantitative', title: 'parameter updates' },
    y: { field: 'test_loglik', type: 'quantitative', title: 'mean test log p(v) (nats)', scale: { zero: false } },
    color: { field: 'model', type: 'nominal' },
    detail: { field: 'run' },
  },
});
writeFileSync(join(dir, 'loglik.svg'), ll.svg);
writeFileSync(join(dir, 'loglik.png'), ll.png);
