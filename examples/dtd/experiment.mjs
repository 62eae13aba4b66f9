// Deep Taylor decomposition on a one-layer detection + sum-pooling network (Montavon et al. 2017,
// §2.5/2.7) and on the deeper network of §2.6 (deep.mjs), on scikit-learn's 8×8 digits.
// Usage: node experiment.mjs DIGITS_CSV OUT_DIR
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { upscaleRgba } from '../../dist/src/core/visualize/figure.js';
import { renderHeatmapGridSvg, svgToPng } from '../../dist/src/node/evaluate/plot.js';
import { Explainer, imageToRgba, nearestRootTaylor, relevanceToHeatmap, sensitivity, Trainer } from '../../dist/src/node/index.js';
import { renderPlot } from '../../dist/src/node/text/plot.js';
import { explainMinMax, fitConstants, fitMinMax, predictConstants, trueRelevances } from './deep.mjs';

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
const lrp = async (o, m = model) => {
  const e = await Explainer.create(m, { threads: 1, ...o });
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

const pct = (v) => `${(100 * v).toFixed(2)}%`;
/** Per method (relevance R [N, 64], explained scores f): negative share, conservation error, scatter points. */
function summarise(methods, network, points) {
  const out = {};
  for (const [name, { R, f }] of Object.entries(methods)) {
    let neg = 0;
    let abs = 0;
    let withNeg = 0;
    const relErr = [];
    for (let i = 0; i < N; i++) {
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
      if (f[i] > 1e-3) relErr.push(Math.abs(s - f[i]) / f[i]);
      points.push({ network, method: name, f: f[i], sumR: s });
    }
    relErr.sort((a, b) => a - b);
    out[name] = {
      negativeShare: neg / abs,
      samplesWithNegative: withNeg,
      medianRelError: relErr[Math.floor(relErr.length / 2)],
      maxRelError: relErr[relErr.length - 1],
      samplesWithF: relErr.length,
    };
  }
  return out;
}
const tableRows = (ms) =>
  Object.entries(ms).map(
    ([m, r]) =>
      `| ${m} | ${pct(r.negativeShare)} | ${r.samplesWithNegative} / ${N} | ${r.medianRelError.toExponential(2)} | ${r.maxRelError.toExponential(2)} |`,
  );
const HEADER = ['| method | Σ negative / Σ abs | samples with R_p < 0 | median abs(ΣR − f)/f | max abs(ΣR − f)/f |', '| --- | --- | --- | --- | --- |'];

const scoreOf = (e) => labels.map((c, i) => e.logits.data[i * 10 + c]);
const oneLayer = Object.fromEntries(Object.entries(methods).map(([k, e]) => [k, { R: e.relevance.data, f: scoreOf(e) }]));

// The deeper network of §2.6: pixels → 400 detectors (b ≤ 0) → sum pools of 4 (x_k, 100 units) →
// 100 detectors (b ≤ 0) → sum pools of 10 (one per class).
const deepSpec = {
  input: { shape: [64] },
  layers: [
    { type: 'dense', units: 400, bias: 'nonpositive' },
    { type: 'relu' },
    { type: 'sumpool', size: 4 },
    { type: 'dense', units: 100, bias: 'nonpositive' },
    { type: 'relu' },
    { type: 'sumpool', size: 10 },
  ],
};
const sizes = { J: 400, K: 100, L: 100, C: 10 };
const deepTrainer = new Trainer(deepSpec, opts);
await deepTrainer.fit(train);
const deepScore = await deepTrainer.evaluate(test);
const deepModel = deepTrainer.inferenceModel();
writeFileSync(join(out, 'deep-model.onnx'), deepModel);
const trainLabels = Array.from(train.y.data, Number);
const trueTrain = await trueRelevances(deepTrainer.params, train.x, trainLabels, sizes);
const trueTest = await trueRelevances(deepTrainer.params, test.x, labels, sizes);
const fitOpts = { steps: 3000, lr: 1e-3 };
const minMax = await fitMinMax(deepTrainer.params, { x: train.x, ...trueTrain }, sizes, fitOpts);
const minMaxTest = await explainMinMax(minMax, { x: test.x, Rl: trueTest.Rl }, sizes, 0, 1);
const minMaxTrain = await explainMinMax(minMax, { x: train.x, Rl: trueTrain.Rl }, sizes, 0, 1);
const constants = await fitConstants({ labels: trainLabels, ...trueTrain }, 10, 100);
const trainingFree = await lrp({ composite: 'deep-taylor', inputRange: [0, 1] }, deepModel);
const deepF = Array.from(trueTest.f.data);
const deepMethods = {
  'training-free (z+, zB at the pixels)': { R: trainingFree.relevance.data, f: deepF },
  'min-max (fitted, zB at the pixels)': { R: minMaxTest.R.data, f: deepF },
};
/** How well a model R̂ of the relevances R_k of the 100 pooled units fits the true ones: R² and Σ_k R̂_k against f. */
function fitQuality(Rhat, Rtrue, f) {
  const n = Rtrue.length;
  let mean = 0;
  for (const v of Rtrue) mean += v / n;
  let se = 0;
  let sv = 0;
  for (let i = 0; i < n; i++) {
    se += (Rhat[i] - Rtrue[i]) ** 2;
    sv += (Rtrue[i] - mean) ** 2;
  }
  const sumErr = f.map((fi, i) => Math.abs(Rhat.subarray(i * 100, (i + 1) * 100).reduce((a, v) => a + v, 0) - fi) / fi).sort((a, b) => a - b);
  return { r2: 1 - se / sv, medianSumRelError: sumErr[Math.floor(sumErr.length / 2)] };
}
const constTest = await predictConstants(constants, { labels, xk: trueTest.xk }, 10, 100);
const constTrain = await predictConstants(constants, { labels: trainLabels, xk: trueTrain.xk }, 10, 100);
const trainF = Array.from(trueTrain.f.data);
const fits = {
  'min-max': { train: fitQuality(minMaxTrain.Rhat.data, trueTrain.Rk.data, trainF), test: fitQuality(minMaxTest.Rhat.data, trueTest.Rk.data, deepF) },
  'training-free, c constant per unit and class': {
    train: fitQuality(constTrain.data, trueTrain.Rk.data, trainF),
    test: fitQuality(constTest.data, trueTest.Rk.data, deepF),
  },
  'R_k = x_k (c = 1, the min-max start)': { test: fitQuality(trueTest.xk.data, trueTest.Rk.data, deepF) },
};
// Agreement of the two pixel heatmaps: Pearson correlation per test image.
const corr = [];
for (let i = 0; i < N; i++) {
  const a = trainingFree.relevance.data.subarray(i * 64, (i + 1) * 64);
  const b = minMaxTest.R.data.subarray(i * 64, (i + 1) * 64);
  const ma = a.reduce((s, v) => s + v, 0) / 64;
  const mb = b.reduce((s, v) => s + v, 0) / 64;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let p = 0; p < 64; p++) {
    sab += (a[p] - ma) * (b[p] - mb);
    saa += (a[p] - ma) ** 2;
    sbb += (b[p] - mb) ** 2;
  }
  corr.push(sab / Math.sqrt(saa * sbb));
}
corr.sort((a, b) => a - b);

const points = [];
const results = {
  data: `${csv}: ${split.train.length} train / ${N} test images (every 5th of each class is test), pixels /16 → [0, 1]`,
  spec,
  training: opts,
  testAccuracy: score.accuracy,
  biases: { max: Math.max(...bias), atZero: bias.filter((b) => b === 0).length, of: bias.length },
  taylorRoots: { reached: taylor.reached.filter(Boolean).length, of: N },
  methods: summarise(oneLayer, 'one-layer', points),
  deep: {
    spec: deepSpec,
    testAccuracy: deepScore.accuracy,
    biasesMax: ['dense_0.bias', 'dense_1.bias'].map((k) => Math.max(...deepTrainer.params.get(k).data)),
    minMaxFit: { ...fitOpts, optimiser: 'Adam, full batch, mean squared error over all 100 R_k', start: 'v = w, u = 0, d = b', loss: minMax.losses },
    relevanceModelFit: fits,
    heatmapCorrelation: { median: corr[Math.floor(N / 2)], min: corr[0], max: corr[N - 1] },
    methods: summarise(deepMethods, 'two-layer (§2.6)', points),
  },
};
writeFileSync(join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
const f3 = (v) => v.toFixed(3);
const table = [
  '**One-layer network** (detection + sum pooling)',
  '',
  ...HEADER,
  ...tableRows(results.methods),
  '',
  '**Two-layer network** (§2.6): relevance models of the pooled layer-1 units',
  '',
  ...HEADER,
  ...tableRows(results.deep.methods),
  '',
  '| relevance model of R_k | R² train | R² test | median abs(Σ_k R̂_k − f)/f, test |',
  '| --- | --- | --- | --- |',
  ...Object.entries(fits).map(([m, r]) => `| ${m} | ${r.train ? f3(r.train.r2) : '—'} | ${f3(r.test.r2)} | ${r.test.medianSumRelError.toExponential(2)} |`),
  '',
  `Pearson correlation of the training-free and min-max heatmaps per test image: median ${f3(results.deep.heatmapCorrelation.median)}, min ${f3(results.deep.heatmapCorrelation.min)}.`,
];
writeFileSync(join(out, 'table.md'), `${table.join('\n')}\n`);

const allMethods = [...Object.keys(oneLayer), ...Object.keys(deepMethods)];
const scatter = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: { text: 'Conservation: Σ_p R_p against f(x) on the test set', subtitle: 'black: the diagonal ΣR = f(x); last two: the two-layer network' },
  data: { values: points },
  facet: { field: 'method', type: 'nominal', title: null, sort: allMethods },
  columns: 4,
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
  resolve: { scale: { x: 'independent', y: 'independent' } },
  config: { font: 'DejaVu Sans' },
};
const plot = await renderPlot(scatter);
writeFileSync(join(out, 'conservation.svg'), plot.svg);
writeFileSync(join(out, 'conservation.png'), plot.png);

// Rows: the input (ink dark), then each method; columns: the first test image of each class. Each tile is
// scaled by its own largest |R| (bwr: red positive, blue negative), drawn 6× and labelled.
const cols = Array.from({ length: 10 }, (_, c) => labels.indexOf(c));
const tile = (rgba) => upscaleRgba({ rgba, width: 8, height: 8 }, 6);
const inputRow = {
  label: 'input',
  tiles: cols.map((i) =>
    tile(
      imageToRgba(
        test.x.data.subarray(i * 64, (i + 1) * 64).map((v) => 255 * (1 - v)),
        8,
        8,
      ),
    ),
  ),
};
const row = (label, R) => ({
  label,
  caption: 'signed (bwr)',
  tiles: cols.map((i) => tile(relevanceToHeatmap(R.subarray(i * 64, (i + 1) * 64), 8, 8, { colormap: 'bwr' }))),
});
const grids = {
  heatmaps: { model: 'one-layer network (model.onnx)', ms: oneLayer },
  'deep-heatmaps': { model: 'two-layer network of §2.6 (deep-model.onnx)', ms: deepMethods },
};
for (const [file, { model: name, ms }] of Object.entries(grids)) {
  const t = {
    columns: cols.map((i, c) => `test #${i}\nclass ${c}`),
    rows: [inputRow, ...Object.entries(ms).map(([m, { R }]) => row(m, R))],
  };
  const svg = await renderHeatmapGridSvg(t, { settings: { model: name } });
  writeFileSync(join(out, `${file}.svg`), svg);
  writeFileSync(join(out, `${file}.png`), svgToPng(svg));
}
console.log(JSON.stringify(results, null, 2));
