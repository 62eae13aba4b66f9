/** `relprop explain`: one model, one input file, relevance to .npy (+ heatmaps, summary, explainer). */
import cliProgress from 'cli-progress';
import { auditReport, formatAudit } from '../../core/explain/audit.js';
import { Explainer } from '../api.js';
import { writeFileAtomic } from '../io/atomic.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import { COLORMAP_NAMES, type ColormapName } from '../../core/visualize/colormap.js';
import { unknownNameError } from '../../core/names.js';
import { boxBoundsFromRange, boxBoundsNote } from './box-bounds.js';
import { heatmapPngs, numberedPaths } from './heatmaps.js';
import { imageOptionsFor, loadInput, type ImageFlags } from './inputs.js';
import { explainerOptions, type MethodFlags } from './options.js';
import { parseTarget } from './values.js';

export interface ExplainFlags extends MethodFlags, ImageFlags {
  model: string;
  input: string;
  out: string;
  target?: string;
  heatmap?: string;
  colormap?: string;
  overlay?: boolean;
  summary?: string;
  saveExplainer?: string;
  audit?: boolean;
  quiet?: boolean;
}

export async function explainCommand(f: ExplainFlags): Promise<void> {
  const colormap = (f.colormap ?? 'bwr') as ColormapName;
  if (!COLORMAP_NAMES.includes(colormap)) throw unknownNameError('colormap', String(f.colormap), COLORMAP_NAMES);
  if (f.overlay && !f.heatmap) throw new Error('--overlay needs --heatmap');
  const target = parseTarget(f.target);
  const opts = explainerOptions(f);
  const ex = await Explainer.create(f.model, { ...opts, audit: opts.method === 'lrp' && (f.audit || !!f.summary) });
  try {
    const loaded = loadInput(f.input, ex.model, f);
    const x = ex.validateInput(loaded.tensor);
    if (f.overlay && !loaded.pixels) throw new Error('--overlay needs an image input (PNG or JPEG)');
    const N = x.dims[0]!;
    const bar =
      !f.quiet && process.stderr.isTTY && N > (opts.batchSize ?? 32)
        ? new cliProgress.SingleBar(
            { format: 'explaining [{bar}] {value}/{total} samples | ETA {eta}s', stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(N, 0);
    const res = await ex.explain(x, { target, onProgress: (done) => bar?.update(done) });
    bar?.stop();
    // Everything is computed before anything is written: an error leaves no partial output.
    const files: [string, Uint8Array | string][] = [[f.out, encodeNpy(res.relevance)]];
    if (f.heatmap) {
      const layout = f.layout ?? imageOptionsFor(ex.model, f).layout ?? 'nchw';
      const pngs = heatmapPngs(res.relevance, { colormap, layout, overlayPixels: f.overlay ? loaded.pixels : undefined });
      numberedPaths(f.heatmap, pngs.length).forEach((p, i) => files.push([p, pngs[i]!]));
    }
    const report = res.audit ? auditReport(res) : undefined;
    if (f.summary) {
      const K = res.logits.dims[1]!;
      const samples = res.targets.map((t, i) => ({
        index: i,
        logits: Array.from((res.logits.data as Float32Array).subarray(i * K, (i + 1) * K)),
        predicted: res.predicted[i],
        target: t,
        target_logit: (res.logits.data as Float32Array)[i * K + t],
        relevance_sum: sumSample(res.relevance.data as Float32Array, i, N),
      }));
      const summary = {
        model: f.model,
        input: f.input,
        method: opts.method,
        composite: opts.method === 'lrp' && !opts.rule ? (opts.composite ?? 'epsilon-plus-flat') : undefined,
        rule: opts.rule,
        samples,
        audit: report?.lines,
        warnings: [...(report?.warnings ?? [])],
      };
      files.push([f.summary, JSON.stringify(summary, null, 2) + '\n']);
    }
    if (f.saveExplainer) files.push([f.saveExplainer, (await ex.compile(x.dims)).model]);
    for (const [p, data] of files) await writeFileAtomic(p, data);
    const c = await ex.info(x.dims);
    // A range from the card, not typed by the user, is announced.
    const box = boxBoundsFromRange(c, f, ex.options.inputRange, ex.inputRangeSource);
    if (box && ex.inputRangeSource && !f.quiet) process.stderr.write(`relprop: ${boxBoundsNote(box)}\n`);
    for (const w of c.warnings) process.stderr.write(`relprop: warning: ${w}\n`);
    if (report && f.audit) process.stderr.write(formatAudit(report) + '\n');
    for (const w of report?.warnings ?? []) process.stderr.write(`relprop: warning: ${w}\n`);
    if (!f.quiet) {
      for (let i = 0; i < Math.min(N, 10); i++) {
        const K = res.logits.dims[1]!;
        const t = res.targets[i]!;
        const logit = (res.logits.data as Float32Array)[i * K + t]!;
        process.stdout.write(
          `sample ${i}: predicted ${res.predicted[i]}, target ${t}, logit ${logit.toFixed(4)}, relevance sum ${sumSample(res.relevance.data as Float32Array, i, N).toFixed(4)}\n`,
        );
      }
      if (N > 10) process.stdout.write(`… ${N - 10} more samples\n`);
      process.stdout.write(`wrote ${files.map(([p]) => p).join(', ')}\n`);
    }
  } finally {
    await ex.release();
  }
}

function sumSample(d: Float32Array, i: number, N: number): number {
  const per = d.length / N;
  let s = 0;
  for (let k = i * per; k < (i + 1) * per; k++) s += d[k]!;
  return s;
}
