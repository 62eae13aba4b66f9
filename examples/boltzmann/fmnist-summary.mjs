// Tables and the kernel-analysis plot of the Fashion-MNIST DBMs from the files run-fmnist.sh
// writes (loglik-*.json, analysis-*.json) into OUT_DIR/table.md and OUT_DIR/kernel-analysis.png.
// Usage: node examples/boltzmann/fmnist-summary.mjs OUT_DIR
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPlot } from '../../dist/src/node/text/plot.js';

const out = process.argv[2];
if (!out) throw new Error('usage: node fmnist-summary.mjs OUT_DIR');
const read = (name) => (existsSync(join(out, name)) && readFileSync(join(out, name), 'utf8').trim() ? JSON.parse(readFileSync(join(out, name), 'utf8')) : null);
const models = ['centered', 'uncentered'];
const lines = [];
const ll = (r) => (r ? `${r.mean_loglik.toFixed(2)} | ${r.log_z.toFixed(2)} ± ${r.log_z_std_err.toFixed(2)}` : 'not run | –');
lines.push(
  '| model | test log p(v) ≥ (nats) | AIS log Z ± s.e. | layer 2 removed (at its offset): test log p(v) | its log Z ± s.e. | layer 2 at its mean activation: test log p(v) | its log Z ± s.e. |',
  '|---|---|---|---|---|---|---|',
);
for (const m of models)
  lines.push(`| ${m} | ${ll(read(`loglik-${m}.json`))} | ${ll(read(`loglik-${m}-no-layer2.json`))} | ${ll(read(`loglik-${m}-layer2-at-mean.json`))} |`);
lines.push('');
lines.push(
  '| model | ‖W⁽⁰⁾‖ | ‖W⁽¹⁾‖ | layer 1: mean unit variance | layer 1: units with std > 0.1 | layer 2: mean unit variance | layer 2: units with std > 0.1 | layer 2: mean entropy (nats) | mean abs change of μ⁽¹⁾ when layer 2 is removed |',
  '|---|---|---|---|---|---|---|---|---|',
);
const ka = {};
for (const m of models) {
  const a = read(`analysis-${m}.json`);
  if (!a) continue;
  const b = a.check_b;
  lines.push(
    `| ${m} | ${b.weight_norm[0].toFixed(1)} | ${b.weight_norm[1].toFixed(1)} | ${b.layer1.mean_unit_variance.toFixed(3)} | ${b.layer1.units_std_above_0_1}/400 | ${b.layer2.mean_unit_variance.toFixed(3)} | ${b.layer2.units_std_above_0_1}/100 | ${b.layer2.mean_entropy_nats.toFixed(3)} | ${b.mean_abs_change_of_layer1_when_layer2_removed.toFixed(3)} |`,
  );
  ka[m] = a;
}
lines.push('');
const ds = [1, 2, 3, 5, 10, 20, 50];
lines.push(`| model | representation | ${ds.map((d) => `e(${d})`).join(' | ')} |`, `|---|---|${ds.map(() => '---').join('|')}|`);
const points = [];
for (const [m, a] of Object.entries(ka)) {
  for (const [layer, r] of Object.entries(a.kernel_analysis)) {
    lines.push(`| ${m} | ${layer} | ${ds.map((d) => r.error[d - 1]?.toFixed(3) ?? '–').join(' | ')} |`);
    r.error.forEach((e, k) => points.push({ model: m, layer, d: k + 1, error: e }));
  }
}
writeFileSync(join(out, 'table.md'), `${lines.join('\n')}\n`);
if (points.length) {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: 'Kernel analysis of the DBM 784-400-100 layers (Fashion-MNIST test images)',
      subtitle: 'RBF kernel PCA; labels projected on the leading d components',
    },
    data: { values: points },
    facet: { column: { field: 'model', title: null } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line' },
      encoding: {
        x: { field: 'd', type: 'quantitative', title: 'leading kernel-PCA components d', scale: { type: 'log', domain: [1, 50] } },
        y: { field: 'error', type: 'quantitative', title: 'label error e(d)' },
        color: { field: 'layer', type: 'nominal', title: 'representation' },
      },
    },
  };
  const { svg, png } = await renderPlot(spec);
  writeFileSync(join(out, 'kernel-analysis.svg'), svg);
  writeFileSync(join(out, 'kernel-analysis.png'), png);
}
process.stdout.write(`${lines.join('\n')}\n`);
