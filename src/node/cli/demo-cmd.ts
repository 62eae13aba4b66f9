/** `relprop demo`: the bundled Fashion-MNIST CNN, its sample images, several methods, one HTML page. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExplainerOptions } from '../../core/explain/explainer.js';
import { Explainer } from '../api.js';
import { bundledModelsDir } from '../bundled.js';
import { writeFileAtomic, ensureDir } from '../io/atomic.js';
import { loadImage } from '../io/image.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import { imageToRgba } from '../../core/visualize/heatmap.js';
import { encodePng } from '../visualize/png.js';
import { explanationReportHtml, type ReportItem } from '../../core/visualize/report-html.js';
import { displayScale, heatmapPngs } from './heatmaps.js';

const METHODS: { label: string; opts: ExplainerOptions }[] = [
  { label: 'LRP epsilon-plus-flat', opts: { method: 'lrp', composite: 'epsilon-plus-flat' } },
  { label: 'LRP epsilon-gamma-box', opts: { method: 'lrp', composite: 'epsilon-gamma-box', inputRange: [0, 1] } },
  { label: 'LRP epsilon-alpha2-beta1', opts: { method: 'lrp', composite: 'epsilon-alpha2-beta1' } },
  { label: 'gradient', opts: { method: 'gradient' } },
  { label: 'gradient × input', opts: { method: 'gradient-x-input' } },
  { label: 'integrated gradients', opts: { method: 'integrated-gradients', steps: 32 } },
  { label: 'guided backprop', opts: { method: 'guided-backprop' } },
];

export async function demoCommand(f: { out?: string; threads?: number; quiet?: boolean }): Promise<void> {
  const dir = bundledModelsDir();
  const card = JSON.parse(readFileSync(join(dir, 'fmnist-cnn.json'), 'utf8')) as { classes: string[] };
  const labels = JSON.parse(readFileSync(join(dir, 'samples', 'labels.json'), 'utf8')) as { file: string; label: number }[];
  const out = resolve(f.out ?? 'relprop-demo');
  ensureDir(out);
  const images = labels.map((l) => loadImage(readFileSync(join(dir, 'samples', l.file)), { channels: 1, size: [28, 28] }));
  const N = images.length;
  const batch = new Float32Array(N * 784);
  images.forEach((t, i) => batch.set(t.data as Float32Array, i * 784));
  const x = { dtype: 'float32' as const, dims: [N, 1, 28, 28], data: batch };
  const items: ReportItem[] = labels.map((l, i) => {
    const px = Float32Array.from(images[i]!.data as Float32Array, (v) => v * 255);
    return { title: l.file, imagePng: encodePng(imageToRgba(px, 28, 28), 28, 28, displayScale(28, 28)), heatmaps: [], predicted: 0, target: 0, label: l.label };
  });
  const summary: Record<string, unknown>[] = [];
  for (const m of METHODS) {
    const ex = await Explainer.create(join(dir, 'fmnist-cnn.onnx'), { ...m.opts, threads: f.threads });
    const t0 = performance.now();
    const res = await ex.explain(x, { target: 'predicted' });
    const ms = performance.now() - t0;
    await ex.release();
    const slug = m.label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
    const pngs = heatmapPngs(res.relevance, { colormap: 'bwr', layout: 'nchw' });
    for (let i = 0; i < N; i++) {
      const t = res.targets[i]!;
      const logit = (res.logits.data as Float32Array)[i * 10 + t]!;
      let sum = 0;
      for (let k = i * 784; k < (i + 1) * 784; k++) sum += (res.relevance.data as Float32Array)[k]!;
      await writeFileAtomic(join(out, `${i}-${slug}.png`), pngs[i]!);
      items[i]!.heatmaps.push({ method: m.label, png: pngs[i]!, relevanceSum: sum, logit });
      items[i]!.predicted = res.predicted[i]!;
      items[i]!.target = t;
      summary.push({
        sample: labels[i]!.file,
        label: labels[i]!.label,
        method: m.label,
        predicted: res.predicted[i],
        target: t,
        target_logit: logit,
        relevance_sum: sum,
        heatmap: `${i}-${slug}.png`,
      });
    }
    await writeFileAtomic(join(out, `relevance-${slug}.npy`), encodeNpy(res.relevance));
    if (!f.quiet) process.stdout.write(`${m.label}: ${N} samples in ${ms.toFixed(0)} ms\n`);
  }
  await writeFileAtomic(
    join(out, 'summary.json'),
    JSON.stringify({ model: 'models/fmnist-cnn.onnx', classes: card.classes, results: summary }, null, 2) + '\n',
  );
  const html = explanationReportHtml(items, {
    title: 'relprop demo: Fashion-MNIST CNN',
    model: 'models/fmnist-cnn.onnx',
    description:
      'Each row is one test image; each column one explanation of the predicted class. Red: evidence for the class, blue: against; each map is scaled by its largest absolute value.',
    classNames: card.classes,
  });
  await writeFileAtomic(join(out, 'index.html'), html);
  if (!f.quiet) process.stdout.write(`wrote ${N * METHODS.length} heatmaps, summary.json and index.html to ${out}\n`);
}
