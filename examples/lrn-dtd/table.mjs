// Collects the runs of run.sh into one Markdown table: AOPC MoRF (higher = better) and LeRF
// (lower = better) per rule setting, identity vs Taylor treatment of LRN, with standard errors, and
// the paired difference Taylor − identity over the same images (mean ± standard error).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) throw new Error('usage: node table.mjs OUT_DIR');

/** Per-sample AOPCs of one method in one run, keyed by sample id. */
function perSample(run, label) {
  const lines = readFileSync(join(out, run, 'samples.csv'), 'utf8')
    .trim()
    .split('\n');
  const head = lines[0].split(',');
  const col = (k) => head.indexOf(k);
  const rows = new Map();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[col('method')] !== label) continue;
    rows.set(f[col('id')], { morf: Number(f[col('aopc_morf')]), lerf: Number(f[col('aopc_lerf')]) });
  }
  if (rows.size === 0) throw new Error(`no samples of ${label} in ${run}`);
  return rows;
}

function meanSe(xs) {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const v = xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
  return [m, Math.sqrt(v / n)];
}
const fmt = ([m, se]) => `${m.toFixed(3)} ± ${se.toFixed(3)}`;

const settings = [
  ['lrp:epsilon@epsilon=0.01', 'taylor-eps-0.01'],
  ['lrp:epsilon@epsilon=0.1', 'taylor-eps-0.1'],
  ['lrp:epsilon@epsilon=1', 'taylor-eps-1'],
  ['lrp:epsilon@epsilon=10', 'taylor-eps-10'],
  ['lrp:alphabeta@beta=0', 'taylor-beta-0'],
  ['lrp:alphabeta@beta=1', 'taylor-beta-1'],
];
const rows = [];
let n = 0;
for (const [label, run] of settings) {
  const id = perSample('identity', label);
  const ta = perSample(run, label);
  const ids = [...id.keys()].filter((k) => ta.has(k));
  n = ids.length;
  const get = (m, k) => ids.map((i) => m.get(i)[k]);
  const diff = (k) => ids.map((i) => ta.get(i)[k] - id.get(i)[k]);
  rows.push(
    `| ${label} | ${fmt(meanSe(get(id, 'morf')))} | ${fmt(meanSe(get(ta, 'morf')))} | ${fmt(meanSe(diff('morf')))} | ` +
      `${fmt(meanSe(get(id, 'lerf')))} | ${fmt(meanSe(get(ta, 'lerf')))} | ${fmt(meanSe(diff('lerf')))} |`,
  );
}
const random = perSample('identity', 'random');
console.log(`${n} test images, the same in every run; AOPC of the logit of the predicted class.\n`);
console.log('| rule | MoRF identity | MoRF Taylor | MoRF Taylor − identity | LeRF identity | LeRF Taylor | LeRF Taylor − identity |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nRandom order: MoRF ${fmt(meanSe([...random.values()].map((r) => r.morf)))}, LeRF ${fmt(meanSe([...random.values()].map((r) => r.lerf)))}.`);
console.log('MoRF: higher is better (the most relevant regions first destroy the score fastest); LeRF: lower is better.');
