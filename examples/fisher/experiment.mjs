// Context and planted-bias experiment of issue 13 (papers/model-papers.md §2.4, §2.8) on the
// canvases of `relprop fv canvas`: accuracy, the context measure per class, the stamp's effect on
// scores and predictions, and relevance on the stamp, for the FV model and the CNN.
// Usage: node examples/fisher/experiment.mjs CANVAS_DIR MODELS_DIR OUT_DIR [STAMP_CLASS]
// (after `npm run build`; see run.sh). Writes OUT_DIR/results.json, OUT_DIR/results.md and
// OUT_DIR/heatmaps-*.png.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Explainer } from '../../dist/src/node/api.js';
import '../../dist/src/node/register.js';
import { FisherExplainer } from '../../dist/src/core/fisher/explainer.js';
import { loadFisherModel } from '../../dist/src/node/fisher/model-file.js';
import { loadImageFolder } from '../../dist/src/node/data/image-folder.js';
import { relevanceToHeatmap, heatmapGrid, imageToRgba } from '../../dist/src/core/visualize/heatmap.js';
import { encodePng } from '../../dist/src/node/visualize/png.js';

const [canvasDir, modelsDir, outDir, stampArg] = process.argv.slice(2);
const STAMP_CLASS = Number(stampArg ?? 6);
const CONTEXT = { 5: 'sandal/stripes', 7: 'sneaker/grid', 8: 'bag/blobs' };
const THREADS = Number(process.env.THREADS ?? 1);
mkdirSync(outDir, { recursive: true });
const S = 64;

function loadSet(name) {
  const dir = join(canvasDir, name);
  const set = loadImageFolder(dir, { size: [S, S], channels: 1 });
  const boxes = new Map(
    readFileSync(join(dir, 'boxes.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const o = JSON.parse(l);
        return [o.file, o];
      }),
  );
  const meta = set.files.map((f) => boxes.get(f.slice(dir.length + 1)));
  return { x: set.images, labels: set.labels, meta };
}

/** §2.4: mean positive relevance per pixel outside the box over the mean inside it. */
function contextRatio(rel, box) {
  let inS = 0,
    inN = 0,
    outS = 0,
    outN = 0;
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      const r = Math.max(0, rel[y * S + x]);
      if (x >= box[0] && x < box[2] && y >= box[1] && y < box[3]) {
        inS += r;
        inN++;
      } else {
        outS += r;
        outN++;
      }
    }
  return inS > 0 ? outS / outN / (inS / inN) : undefined;
}

/** Mean positive relevance per pixel in the stamp box over the mean elsewhere. */
const stampRatio = (rel, box) => contextRatio(rel, box);

const argmax = (a, i, K) => {
  let b = 0;
  for (let k = 1; k < K; k++) if (a[i * K + k] > a[i * K + b]) b = k;
  return b;
};

async function makeModels() {
  const fv = loadFisherModel(join(modelsDir, 'fv.onnx'));
  const fvEx = await FisherExplainer.create(fv.params, fv.epsilon, { threads: THREADS });
  const cnnEx = await Explainer.create(join(modelsDir, 'cnn.onnx'), { threads: THREADS });
  return {
    FV: { explain: (x, t) => fvEx.explain(x, t), info: `FV LRP, ε = ${fv.epsilon.toExponential(3)} (card), bias dropped` },
    CNN: { explain: (x, t) => cnnEx.explain(x, { target: t }), info: 'CNN LRP, relprop default composite (epsilon-plus-flat)' },
    release: async () => {
      await fvEx.release();
      await cnnEx.release();
    },
  };
}

const results = { stamp_class: STAMP_CLASS, context_classes: CONTEXT, models: {} };
const models = await makeModels();
const sets = { matched: loadSet('test-matched'), swapped: loadSet('test-swapped'), stamped: loadSet('test-stamped') };
const N = sets.matched.labels.length;
const K = 10;
const maps = {};
for (const name of ['FV', 'CNN']) {
  const m = models[name];
  const r = { info: m.info, accuracy: {}, context: {}, stamp: {} };
  const out = {};
  for (const [set, d] of Object.entries(sets)) {
    const res = await m.explain(d.x, Array.from(d.labels));
    out[set] = res;
    const L = res.logits.data;
    let ok = 0;
    const okC = new Array(K).fill(0),
      nC = new Array(K).fill(0);
    for (let i = 0; i < N; i++) {
      nC[d.labels[i]]++;
      if (argmax(L, i, K) === d.labels[i]) {
        ok++;
        okC[d.labels[i]]++;
      }
    }
    r.accuracy[set] = ok / N;
    (r.class_accuracy ??= {})[set] = okC.map((v, c) => v / nC[c]);
    // context per class (true-class relevance), images whose box holds positive relevance
    const per = Array.from({ length: K }, () => []);
    for (let i = 0; i < N; i++) {
      const c = contextRatio(res.relevance.data.subarray(i * S * S, (i + 1) * S * S), d.meta[i].box);
      if (c !== undefined) per[d.labels[i]].push(c);
    }
    r.context[set] = per.map((v) => ({ n: v.length, mean: v.reduce((a, b) => a + b, 0) / Math.max(1, v.length) }));
  }
  // stamp: score of the stamp class and predictions, stamped vs matched (the same canvases)
  const Lm = out.matched.logits.data,
    Ls = out.stamped.logits.data;
  let dOther = 0,
    nOther = 0,
    flips = 0,
    predBefore = 0,
    dOwn = 0,
    nOwn = 0;
  for (let i = 0; i < N; i++) {
    const y = sets.matched.labels[i];
    const delta = Ls[i * K + STAMP_CLASS] - Lm[i * K + STAMP_CLASS];
    if (y === STAMP_CLASS) {
      dOwn += delta;
      nOwn++;
      continue;
    }
    dOther += delta;
    nOther++;
    if (argmax(Lm, i, K) === STAMP_CLASS) predBefore++;
    if (argmax(Ls, i, K) === STAMP_CLASS && argmax(Lm, i, K) !== STAMP_CLASS) flips++;
  }
  r.stamp.score_change_other_classes = dOther / nOther;
  r.stamp.score_change_own_class_when_stamped = dOwn / nOwn;
  r.stamp.other_images = nOther;
  r.stamp.predicted_stamp_class_unstamped = predBefore;
  r.stamp.flipped_to_stamp_class = flips;
  // relevance for the stamp class on stamped images of other classes
  const ex = await m.explain(sets.stamped.x, new Array(N).fill(STAMP_CLASS));
  const ratios = [];
  for (let i = 0; i < N; i++) {
    if (sets.stamped.labels[i] === STAMP_CLASS) continue;
    const v = stampRatio(ex.relevance.data.subarray(i * S * S, (i + 1) * S * S), sets.stamped.meta[i].stamp);
    if (v !== undefined) ratios.push(1 / v); // inside over outside
  }
  ratios.sort((a, b) => a - b);
  r.stamp.relevance_per_pixel_on_stamp_over_elsewhere_median = ratios[Math.floor(ratios.length / 2)];
  r.stamp.relevance_ratio_images = ratios.length;
  maps[name] = { out, stampEx: ex };
  results.models[name] = r;
}
await models.release();
writeFileSync(join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');

// heatmap grids: input | FV | CNN for a few swapped-background and stamped images
function tile(rel, i) {
  return { rgba: relevanceToHeatmap(rel.data.subarray(i * S * S, (i + 1) * S * S), S, S, { colormap: 'bwr' }), width: S, height: S };
}
function inputTile(x, i) {
  return {
    rgba: imageToRgba(
      Array.from(x.data.subarray(i * S * S, (i + 1) * S * S), (v) => v * 255),
      S,
      S,
    ),
    width: S,
    height: S,
  };
}
function grid(setName, pick, rel) {
  const tiles = [];
  for (const i of pick) tiles.push(inputTile(sets[setName].x, i), tile(rel('FV', i), i), tile(rel('CNN', i), i));
  const g = heatmapGrid(tiles, { cols: 6 });
  writeFileSync(join(outDir, `heatmaps-${setName}.png`), encodePng(g.rgba, g.width, g.height, 2));
}
const ctxPick = [];
for (const c of [5, 7, 8]) {
  let k = 0;
  for (let i = 0; i < N && k < 2; i++)
    if (sets.swapped.labels[i] === c) {
      ctxPick.push(i);
      k++;
    }
}
grid('swapped', ctxPick, (m) => maps[m].out.swapped.relevance);
grid('matched', ctxPick, (m) => maps[m].out.matched.relevance);
const stPick = [];
for (let i = 0; i < N && stPick.length < 6; i++) if (sets.stamped.labels[i] !== STAMP_CLASS) stPick.push(i);
grid('stamped', stPick, (m) => maps[m].stampEx.relevance);

// table
const names = ['tshirt_top', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle_boot'];
const f3 = (v) => v.toFixed(3);
let md = `| model | acc. matched | acc. swapped | acc. stamped |\n|---|---|---|---|\n`;
for (const [n, r] of Object.entries(results.models)) md += `| ${n} | ${f3(r.accuracy.matched)} | ${f3(r.accuracy.swapped)} | ${f3(r.accuracy.stamped)} |\n`;
md += `\nContext measure (mean over test images of the class; true-class relevance) and class accuracy:\n\n| class | FV matched | FV swapped | CNN matched | CNN swapped | FV acc. matched → swapped | CNN acc. matched → swapped |\n|---|---|---|---|---|---|---|\n`;
for (let c = 0; c < K; c++) {
  const v = (m, s) => f3(results.models[m].context[s][c].mean);
  const a = (m) => `${f3(results.models[m].class_accuracy.matched[c])} → ${f3(results.models[m].class_accuracy.swapped[c])}`;
  md += `| ${c} ${names[c]}${CONTEXT[c] ? ' (context)' : ''} | ${v('FV', 'matched')} | ${v('FV', 'swapped')} | ${v('CNN', 'matched')} | ${v('CNN', 'swapped')} | ${a('FV')} | ${a('CNN')} |\n`;
}
const grp = (m, s, cs) => f3(cs.reduce((acc, c) => acc + results.models[m].context[s][c].mean, 0) / cs.length);
const ctxC = Object.keys(CONTEXT).map(Number),
  restC = [...Array(K).keys()].filter((c) => !(c in CONTEXT));
md += `| mean of context classes | ${grp('FV', 'matched', ctxC)} | ${grp('FV', 'swapped', ctxC)} | ${grp('CNN', 'matched', ctxC)} | ${grp('CNN', 'swapped', ctxC)} | | |\n`;
md += `| mean of other classes | ${grp('FV', 'matched', restC)} | ${grp('FV', 'swapped', restC)} | ${grp('CNN', 'matched', restC)} | ${grp('CNN', 'swapped', restC)} | | |\n`;
md += `\nStamp (class ${STAMP_CLASS} ${names[STAMP_CLASS]}):\n\n| model | Δ score, other classes | Δ score, own class | predicted ${names[STAMP_CLASS]} unstamped | flipped to ${names[STAMP_CLASS]} by the stamp | relevance per pixel on stamp / elsewhere (median) |\n|---|---|---|---|---|---|\n`;
for (const [n, r] of Object.entries(results.models)) {
  const s = r.stamp;
  md += `| ${n} | ${f3(s.score_change_other_classes)} | ${f3(s.score_change_own_class_when_stamped)} | ${s.predicted_stamp_class_unstamped} / ${s.other_images} | ${s.flipped_to_stamp_class} / ${s.other_images} | ${f3(s.relevance_per_pixel_on_stamp_over_elsewhere_median)} |\n`;
}
writeFileSync(join(outDir, 'results.md'), md);
process.stdout.write(md);
