// Conditioning at initialisation (arXiv 1203.3783, digest §5.7 check d): the exact Fisher matrix
// of a 10-5 RBM — the model covariance of the sufficient statistics ((v − o_v)(h − o_h)ᵀ, v − o_v,
// h − o_h), i.e. minus the Hessian of the log-likelihood in the (W, a, c) of the chosen offsets —
// by enumerating all 2^15 joint states in float64, centered (o = the model's means) vs
// uncentered (o = 0). Visible biases: logit of the binarised digits' means of the 10 pixels of
// largest variance; hidden biases −1; weights 0 or N(0, σ²).
// Usage (after `npx tsc -p tsconfig.json`): node examples/boltzmann/fisher.mjs DIGITS_CSV [OUT.md]
import { readFileSync, writeFileSync } from 'node:fs';
import { symmetricEigen } from '../../dist/src/core/math/linalg.js';
import { gaussian, rngFor } from '../../dist/src/core/math/rng.js';

const [csv, outPath] = process.argv.slice(2);
if (!csv) throw new Error('usage: node fisher.mjs DIGITS_CSV [OUT.md]');
const rows = readFileSync(csv, 'utf8')
  .trim()
  .split('\n')
  .map((r) => r.split(',').map(Number));
const allMeans = Array.from({ length: 64 }, (_, k) => rows.reduce((s, r) => s + (r[k] >= 8 ? 1 : 0), 0) / rows.length);
// The 10 pixels of largest variance m(1 − m), in pixel order.
const pixels = allMeans
  .map((m, k) => [m * (1 - m), k])
  .sort((x, y) => y[0] - x[0] || x[1] - y[1])
  .slice(0, 10)
  .map(([, k]) => k)
  .sort((x, y) => x - y);
const mean = pixels.map((k) => allMeans[k]);
const nv = 10;
const nh = 5;
const sig = (t) => 1 / (1 + Math.exp(-t));
const logit = (m) => Math.log(m / (1 - m));

function fisher(W, a, c, ov, oh) {
  // Uncentered energy for the distribution; sufficient statistics centered at (ov, oh).
  const states = [];
  const logp = [];
  for (let k = 0; k < 2 ** (nv + nh); k++) {
    const x = Array.from({ length: nv + nh }, (_, j) => (k >> j) & 1);
    const v = x.slice(0, nv);
    const h = x.slice(nv);
    let e = 0;
    for (let i = 0; i < nv; i++) e += a[i] * v[i];
    for (let j = 0; j < nh; j++) e += c[j] * h[j];
    for (let i = 0; i < nv; i++) for (let j = 0; j < nh; j++) e += v[i] * W[i * nh + j] * h[j];
    logp.push(e);
    const stat = [];
    for (let i = 0; i < nv; i++) for (let j = 0; j < nh; j++) stat.push((v[i] - ov[i]) * (h[j] - oh[j]));
    for (let i = 0; i < nv; i++) stat.push(v[i] - ov[i]);
    for (let j = 0; j < nh; j++) stat.push(h[j] - oh[j]);
    states.push(stat);
  }
  const m = Math.max(...logp);
  const w = logp.map((t) => Math.exp(t - m));
  const z = w.reduce((s, t) => s + t, 0);
  const d = nv * nh + nv + nh;
  const mu = new Float64Array(d);
  const second = new Float64Array(d * d);
  states.forEach((s, k) => {
    const p = w[k] / z;
    for (let i = 0; i < d; i++) {
      mu[i] += p * s[i];
      for (let j = 0; j < d; j++) second[i * d + j] += p * s[i] * s[j];
    }
  });
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) second[i * d + j] -= mu[i] * mu[j];
  const { values } = symmetricEigen(second, d);
  const sorted = Array.from(values).sort((x, y) => y - x);
  return { max: sorted[0], min: sorted[d - 1], cond: sorted[0] / sorted[d - 1] };
}

const lines = ['| initial weights | parameterisation | largest eigenvalue | smallest eigenvalue | condition number |', '|---|---|---|---|---|'];
for (const std of [0, 0.01, 0.1]) {
  const rng = rngFor(1, 'fisher-init');
  const W = Float64Array.from({ length: nv * nh }, () => std * gaussian(rng));
  const a = mean.map((m) => logit(Math.min(0.99, Math.max(0.01, m))));
  const c = new Array(nh).fill(-1);
  // The model's own means at this initialisation (exact for W = 0; for W ≠ 0 the offsets of the
  // reference initialisation, data mean and σ(−1)).
  const ov = mean;
  const oh = c.map(sig);
  for (const [name, o1, o2] of [
    ['uncentered (o = 0)', new Array(nv).fill(0), new Array(nh).fill(0)],
    ['centered (o = data mean, σ(−1))', ov, oh],
  ]) {
    const f = fisher(W, a, c, o1, o2);
    lines.push(`| ${std === 0 ? '0' : `N(0, ${std}²)`} | ${name} | ${f.max.toExponential(3)} | ${f.min.toExponential(3)} | ${f.cond.toExponential(3)} |`);
  }
}
const text = `Visible means (binarised digits, pixels ${pixels.join(', ')}): ${mean.map((m) => m.toFixed(3)).join(', ')}\n\n${lines.join('\n')}\n`;
process.stdout.write(text);
if (outPath) writeFileSync(outPath, text);
