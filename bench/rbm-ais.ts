/**
 * AIS against exact log Z over many independent runs (issue 14's target: within 0.1 nats over
 * ≥ 100 runs). Two small RBMs: random weights (16-10, 20-14) and a PCD-trained 9-8 model on
 * bars and stripes, whose few sharp modes are the hard case for annealing.
 *
 *   node dist/bench/rbm-ais.js [--runs 100] [--chains 100] [--temperatures 1000] [--schedule linear|geometric]
 */
import '../src/node/register.js';
import { parseArgs } from 'node:util';
import { aisLogZ, type BetaSchedule, exactLogZ } from '../src/core/boltzmann/likelihood.js';
import type { RbmParams } from '../src/core/boltzmann/rbm.js';
import { RbmTrainer } from '../src/core/boltzmann/train.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    chains: { type: 'string', default: '100' },
    temperatures: { type: 'string', default: '1000' },
    schedule: { type: 'string', default: 'linear' },
  },
});
const runs = Number(values.runs);
const chains = Number(values.chains);
const temperatures = Number(values.temperatures);
const schedule = values.schedule as BetaSchedule;

function randomRbm(nv: number, nh: number, seed: number, scale: number): RbmParams {
  const rng = rngFor(seed, 'bench-rbm');
  const f = (n: number, s: number) => Float32Array.from({ length: n }, () => s * gaussian(rng));
  return { nv, nh, W: f(nv * nh, scale), a: f(nv, 1), c: f(nh, 1), ov: Float32Array.from({ length: nv }, rng), oh: Float32Array.from({ length: nh }, rng) };
}

async function barsAndStripesRbm(): Promise<RbmParams> {
  const rows: number[][] = [];
  for (let m = 0; m < 8; m++) {
    const on = [m & 1, (m >> 1) & 1, (m >> 2) & 1];
    rows.push(Array.from({ length: 9 }, (_, k) => on[Math.floor(k / 3)]!));
    rows.push(Array.from({ length: 9 }, (_, k) => on[k % 3]!));
  }
  const x = Float32Array.from(rows.flat());
  const t = await RbmTrainer.create(
    { x, n: rows.length, nv: 9 },
    { hidden: 8, method: 'pcd', lr: 0.2, nu: 0.05, batchSize: 8, chains: 16, centered: true, seed: 5 },
  );
  for (let e = 0; e < 600; e++) await t.epoch();
  await t.release();
  return t.params;
}

const models: [string, RbmParams][] = [
  ['random 16-10 (W ~ 0.8·N(0,1))', randomRbm(16, 10, 21, 0.8)],
  ['random 20-14 (W ~ N(0,1))', randomRbm(20, 14, 22, 1)],
  ['bars-and-stripes 9-8 (PCD, centered)', await barsAndStripesRbm()],
];
console.log(`AIS: ${runs} runs per model, ${chains} chains, ${temperatures} temperatures, ${schedule} schedule`);
for (const [name, p] of models) {
  const exact = await exactLogZ(p);
  const errors: number[] = [];
  const ses: number[] = [];
  for (let r = 0; r < runs; r++) {
    const est = await aisLogZ(p, { chains, temperatures, schedule, seed: 1000 + r });
    errors.push(est.logZ - exact);
    ses.push(est.stdErr);
  }
  const abs = errors.map(Math.abs);
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const within = abs.filter((e) => e < 0.1).length;
  const inside3se = errors.filter((e, i) => Math.abs(e) <= 3 * ses[i]!).length;
  console.log(
    `${name}: exact log Z ${exact.toFixed(4)}; AIS − exact mean ${mean(errors).toFixed(4)}, max |·| ${Math.max(...abs).toFixed(4)}, ` +
      `within 0.1 nats ${within}/${runs}, within 3 s.e. ${inside3se}/${runs}, mean s.e. ${mean(ses).toFixed(4)}`,
  );
}
