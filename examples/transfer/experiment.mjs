// Transfer experiment of issue 17 (arXiv 1606.07285 on procedural faces; papers/model-papers.md §1,
// targets 1.1–1.6): attribute regression heads on the age and the gender-like base CNNs, dense-only
// retraining vs full fine-tuning vs training from scratch, k-fold MAE against the mean predictor;
// LRP heatmaps of the held-out predictions, their share inside each attribute's cue box; feature
// richness of the two bases (effective rank, linear probes, heatmap diversity); the KDEF-like set.
// Usage: node examples/transfer/experiment.mjs FACES_DIR MODELS_DIR OUT_DIR   (after npm run build;
// MODELS_DIR holds base-age.onnx and base-gender.onnx; see run.sh). Settings by environment:
// FOLDS (5), EPOCHS (20), LIMIT (all attribute images), THREADS (1).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Explainer } from '../../dist/src/node/api.js';
import '../../dist/src/node/register.js';
import { Trainer } from '../../dist/src/core/train/trainer.js';
import { checkSpec } from '../../dist/src/core/train/spec.js';
import { readNpy } from '../../dist/src/core/onnx/npy.js';
import { rngFor, permutation } from '../../dist/src/core/math/rng.js';
import { symmetricEigen } from '../../dist/src/core/math/linalg.js';
import { boxMask, localisationScore } from '../../dist/src/core/evaluate/localisation.js';
import { ATTRIBUTES, ATTRIBUTE_CUE } from '../../dist/src/core/faces/generator.js';
import { relevanceToHeatmap, heatmapGrid, imageToRgba } from '../../dist/src/core/visualize/heatmap.js';
import { encodePng } from '../../dist/src/node/visualize/png.js';

const [facesDir, modelsDir, outDir] = process.argv.slice(2);
const FOLDS = Number(process.env.FOLDS ?? 5);
const EPOCHS = Number(process.env.EPOCHS ?? 20);
const THREADS = Number(process.env.THREADS ?? 1);
const HERE = new URL('.', import.meta.url).pathname;
const METHOD = { composite: 'epsilon-gamma-box', inputRange: [0, 1] };
const METHOD_NAME = 'lrp:epsilon-gamma-box (zB on the first conv, γ = 0.25 on the other convs, ε on dense layers), input range [0, 1]';
const FROZEN = ['conv2d_0', 'conv2d_1', 'conv2d_2'];
const MODES = {
  dense: { freeze: FROZEN, lr: 1e-3, init: true },
  full: { freeze: [], lr: 3e-4, init: true },
  scratch: { freeze: [], lr: 1e-3, init: false },
};
const BASES = ['age', 'gender'];
mkdirSync(outDir, { recursive: true });

const npy = (p) => readNpy(readFileSync(p));
function loadSet(dir, limit) {
  const x = npy(join(dir, 'images.npy'));
  const records = readFileSync(join(dir, 'labels.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const N = Math.min(limit ?? Infinity, x.dims[0]);
  const S = x.dims[3];
  return { x: { dtype: 'float32', dims: [N, 1, S, S], data: x.data.slice(0, N * S * S) }, records: records.slice(0, N), N, S };
}
const set = loadSet(join(facesDir, 'attributes'), process.env.LIMIT ? Number(process.env.LIMIT) : undefined);
const { N, S } = set;
const P = S * S;
const headSpec = checkSpec(JSON.parse(readFileSync(join(HERE, 'head.spec.json'), 'utf8')));
const baseParams = Object.fromEntries(BASES.map((b) => [b, Trainer.paramsFromOnnx(readFileSync(join(modelsDir, `base-${b}.onnx`)))]));

const rows = (t, idx) => {
  const per = t.data.length / t.dims[0];
  const out = new Float32Array(idx.length * per);
  idx.forEach((r, i) => out.set(t.data.subarray(r * per, (r + 1) * per), i * per));
  return { dtype: 'float32', dims: [idx.length, ...t.dims.slice(1)], data: out };
};
const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
const perm = permutation(N, rngFor('transfer-folds', 0));
const folds = Array.from({ length: FOLDS }, (_, k) => Array.from(perm).filter((_, i) => i % FOLDS === k));

/** One head: train on `train`, predict `test`; returns test predictions and the model re-centred to explain f(x) − mean. */
async function trainHead(base, mode, attr, train, test, seed) {
  const m = MODES[mode];
  const y = Float32Array.from(train, (i) => set.records[i].attributes[attr]);
  const mu = mean(Array.from(y));
  const trainer = new Trainer(headSpec, { epochs: EPOCHS, batchSize: 32, lr: m.lr, loss: { kind: 'mse' }, seed, threads: THREADS, freeze: m.freeze });
  if (m.init) trainer.loadMatching(baseParams[base]);
  // The new output starts at the training mean: the head learns deviations from the first step on.
  trainer.params.set('dense_2.bias', { dtype: 'float32', dims: [1], data: Float32Array.of(mu) });
  await trainer.fit({ x: rows(set.x, train), y: { dtype: 'float32', dims: [train.length, 1], data: y } });
  const yt = Float32Array.from(test, (i) => set.records[i].attributes[attr]);
  const ev = await trainer.evaluate({ x: rows(set.x, test), y: { dtype: 'float32', dims: [test.length, 1], data: yt } });
  const trainPred = (await trainer.evaluate({ x: rows(set.x, train), y: { dtype: 'float32', dims: [train.length, 1], data: y } })).logits;
  // §1.6.1: explain the deviation from the mean prediction (moved into the last bias). Under the
  // ε rule on the output layer this leaves the relevance below it unchanged (R_i = z_ij there);
  // it fixes the sign of f(x) − mean used to split images for the positive share.
  const b = trainer.params.get('dense_2.bias');
  trainer.params.set('dense_2.bias', { ...b, data: Float32Array.of(b.data[0] - mean(Array.from(trainPred))) });
  return {
    pred: ev.logits,
    mae: ev.mae,
    meanMae: mean(Array.from(yt, (v) => Math.abs(v - mu))),
    model: trainer.inferenceModel(),
    centre: mean(Array.from(trainPred)),
  };
}

const results = {
  settings: { images: N, size: S, folds: FOLDS, epochs: EPOCHS, batch: 32, modes: MODES, method: METHOD_NAME },
  mae: {},
  localisation: {},
  richness: {},
  kdef: {},
};
/** Held-out relevance maps per base/mode/attribute: [N·P], filled fold by fold. */
const maps = {};
const preds = {};
const kdefModels = {};
for (const attr of ATTRIBUTES) {
  for (const base of [...BASES, 'none']) {
    for (const mode of base === 'none' ? ['scratch'] : ['dense', 'full']) {
      const key = `${base}/${mode}/${attr}`;
      const rel = new Float32Array(N * P);
      const pred = new Float32Array(N);
      const centred = new Float32Array(N);
      const maes = [];
      const meanMaes = [];
      for (let k = 0; k < FOLDS; k++) {
        const test = folds[k];
        const train = folds.flatMap((f, j) => (j === k ? [] : f));
        const h = await trainHead(base, mode, attr, train, test, 100 + k);
        maes.push(h.mae);
        meanMaes.push(h.meanMae);
        test.forEach((r, i) => (pred[r] = h.pred[i]));
        if (k === 0 && base !== 'none' && mode === 'dense') kdefModels[`${base}/${attr}`] = h;
        if (base === 'none') continue;
        const ex = await Explainer.create(h.model, { ...METHOD, threads: THREADS });
        const r = await ex.explain(rows(set.x, test), { target: 0 });
        await ex.release();
        test.forEach((row, i) => {
          rel.set(r.relevance.data.subarray(i * P, (i + 1) * P), row * P);
          centred[row] = r.logits.data[i];
        });
      }
      const sd = (a) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / Math.max(1, a.length - 1));
      results.mae[key] = { mae: mean(maes), mae_sd_over_folds: sd(maes), mean_predictor: mean(meanMaes) };
      preds[key] = pred;
      process.stderr.write(`${key}: MAE ${mean(maes).toFixed(3)} (mean predictor ${mean(meanMaes).toFixed(3)})\n`);
      if (base === 'none') continue;
      maps[key] = rel;
      // Localisation: the attribute's cue box on every held-out image that has one.
      const cue = ATTRIBUTE_CUE[attr];
      const pos = [];
      const abs = [];
      const area = [];
      const other = {};
      for (let i = 0; i < N; i++) {
        const boxes = set.records[i].boxes;
        const m = rel.subarray(i * P, (i + 1) * P);
        for (const [c, b] of Object.entries(boxes)) {
          const s = localisationScore(m, boxMask([b], S, S));
          if (c === cue) {
            abs.push(s.absolute);
            area.push(s.area);
            if (centred[i] > 0 && s.positive !== null) pos.push(s.positive);
          } else (other[c] ??= []).push(s.absolute);
        }
      }
      results.localisation[key] = {
        cue,
        images: abs.length,
        absolute_share: mean(abs.filter((v) => v !== null)),
        positive_share_above_mean: pos.length ? mean(pos) : null,
        images_above_mean: pos.length,
        area: mean(area),
        absolute_share_in_other_boxes: Object.fromEntries(Object.entries(other).map(([c, v]) => [c, mean(v.filter((u) => u !== null))])),
      };
    }
  }
}

// Feature richness (1.3): penultimate activations (after dense_1's ReLU) of each base on the attribute set.
const featSpec = { ...headSpec, layers: headSpec.layers.slice(0, 15).filter((l) => l.type !== 'dropout') };
function ridgeMae(F, d, yAll) {
  const maes = [];
  for (let k = 0; k < FOLDS; k++) {
    const train = folds.flatMap((f, j) => (j === k ? [] : f));
    const D = d + 1;
    const A = new Float64Array(D * D);
    const bvec = new Float64Array(D);
    const row = (i) => [...F.subarray(i * d, (i + 1) * d), 1];
    for (const i of train) {
      const r = row(i);
      for (let a = 0; a < D; a++) {
        bvec[a] += r[a] * yAll[i];
        for (let c = 0; c < D; c++) A[a * D + c] += r[a] * r[c];
      }
    }
    for (let a = 0; a < d; a++) A[a * D + a] += 1e-3 * train.length;
    const w = solve(A, bvec, D);
    let e = 0;
    for (const i of folds[k]) e += Math.abs(row(i).reduce((s, v, a) => s + v * w[a], 0) - yAll[i]);
    maes.push(e / folds[k].length);
  }
  return mean(maes);
}
function solve(A, b, n) {
  const M = Float64Array.from(A);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * n + c]) > Math.abs(M[p * n + c])) p = r;
    for (let j = 0; j < n; j++) [M[c * n + j], M[p * n + j]] = [M[p * n + j], M[c * n + j]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r * n + c] / M[c * n + c];
      for (let j = c; j < n; j++) M[r * n + j] -= f * M[c * n + j];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let j = c + 1; j < n; j++) x[c] -= M[c * n + j] * x[j];
    x[c] /= M[c * n + c];
  }
  return x;
}
/** Effective rank (Roy & Vetterli 2007): exp of the entropy of the normalised singular values of the centred features. */
function effectiveRank(F, n, d) {
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mu[a] += F[i * d + a] / n;
  const C = new Float64Array(d * d);
  for (let i = 0; i < n; i++)
    for (let a = 0; a < d; a++) {
      const va = F[i * d + a] - mu[a];
      if (va === 0) continue;
      for (let c = 0; c < d; c++) C[a * d + c] += va * (F[i * d + c] - mu[c]);
    }
  const sv = Array.from(symmetricEigen(C, d).values, (v) => Math.sqrt(Math.max(v, 0)));
  const tot = sv.reduce((s, v) => s + v, 0);
  const H = -sv.reduce((s, v) => (v > 0 ? s + (v / tot) * Math.log(v / tot) : s), 0);
  return { effective_rank: Math.exp(H), active_units: Array.from({ length: d }, (_, a) => a).filter((a) => C[a * d + a] > 1e-8 * n).length };
}
/**
 * Mean Pearson correlation between the heatmaps of different attributes on the same image (lower:
 * more attribute-specific), of |R| (where the heads look; the sign of R follows the sign of
 * f(x) − mean, which differs between attributes) and of R.
 */
function heatmapCorrelation(keys, abs) {
  const corr = (a, b) => {
    const ma = mean(Array.from(a));
    const mb = mean(Array.from(b));
    let sab = 0,
      saa = 0,
      sbb = 0;
    for (let p = 0; p < a.length; p++) {
      sab += (a[p] - ma) * (b[p] - mb);
      saa += (a[p] - ma) ** 2;
      sbb += (b[p] - mb) ** 2;
    }
    return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
  };
  const vals = [];
  for (let i = 0; i < N; i++)
    for (let u = 0; u < keys.length; u++)
      for (let v = u + 1; v < keys.length; v++) {
        const pick = (k) => maps[k].subarray(i * P, (i + 1) * P).map((r) => (abs ? Math.abs(r) : r));
        const c = corr(pick(keys[u]), pick(keys[v]));
        if (c !== null) vals.push(c);
      }
  return mean(vals);
}
for (const base of BASES) {
  const t = new Trainer(checkSpec(featSpec), { epochs: 1, batchSize: 256, lr: 1e-3, loss: { kind: 'mse' }, threads: THREADS });
  t.loadMatching(baseParams[base]);
  const d = 64;
  const F = (await t.evaluate({ x: set.x, y: { dtype: 'float32', dims: [N, d], data: new Float32Array(N * d) } })).logits;
  const probe = Object.fromEntries(
    ATTRIBUTES.map((a) => [
      a,
      ridgeMae(
        F,
        d,
        Float64Array.from(set.records, (r) => r.attributes[a]),
      ),
    ]),
  );
  results.richness[base] = {
    ...effectiveRank(F, N, d),
    linear_probe_mae: probe,
    linear_probe_mae_mean: mean(Object.values(probe)),
    heatmap_correlation_across_attributes: Object.fromEntries(
      ['dense', 'full'].flatMap((m) => [
        [
          `${m} |R|`,
          heatmapCorrelation(
            ATTRIBUTES.map((a) => `${base}/${m}/${a}`),
            true,
          ),
        ],
        [
          `${m} R`,
          heatmapCorrelation(
            ATTRIBUTES.map((a) => `${base}/${m}/${a}`),
            false,
          ),
        ],
      ]),
    ),
  };
}

// KDEF-like: the fold-0 dense-only heads on every identity in the seven expressions.
const kdef = loadSet(join(facesDir, 'kdef'));
const kdefRel = {};
for (const [key, h] of Object.entries(kdefModels)) {
  const ex = await Explainer.create(h.model, { ...METHOD, threads: THREADS });
  const r = await ex.explain(kdef.x, { target: 0 });
  await ex.release();
  kdefRel[key] = r.relevance.data;
  const byExpr = {};
  kdef.records.forEach((rec, i) => (byExpr[rec.expression] ??= []).push(r.logits.data[i] + h.centre));
  results.kdef[key] = Object.fromEntries(Object.entries(byExpr).map(([e, v]) => [e, mean(v)]));
}
writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');

// Grids.
const img = (x, i) => ({
  rgba: imageToRgba(
    Array.from(x.data.subarray(i * P, (i + 1) * P), (v) => v * 255),
    S,
    S,
  ),
  width: S,
  height: S,
});
const heat = (rel, i) => ({ rgba: relevanceToHeatmap(rel.subarray(i * P, (i + 1) * P), S, S, { colormap: 'bwr' }), width: S, height: S });
function writeGrid(name, tiles, cols) {
  const g = heatmapGrid(tiles, { cols });
  writeFileSync(join(outDir, name), encodePng(g.rgba, g.width, g.height, 3));
}
// Rows: 6 attribute-set images; columns: input, then per attribute the age-base and the gender-base heatmap (dense-only).
const pick = [];
for (let i = 0; i < N && pick.length < 6; i++) if (set.records[i].boxes.mark) pick.push(i);
for (let i = 0; i < N && pick.length < 8; i++) if (!set.records[i].boxes.mark) pick.push(i);
for (const mode of ['dense', 'full']) {
  const tiles = [];
  for (const i of pick) {
    tiles.push(img(set.x, i));
    for (const a of ATTRIBUTES) for (const b of BASES) tiles.push(heat(maps[`${b}/${mode}/${a}`], i));
  }
  writeGrid(`heatmaps-${mode}.png`, tiles, 1 + 2 * ATTRIBUTES.length);
}
// KDEF-like: 3 identities × 7 expressions, happiness heatmaps of the age base, then its surprise heatmaps.
const kt = [];
for (const key of ['age/happiness', 'age/surprise'])
  for (let p = 0; p < 3; p++) {
    for (let e = 0; e < 7; e++) kt.push(img(kdef.x, p * 7 + e));
    for (let e = 0; e < 7; e++) kt.push(heat(kdefRel[key], p * 7 + e));
  }
writeGrid('kdef.png', kt, 14);

// Tables.
const f3 = (v) => (v === null || v === undefined ? '–' : v.toFixed(3));
let md = `# Results (${N} attribute images, ${S}×${S}, ${FOLDS}-fold, ${EPOCHS} epochs per head)\n\nHeatmaps: ${METHOD_NAME}; explained output f(x) − mean training prediction.\n\n`;
md +=
  '## MAE per attribute (mean over folds ± sd over folds)\n\n| attribute | mean predictor | scratch | age dense | age full | gender dense | gender full |\n|---|---|---|---|---|---|---|\n';
for (const a of ATTRIBUTES) {
  const c = (k) => `${f3(results.mae[k].mae)} ± ${f3(results.mae[k].mae_sd_over_folds)}`;
  md += `| ${a} | ${f3(results.mae[`age/dense/${a}`].mean_predictor)} | ${c(`none/scratch/${a}`)} | ${c(`age/dense/${a}`)} | ${c(`age/full/${a}`)} | ${c(`gender/dense/${a}`)} | ${c(`gender/full/${a}`)} |\n`;
}
md +=
  "\n## Share of |relevance| inside the attribute's cue box (held-out heatmaps; in brackets: positive share on images predicted above the mean)\n\n| attribute (box) | box area | age dense | age full | gender dense | gender full |\n|---|---|---|---|---|---|\n";
for (const a of ATTRIBUTES) {
  const l = (k) => `${f3(results.localisation[k].absolute_share)} (${f3(results.localisation[k].positive_share_above_mean)})`;
  md += `| ${a} (${ATTRIBUTE_CUE[a]}) | ${f3(results.localisation[`age/dense/${a}`].area)} | ${l(`age/dense/${a}`)} | ${l(`age/full/${a}`)} | ${l(`gender/dense/${a}`)} | ${l(`gender/full/${a}`)} |\n`;
}
md +=
  '\n## Feature richness of the bases\n\n| base | effective rank (of 64) | active units | linear-probe MAE (mean over attributes) | heatmap correlation across attributes, dense: of \\|R\\| (of R) | full: of \\|R\\| (of R) |\n|---|---|---|---|---|---|\n';
for (const b of BASES) {
  const r = results.richness[b];
  const h = r.heatmap_correlation_across_attributes;
  md += `| ${b} | ${r.effective_rank.toFixed(2)} | ${r.active_units} | ${f3(r.linear_probe_mae_mean)} (${ATTRIBUTES.map((a) => `${a} ${f3(r.linear_probe_mae[a])}`).join(', ')}) | ${f3(h['dense |R|'])} (${f3(h['dense R'])}) | ${f3(h['full |R|'])} (${f3(h['full R'])}) |\n`;
}
md +=
  '\n## KDEF-like set: mean prediction per expression (fold-0 dense-only heads)\n\n| head | ' +
  Object.keys(results.kdef['age/happiness']).join(' | ') +
  ' |\n|---|' +
  '---|'.repeat(7) +
  '\n';
for (const [k, v] of Object.entries(results.kdef)) md += `| ${k} | ${Object.values(v).map(f3).join(' | ')} |\n`;
writeFileSync(join(outDir, 'results.md'), md);
process.stdout.write(md);
