// How strongly the LRN layers of an LRN CNN normalise on test images, and how much the
// neighbour terms of the Taylor rule weigh against the own term (Binder et al. 2016, §3.4 of the
// papers digest). Per LRN layer, over every active unit (x > 0) of N test images:
//   factor  D^−β = y/x, the normalisation applied (1: none; AlexNet's constants give ≈ 1),
//   spread  max/min of D^−β over the channels at one position (1: a plain rescaling of the position),
//   cross/own  |Σ_j q_jk (j ≠ k)| / q_kk, the neighbour terms against the own term of the Taylor rule,
//   y/own   the output against its own term (the share the ε-variant keeps on the unit itself).
// Usage: node normalisation.mjs DATA_DIR OUT_FILE [N] [MODEL]   (DATA_DIR: Fashion-MNIST IDX folder;
// N test images, default 1000; MODEL default lrn-cnn.onnx beside this script)
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import { decodeModel, encodeModel, loadLabelledData, writeFileAtomic } from '../../dist/src/node/index.js';

const [data, outFile, nArg, modelArg] = process.argv.slice(2);
if (!data || !outFile) throw new Error('usage: node normalisation.mjs DATA_DIR OUT_FILE [N] [MODEL]');
const N = Number(nArg ?? 1000);
const here = dirname(fileURLToPath(import.meta.url));
const modelPath = modelArg ?? join(here, 'lrn-cnn.onnx');
const graph = decodeModel(new Uint8Array(readFileSync(modelPath)));
const lrns = graph.nodes.filter((n) => n.op === 'LRN');
// Read the LRN inputs off the model: declare them as outputs.
for (const n of lrns) graph.outputs.push({ name: n.inputs[0], elemType: 0, shape: [] });
const session = await ort.InferenceSession.create(encodeModel(graph), { intraOpNumThreads: 1 });

const test = loadLabelledData(data, { split: 'test' });
const per = test.x.data.length / test.x.dims[0];
const stats = lrns.map(() => ({ factor: [], spread: [], crossOwn: [], yOwn: [] }));
const batch = 100;
for (let s0 = 0; s0 < N; s0 += batch) {
  const n = Math.min(batch, N - s0);
  const x = new ort.Tensor('float32', test.x.data.slice(s0 * per, (s0 + n) * per), [n, ...test.x.dims.slice(1)]);
  const res = await session.run({ [session.inputNames[0]]: x });
  lrns.forEach((node, li) => {
    const t = res[node.inputs[0]];
    const [, C, H, W] = t.dims;
    const a = { size: node.attrs.size, alpha: node.attrs.alpha ?? 1e-4, beta: node.attrs.beta ?? 0.75, bias: node.attrs.bias ?? 1 };
    const b = a.alpha / a.size;
    const c = a.beta;
    const v = t.data;
    const P = H * W;
    const st = stats[li];
    for (let i = 0; i < n; i++)
      for (let p = 0; p < P; p++) {
        const at = (k) => (i * C + k) * P + p;
        let lo = Infinity;
        let hi = 0;
        for (let k = 0; k < C; k++) {
          const xk = v[at(k)];
          let S = 0;
          for (let j = Math.max(0, k - Math.floor((a.size - 1) / 2)); j <= Math.min(C - 1, k + Math.ceil((a.size - 1) / 2)); j++) S += v[at(j)] ** 2;
          const D = a.bias + b * S;
          const f = D ** -c;
          if (xk <= 0) continue;
          lo = Math.min(lo, f);
          hi = Math.max(hi, f);
          const own = xk * (a.bias + b * xk * xk) ** -c;
          const cross = 2 * b * c * xk * D ** (-c - 1) * (S - xk * xk);
          st.factor.push(f);
          st.crossOwn.push(cross / own);
          st.yOwn.push((xk * f) / own);
        }
        if (hi > 0) st.spread.push(hi / lo);
      }
  });
}
await session.release();

const q = (arr, p) => arr[Math.min(arr.length - 1, Math.floor(p * arr.length))];
const row = (label, arr) => {
  const s = Float64Array.from(arr).sort();
  return `| ${label} | ${[0.05, 0.25, 0.5, 0.75, 0.95].map((p) => q(s, p).toFixed(3)).join(' | ')} |`;
};
const lines = [
  `LRN layers of ${basename(modelPath)} on the first ${N} Fashion-MNIST test images: quantiles over active units (x > 0); spread over positions with an active unit.`,
  '',
];
lrns.forEach((node, li) => {
  const st = stats[li];
  lines.push(
    `### ${node.name}: size ${node.attrs.size}, alpha ${node.attrs.alpha}, beta ${node.attrs.beta}, bias ${+Number(node.attrs.bias).toPrecision(6)}; ${st.factor.length} active units`,
    '',
    '| quantity | 5% | 25% | 50% | 75% | 95% |',
    '|---|---|---|---|---|---|',
    row('factor D^−β = y/x', st.factor),
    row('spread of D^−β over channels (max/min)', st.spread),
    row('neighbour terms / own term', st.crossOwn),
    row('y / own term', st.yOwn),
    '',
  );
});
await writeFileAtomic(outFile, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
