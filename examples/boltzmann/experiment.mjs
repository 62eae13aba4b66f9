// Centered vs uncentered DBM 64-16-8 on scikit-learn's 8×8 digits binarised at 0.5 (pixel ≥ 8 of
// 16), with the exact log-likelihood (2^16 states for log Z, 2^8 for each log p*(v)) of the
// training and test images during training (arXiv 1203.3783; digest §5.7 check a).
// Reference hyperparameters (digest §5.3): lr 0.005, ν 0.005, batch 25, 25 persistent chains,
// 5 positive-phase rounds, 1 Gibbs sweep, hidden biases −1, visible bias logit(data mean).
// Usage (after `npx tsc -p tsconfig.json` or `npm run build`, from the repository root):
//   node examples/boltzmann/experiment.mjs DIGITS_CSV OUT_DIR [--epochs 1750] [--every 50]
//        [--seeds 1,2] [--positive meanfield,sample] [--lr 0.005]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '../../dist/src/node/register.js';
import { exactDbmLogZ, meanDbmLogProb } from '../../dist/src/core/boltzmann/dbm-likelihood.js';
import { DbmTrainer } from '../../dist/src/core/boltzmann/dbm-train.js';
import { renderPlot } from '../../dist/src/node/text/plot.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    epochs: { type: 'string', default: '1750' },
    every: { type: 'string', default: '50' },
    seeds: { type: 'string', default: '1,2' },
    positive: { type: 'string', default: 'meanfield,sample' },
    lr: { type: 'string', default: '0.005' },
  },
});
const [csv, out] = positionals;
if (!csv || !out)
  throw new Error('usage: node experiment.mjs DIGITS_CSV OUT_DIR [--epochs N] [--every N] [--seeds 1,2] [--positive meanfield,sample] [--lr 0.005]');
const epochs = Number(values.epochs);
const every = Number(values.every);
const seeds = values.seeds.split(',').map(Number);
const positives = values.positive.split(',');
const lr = Number(values.lr);

// Split seeded by construction: within each class, every 5th image (in file order) is a test image.
const rows = readFileSync(csv, 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(',').map(Number));
const seen = new Array(10).fill(0);
const split = { train: [], test: [] };
for (const r of rows) split[seen[r[64]]++ % 5 === 4 ? 'test' : 'train'].push(r.slice(0, 64).map((v) => (v >= 8 ? 1 : 0)));
const asData = (rs) => ({ x: Float32Array.from(rs.flat()), n: rs.length, nv: 64 });
const train = asData(split.train);
const test = asData(split.test);

mkdirSync(out, { recursive: true });
const records = [];
const started = Date.now();
for (const positive of positives) {
  for (const centered of [true, false]) {
    for (const seed of seeds) {
      const opts = { hidden: [16, 8], lr, nu: 0.005, batchSize: 25, chains: 25, positive, positiveRounds: 5, negativeSweeps: 1, centered, seed, threads: 1 };
      const t = await DbmTrainer.create(train, opts);
      const evaluate = async (epoch) => {
        const logZ = await exactDbmLogZ(t.params);
        const w2 = t.params.W[1].reduce((s, w) => s + w * w, 0);
        const rec = {
          positive,
          centered,
          seed,
          epoch,
          updates: t.snapshot().step,
          train: await meanDbmLogProb(t.params, train.x, logZ),
          test: await meanDbmLogProb(t.params, test.x, logZ),
          log_z: logZ,
          w2_norm: Math.sqrt(w2),
        };
        records.push(rec);
        process.stdout.write(`${JSON.stringify(rec)}\n`);
      };
      await evaluate(0);
      for (let e = 1; e <= epochs; e++) {
        await t.epoch();
        if (e % every === 0 || e === epochs) await evaluate(e);
      }
      await t.release();
      writeFileSync(join(out, 'curves.jsonl'), records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    }
  }
}

// Final table: mean over seeds at the last epoch.
const last = records.filter((r) => r.epoch === epochs);
const lines = [
  '| positive phase | model | seeds | updates | train log-lik (nats) | test log-lik (nats) | ‖W⁽¹⁾‖ (layer 1–2 weights) |',
  '|---|---|---|---|---|---|---|',
];
for (const positive of positives) {
  for (const centered of [true, false]) {
    const rs = last.filter((r) => r.positive === positive && r.centered === centered);
    const f = (k) => rs.map((r) => r[k].toFixed(3)).join(', ');
    lines.push(
      `| ${positive} | ${centered ? 'centered' : 'uncentered'} | ${rs.map((r) => r.seed).join(', ')} | ${rs[0].updates} | ${f('train')} | ${f('test')} | ${f('w2_norm')} |`,
    );
  }
}
const minutes = ((Date.now() - started) / 60000).toFixed(1);
writeFileSync(join(out, 'table.md'), `${lines.join('\n')}\n\nRun time: ${minutes} min (1 ONNX Runtime thread).\n`);

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: 'DBM 64-16-8 on binarised 8×8 digits: exact test log-likelihood', subtitle: `lr ${lr}, ν 0.005, batch 25, 25 chains` },
  data: {
    values: records.map((r) => ({ ...r, run: `${r.centered ? 'centered' : 'uncentered'} seed ${r.seed}`, model: r.centered ? 'centered' : 'uncentered' })),
  },
  facet: { column: { field: 'positive', title: 'positive phase' } },
  spec: {
    width: 320,
    height: 240,
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'updates', type: 'quantitative', title: 'parameter updates' },
      y: { field: 'test', type: 'quantitative', title: 'mean test log p(v) (nats)', scale: { zero: false } },
      color: { field: 'model', type: 'nominal' },
      detail: { field: 'run' },
    },
  },
};
const { svg, png } = await renderPlot(spec);
writeFileSync(join(out, 'loglik.svg'), svg);
writeFileSync(join(out, 'loglik.png'), png);
process.stdout.write(`${lines.join('\n')}\nwrote ${out} in ${minutes} min\n`);
