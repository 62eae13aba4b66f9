/** `relprop demo`: the bundled Fashion-MNIST CNN, its sample images, several methods, one HTML page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExplainerOptions } from '../../core/explain/explainer.js';
import { Explainer } from '../api.js';
import { bundledModelsDir } from '../bundled.js';
import { checkOutputFolder, writeOutputFolder } from '../io/atomic.js';
import { describeConversion, readImage } from '../io/image.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import { imageToRgba } from '../../core/visualize/heatmap.js';
import { encodePng } from '../visualize/png.js';
import { explanationReportHtml, type ReportItem } from '../../core/visualize/report-html.js';
import { describeScale } from '../../core/visualize/figure.js';
import { formatNumber } from '../../core/visualize/html.js';
import { classLabel, classNamesFor } from './class-names.js';
import { displayScale, heatmapFigures } from './heatmaps.js';

type Conservation = 'lrp' | 'alpha-beta' | 'gradient-x-input' | 'integrated-gradients' | 'none';

const METHODS: { label: string; opts: ExplainerOptions; conservation: Conservation }[] = [
  { label: 'LRP epsilon-plus-flat', opts: { method: 'lrp', composite: 'epsilon-plus-flat' }, conservation: 'lrp' },
  { label: 'LRP epsilon-gamma-box', opts: { method: 'lrp', composite: 'epsilon-gamma-box', inputRange: [0, 1] }, conservation: 'lrp' },
  { label: 'LRP epsilon-alpha2-beta1', opts: { method: 'lrp', composite: 'epsilon-alpha2-beta1' }, conservation: 'alpha-beta' },
  { label: 'gradient', opts: { method: 'gradient' }, conservation: 'none' },
  { label: 'gradient × input', opts: { method: 'gradient-x-input' }, conservation: 'gradient-x-input' },
  { label: 'integrated gradients', opts: { method: 'integrated-gradients', steps: 32 }, conservation: 'integrated-gradients' },
  { label: 'guided backprop', opts: { method: 'guided-backprop' }, conservation: 'none' },
];

/** What ΣR is compared with, per method, for relprop's implementations; `range` is what this run measured. */
function conservationNote(c: Conservation, range: string): string {
  switch (c) {
    case 'lrp':
      return `Conservative: every LRP rule passes on the relevance it receives except the share absorbed by biases and the epsilon/stabiliser terms, so ΣR ≈ logit (ΣR / logit here: ${range}; relprop explain --audit shows the share absorbed per layer).`;
    case 'alpha-beta':
      return `Conservative only where a neuron has both positive and negative contributions: alpha-beta passes on α·R along the positive and −β·R along the negative ones, so a neuron with only positive contributions passes on α times its relevance; biases absorb some too. ΣR can therefore exceed the logit (ΣR / logit here: ${range}; --audit shows which layer adds it).`;
    case 'gradient-x-input':
      return `Not conservative: Σ x·∂f/∂x equals the logit minus what the biases (and the model's own input normalisation) contribute along the active ReLU path, so the ratio is not 1 and can be negative (ΣR / logit here: ${range}).`;
    case 'integrated-gradients':
      return `Sums to logit − f(baseline) (completeness), not to the logit: the baseline is the all-zero input, whose logit f(0) is not 0, and the integral is a right Riemann sum with 32 steps, so the sum holds only approximately. The ratio shown is ΣR / (logit − f(0)) (here: ${range}).`;
    case 'none':
      return `Not a decomposition of the logit: ΣR is a sum of (modified) gradients, whose units are logit per input unit, so ΣR / logit has no meaning (here: ${range}).`;
  }
}

export async function demoCommand(f: { out?: string; threads?: number; quiet?: boolean }): Promise<void> {
  const dir = bundledModelsDir();
  const modelPath = join(dir, 'fmnist-cnn.onnx');
  const names = classNamesFor(modelPath, 10);
  const labels = JSON.parse(readFileSync(join(dir, 'samples', 'labels.json'), 'utf8')) as { file: string; label: number }[];
  const out = resolve(f.out ?? 'relprop-demo');
  checkOutputFolder('--out', f.out ?? 'relprop-demo');
  // Everything is computed first and written at the end, all or nothing.
  const outputs: [string, Uint8Array | string][] = [];
  const images = labels.map((l) => {
    const r = readImage(readFileSync(join(dir, 'samples', l.file)), { channels: 1, size: [28, 28] });
    // The bundled samples match the model; an edited one is said, not silently converted.
    const note = describeConversion(r.conversion);
    if (note) process.stderr.write(`relprop: ${join(dir, 'samples', l.file)}: ${note}\n`);
    return r.tensor;
  });
  const N = images.length;
  const batch = new Float32Array(N * 784);
  images.forEach((t, i) => batch.set(t.data as Float32Array, i * 784));
  const x = { dtype: 'float32' as const, dims: [N, 1, 28, 28], data: batch };
  const pixels = images.map((t) => ({ data: Float32Array.from(t.data as Float32Array, (v) => v * 255), channels: 1 as const }));
  const items: ReportItem[] = labels.map((l, i) => ({
    title: l.file,
    imagePng: encodePng(imageToRgba(pixels[i]!.data, 28, 28), 28, 28, displayScale(28, 28)),
    heatmaps: [],
    predicted: 0,
    target: 0,
    label: l.label,
  }));
  const summary: Record<string, unknown>[] = [];
  const notes: { method: string; text: string }[] = [];
  const files: { href: string; label: string }[] = [];
  let zeroLogits: Float32Array | undefined;
  for (const m of METHODS) {
    const ex = await Explainer.create(modelPath, { ...m.opts, threads: f.threads });
    const t0 = performance.now();
    const res = await ex.explain(x, { target: 'predicted' });
    const ms = performance.now() - t0;
    await ex.release();
    if (m.conservation === 'integrated-gradients' && !zeroLogits) {
      // The logits of IG's all-zero baseline, for the completeness check logit − f(0).
      const fwd = await Explainer.create(modelPath, { method: 'gradient', threads: f.threads });
      zeroLogits = (await fwd.explain({ ...x, data: new Float32Array(x.data.length) }, { target: 0 })).logits.data as Float32Array;
      await fwd.release();
    }
    const slug = m.label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const heatmapSpec = { colormap: 'auto' as const, layout: 'nchw' as const, overlayPixels: pixels };
    const figures = heatmapFigures(res.relevance, {
      ...heatmapSpec,
      titles: res.targets.map((t) => `${m.label}\nclass ${classLabel(t, names)}`),
    });
    const tiles = heatmapFigures(res.relevance, { ...heatmapSpec, style: 'bare' });
    const ratios: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = res.targets[i]!;
      const logit = (res.logits.data as Float32Array)[i * 10 + t]!;
      const baseline = m.conservation === 'integrated-gradients' ? zeroLogits![i * 10 + t]! : undefined;
      let sum = 0;
      for (let k = i * 784; k < (i + 1) * 784; k++) sum += (res.relevance.data as Float32Array)[k]!;
      ratios.push(sum / (logit - (baseline ?? 0)));
      const png = `${i}-${slug}.png`;
      outputs.push([png, figures[i]!.png]);
      items[i]!.heatmaps.push({
        method: m.label,
        png: tiles[i]!.png,
        relevanceSum: sum,
        logit,
        baselineLogit: baseline,
        scale: describeScale(tiles[i]!.scale),
        href: png,
      });
      items[i]!.predicted = res.predicted[i]!;
      items[i]!.target = t;
      summary.push({
        sample: labels[i]!.file,
        label: labels[i]!.label,
        label_name: names?.[labels[i]!.label],
        method: m.label,
        predicted: res.predicted[i],
        predicted_name: names?.[res.predicted[i]!],
        target: t,
        target_name: names?.[t],
        target_logit: logit,
        baseline_logit: baseline,
        relevance_sum: sum,
        colour_scale: figures[i]!.scale,
        heatmap: png,
      });
    }
    const range = `${formatNumber(Math.min(...ratios))} to ${formatNumber(Math.max(...ratios))}`;
    notes.push({ method: m.label, text: conservationNote(m.conservation, range) });
    const npy = `relevance-${slug}.npy`;
    outputs.push([npy, encodeNpy(res.relevance)]);
    files.push({ href: npy, label: `${npy}: relevance of ${m.label}, float32 [${res.relevance.dims.join(', ')}], samples in table order` });
    if (!f.quiet) process.stdout.write(`${m.label}: ${N} samples in ${ms.toFixed(0)} ms\n`);
  }
  outputs.push(['summary.json', JSON.stringify({ model: 'models/fmnist-cnn.onnx', classes: names, results: summary }, null, 2) + '\n']);
  files.push({ href: 'summary.json', label: 'summary.json: logits, predictions, targets, ΣR and colour scales of every heatmap' });
  const html = explanationReportHtml(items, {
    title: 'relprop demo: Fashion-MNIST CNN',
    model: 'models/fmnist-cnn.onnx',
    description:
      'Each row is one test image; each column one explanation of the predicted class, scaled by its own largest absolute value (the caption gives the scale). Click a heatmap for its PNG: input, heatmap and colour bar side by side.',
    classNames: names,
    notes,
    files,
  });
  outputs.push(['index.html', html]);
  await writeOutputFolder(out, outputs);
  if (!f.quiet) process.stdout.write(`wrote ${N * METHODS.length} heatmaps, ${METHODS.length} relevance arrays, summary.json and index.html to ${out}\n`);
}
