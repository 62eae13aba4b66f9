// Deep Taylor decomposition on a one-layer detection + sum-pooling network (Montavon et al. 2017,
// §2.5/2.7), on scikit-learn's 8×8 digits. Usage: node experiment.mjs DIGITS_CSV OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Explainer, heatmapGrid, imageToRgba, nearestRootTaylor, relevanceToHeatmap, sensitivity, Trainer } from '../../dist/src/node/index.js';
import { renderPlot } from '../../dist/src/node/text/plot.js';
import { encodePng } from '../../dist/src/node/visualize/png.js';

const [csv, out] = process.argv.slice(2);
if (!csv || !out) throw new Error('usage: node experiment.mjs DIGITS_CSV OUT_DIR');
const rows = readFileSync(csv, 'utf8')
  .trim()
  .split('\n')
  .map((l) => l.split(',').map(Number));
// Seeded by construction: within each class, every 5th image (in file order) is a test image.
const seen = new Array(10).fill(0);
const split = { train: [], test: [] };
for (const r of rows) split[seen[r[64]]++ % 5 === 0 ? 'test' : 'train'].push(r);
const dataset = (rs) => ({
  x: { dtype: 'float32', dims: [rs.length, 64], data: Float32Array.from(rs.flatMap((r) => r.slice(0, 64).map((v) => v / 16))) },
  y: { dtype: 'int64', dims: [rs.length], data: BigInt64Array.from(rs.map((r) => BigInt(r[64]))) },
});
const train = dataset(split.train);
const test = dataset(split.test);

// Ten ReLU detectors per class with biases kept ≤ 0, summed per class: f_c(x) = Σ_{j∈c} x_j ≥ 0.
const spec = {
  input: { shape: [64] },
  layers: [{ type: 'dense', units: 100, bias: 'nonpositive' }, { type: 'relu' }, { type: 'sumpool', size: 10 }],
};
const opts = { epochs: 40, batchSize: 32, lr: 3e-3, seed: 0, threads: 1 };
const trainer = new Trainer(spec, opts);
await trainer.fit(train);
const score = await trainer.evaluate(test);
const bias = Array.from(trainer.params.get('dense_0.bias').data);
const model = trainer.inferenceModel();
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'model.onnx'), model);

const N = test.y.dims[0];
const labels = Array.from(test.y.data, Number);
const lrp = async (o) => {
  const e = await Explainer.create(model, { threads: 1, ...o });
  const r = await e.explain(test.x, { target: labels });
  await e.release();
  return r;
};
const grad = await Explainer.create(model, { method: 'gradient', threads: 1 });
const taylor = await nearestRootTaylor(grad, test.x, { target: labels, low: 0, high: 1 });
const methods = {
  'zB (deep-taylor)': await lrp({ composite: 'deep-taylor', inputRange: [0, 1] }),
  'z+': await lrp({ rule: 'zplus' }),
  'w²': await lrp({ rule: 'wsquare' }),
  'sensitivity (grad²)': await sensitivity(grad, test.x, { target: labels }),
  'one-shot Taylor': taylor,
};
await grad.release();

const results = {
  data: `${csv}: ${split.train.length} train / ${N} test images (every 5th of each class is test), pixels /16 → [0, 1]`,
  spec,
  training: opts,
  testAccuracy: score.accuracy,
  biases: { max: Math.max(...bias), atZero: bias.filter((b) => b === 0).length, of: bias.length },
  taylorRoots: { reached: taylor.reached.filter(Boolean).length, of: N },
  methods: {},
};
const points = [];
for (const [name, e] of Object.entries(methods)) {
  const R = e.relevance.data;
  let neg = 0;
  let abs = 0;
  let withNeg = 0;
  const relErr = [];
  for (let i = 0; i < N; i++) {
    const f = e.logits.data[i * 10 + labels[i]];
    let s = 0;
    let mn = 0;
    let mx = 0;
    for (let p = 0; p < 64; p++) {
      const v = R[i * 64 + p];
      s += v;
      if (v < 0) neg -= v;
      abs += Math.abs(v);
      mn = Math.min(mn, v);
      mx = Math.max(mx, Math.abs(v));
    }
    if (mn < -1e-6 * mx) withNeg++;
    if (f > 1e-3) relErr.push(Math.abs(s - f) / f);
    points.push({ method: name, f, sumR: s });
  }
  relErr.sort((a, b) => a - b);
  results.methods[name] = {
    negativeShare: neg / abs,
    samplesWithNegative: withNeg,
    medianRelError: relErr[Math.floor(relErr.length / 2)],
    maxRelError: relErr[relErr.length - 1],
    samplesWithF: relErr.length,
  };
}
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const pct = (v) => `${(100 * v).toFixed(2)}%`;
const table = [
  '| method | Σ negative / Σ abs | samples with R_p < 0 | median abs(ΣR − f)/f | max abs(ΣR − f)/f |',
  '| --- | --- | --- | --- | --- |',
  ...Object.entries(results.methods).map(
    ([m, r]) =>
      `| ${m} | ${pct(r.negativeShare)} | ${r.samplesWithNegative} / ${N} | ${r.medianRelError.toExponential(2)} | ${r.maxRelError.toExponential(2)} |`,
  ),
];
writeFileSync(join(out, 'table.md'), `${table.join('\n')}\n`);

const scatter = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: 'Conservation: Σ_p R_p against f(x) on the test set', subtitle: 'black: the diagonal ΣR = f(x)' },
  data: { values: points },
  facet: { field: 'method', type: 'nominal', title: null, sort: Object.keys(methods) },
  columns: 5,
  spec: {
    width: 180,
    height: 180,
    layer: [
      {
        mark: { type: 'point', size: 12, opacity: 0.6 },
        encoding: { x: { field: 'f', type: 'quantitative', title: 'f(x)' }, y: { field: 'sumR', type: 'quantitative', title: 'Σ R_p' } },
      },
      { mark: { type: 'line', color: 'black' }, encoding: { x: { field: 'f', type: 'quantitative' }, y: { field: 'f', type: 'quantitative' } } },
    ],
  },
  resolve: { scale: { y: 'independent' } },
  config: { font: 'DejaVu Sans' },
};
const plot = await renderPlot(scatter);
writeFileSync(join(out, 'conservation.svg'), plot.svg);
writeFileSync(join(out, 'conservation.png'), plot.png);

// Rows: the input (ink dark), then each method; columns: the first test image of each class. Each tile is
// scaled by its own largest |R| (bwr: red positive, blue negative).
const cols = Array.from({ length: 10 }, (_, c) => labels.indexOf(c));
const tiles = cols.map((i) => ({
  rgba: imageToRgba(
    test.x.data.subarray(i * 64, (i + 1) * 64).map((v) => 255 * (1 - v)),
    8,
    8,
  ),
  width: 8,
  height: 8,
}));
for (const e of Object.values(methods))
  for (const i of cols)
    tiles.push({ rgba: relevanceToHeatmap(e.relevance.data.subarray(i * 64, (i + 1) * 64), 8, 8, { colormap: 'bwr' }), width: 8, height: 8 });
const grid = heatmapGrid(tiles, { cols: 10, gap: 1 });
writeFileSync(join(out, 'heatmaps.png'), encodePng(grid.rgba, grid.width, grid.height, 12));
console.log(JSON.stringify(results, null, 2));
