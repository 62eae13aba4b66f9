/**
 * DBM AIS against exact log Z over many independent runs (issue 14's target: within 0.1 nats over
 * ≥ 100 runs). Models: random DBMs of depth 2 and 3, and — with --digits — a 64-16-8 DBM trained
 * (centered, mean field) on scikit-learn's 8×8 digits binarised at 0.5, AIS based on the data's
 * pixel means as in the CLI.
 *
 *   node dist/bench/dbm-ais.js [--runs 100] [--chains 100] [--temperatures 1000] [--schedule linear|geometric]
 *        [--digits ../shared/datasets/digits/digits.csv] [--epochs 200] [--digits-only]
 */
import '../src/node/register.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DbmParams } from '../src/core/boltzmann/dbm.js';
import { aisDbmLogZ, exactDbmLogZ, meanDbmLogProb, meanDbmLogProbBound } from '../src/core/boltzmann/dbm-likelihood.js';
import { DbmTrainer } from '../src/core/boltzmann/dbm-train.js';
import type { BetaSchedule } from '../src/core/boltzmann/likelihood.js';
import { dataMean } from '../src/core/boltzmann/train.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    chains: { type: 'string', default: '100' },
    temperatures: { type: 'string', default: '1000' },
    schedule: { type: 'string', default: 'linear' },
    digits: { type: 'string' },
    epochs: { type: 'string', default: '200' },
    'digits-only': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const chains = Number(values.chains);
const temperatures = Number(values.temperatures);
const schedule = values.schedule as BetaSchedule;

function randomDbm(sizes: number[], seed: number, scale: number): DbmParams {
  const rng = rngFor(seed, 'bench-dbm');
  return {
    sizes,
    W: sizes.slice(1).map((n, l) => Float32Array.from({ length: sizes[l]! * n }, () => scale * gaussian(rng))),
    b: sizes.map((n) => Float32Array.from({ length: n }, () => gaussian(rng))),
    o: sizes.map((n) => new Float32Array(n)),
  };
}

const randomModels: { name: string; p: DbmParams; baseBias?: number[] }[] = [
  { name: 'random 20-12-8', p: randomDbm([20, 12, 8], 1, 0.5) },
  { name: 'random 12-8-6-4', p: randomDbm([12, 8, 6, 4], 2, 0.7) },
  { name: 'random 16-14-6, larger weights', p: randomDbm([16, 14, 6], 3, 1) },
];
const models = values['digits-only'] ? [] : randomModels;
if (values.digits) {
  const rows = readFileSync(values.digits, 'utf8').trim().split('\n');
  const x = new Float32Array(rows.length * 64);
  rows.forEach((r, i) => {
    r.split(',')
      .slice(0, 64)
      .forEach((v, j) => {
        x[i * 64 + j] = Number(v) >= 8 ? 1 : 0;
      });
  });
  const data = { x, n: rows.length, nv: 64 };
  const t = await DbmTrainer.create(data, { hidden: [16, 8], lr: 0.05, nu: 0.005, batchSize: 25, centered: true, seed: 1 });
  for (let e = 0; e < Number(values.epochs); e++) await t.epoch();
  const baseBias = Array.from(dataMean(data), (m) => {
    const q = Math.min(0.99, Math.max(0.01, m));
    return Math.log(q / (1 - q));
  });
  models.push({ name: `digits 64-16-8, ${values.epochs} epochs lr 0.05`, p: t.params, baseBias });
  // How far the mean-field bound (what loglik reports for large even layers) lies below the exact value.
  const logZ = await exactDbmLogZ(t.params);
  const exactLl = await meanDbmLogProb(t.params, x, logZ);
  const boundLl = await meanDbmLogProbBound(t.params, x, logZ);
  process.stdout.write(
    `digits model: exact mean log p(v) ${exactLl.toFixed(4)}, mean-field bound ${boundLl.toFixed(4)} (gap ${(exactLl - boundLl).toFixed(4)} nats)\n`,
  );
  await t.release();
}

process.stdout.write(`${runs} runs, ${chains} chains, ${temperatures} ${schedule} temperatures\n`);
process.stdout.write('| model (exact log Z) | mean AIS − exact | max abs error | within 0.1 nats | within 3 s.e. | mean s.e. |\n|---|---|---|---|---|---|\n');
for (const { name, p, baseBias } of models) {
  const exact = await exactDbmLogZ(p);
  const errors: number[] = [];
  let within3 = 0;
  let se = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const r = await aisDbmLogZ(p, { chains, temperatures, schedule, seed, baseBias });
    errors.push(r.logZ - exact);
    if (Math.abs(r.logZ - exact) <= 3 * r.stdErr) within3++;
    se += r.stdErr;
  }
  const mean = errors.reduce((s, e) => s + e, 0) / runs;
  const maxAbs = Math.max(...errors.map(Math.abs));
  const within = errors.filter((e) => Math.abs(e) <= 0.1).length;
  process.stdout.write(
    `| ${name} (${exact.toFixed(3)}) | ${mean.toFixed(4)} | ${maxAbs.toFixed(3)} | ${within}/${runs} | ${within3}/${runs} | ${(se / runs).toFixed(3)} |\n`,
  );
}
