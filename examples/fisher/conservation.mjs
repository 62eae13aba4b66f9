// How much relevance ε absorbs, on real data: Σ pixel relevance vs f − b for the first N test
// images of an IDX folder, at the card's ε and at smaller ones.
// Usage: node examples/fisher/conservation.mjs MODEL.onnx IDX_DIR [N]   (after npm run build)
import '../../dist/src/node/register.js';
import { FisherExplainer } from '../../dist/src/core/fisher/explainer.js';
import { loadFisherModel } from '../../dist/src/node/fisher/model-file.js';
import { loadLabelledData } from '../../dist/src/node/data/datasets.js';

const [model, data, nArg] = process.argv.slice(2);
const N = Number(nArg ?? 1000);
const m = loadFisherModel(model);
const d = loadLabelledData(data, { split: 'test' });
const per = d.x.data.length / d.x.dims[0];
const x = { dtype: 'float32', dims: [N, ...d.x.dims.slice(1)], data: d.x.data.slice(0, N * per) };
const rows = [];
for (const scale of [1, 1e-2, 1e-4]) {
  const eps = m.epsilon * scale;
  const ex = await FisherExplainer.create(m.params, eps, { threads: 1 });
  const r = await ex.explain(x, 'predicted');
  await ex.release();
  const rel = r.audit.map((a) => Math.abs(a.pixelSum - a.fvSum) / Math.abs(a.fvSum));
  rel.sort((a, b) => a - b);
  const mean = rel.reduce((a, b) => a + b, 0) / N;
  const fb = r.audit.reduce((a, b) => a + b.fvSum, 0) / N;
  const pix = r.audit.reduce((a, b) => a + b.pixelSum, 0) / N;
  rows.push(
    `| ${eps.toExponential(3)} | ${fb.toFixed(4)} | ${pix.toFixed(4)} | ${mean.toExponential(2)} | ${rel[Math.floor(N / 2)].toExponential(2)} | ${rel[N - 1].toExponential(2)} |`,
  );
}
process.stdout.write(
  `${N} test images of ${data}, target = predicted class\n\n| ε | mean f − b | mean Σ R_p | mean |Σ R_p − (f − b)| / |f − b| | median | max |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
