/** `relprop explain`: one model, one input file, relevance to .npy (+ heatmaps, summary, explainer). */
import cliProgress from 'cli-progress';
import { auditReport, formatAudit } from '../../core/explain/audit.js';
import { Explainer } from '../api.js';
import { checkOutputFiles, writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import { COLORMAP_NAMES } from '../../core/visualize/colormap.js';
import { type ColormapChoice, HEATMAP_STYLES, type HeatmapStyle } from '../../core/visualize/figure.js';
import { classLabel, classNamesFor } from './class-names.js';
import { unknownNameError } from '../../core/names.js';
import { boxBoundsFromRange, boxBoundsNote } from './box-bounds.js';
import { heatmapPngs, numberedPaths } from './heatmaps.js';
import { imageOptionsFor, loadInput, type ImageFlags } from './inputs.js';
import { explainerOptions, type MethodFlags } from './options.js';
import { checkMethod, METHODS } from '../../core/explain/resolve.js';
import { nearestRootTaylor, sensitivity, TAYLOR_BASELINES, type TaylorBaseline } from '../../core/explain/taylor.js';

export const EXPLAIN_METHODS = [...METHODS, ...TAYLOR_BASELINES];
import { parseTarget } from './values.js';
import { fisherExplain } from '../fisher/cli.js';
import { isFisherModel } from '../fisher/model-file.js';
import { explainSetCommand, type ExplainSetFlags } from './explain-set-cmd.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { Target } from '../../core/explain/explainer.js';

export interface ExplainFlags extends MethodFlags, ImageFlags {
  model: string;
  input?: string;
  /** A data set to explain sample by sample (explain-set-cmd.ts). */
  data?: string;
  out: string;
  target?: string;
  heatmap?: string;
  colormap?: string;
  heatmapStyle?: string;
  overlay?: boolean;
  summary?: string;
  saveExplainer?: string;
  audit?: boolean;
  quiet?: boolean;
}

/** The colour map and style the heatmap flags ask for, checked; `heatmapFlag` names the flag that asks for heatmaps, if given. */
export function heatmapFlags(f: ExplainFlags, heatmapFlag: string | undefined): { colormap: ColormapChoice; style: HeatmapStyle } {
  const colormap = (f.colormap ?? 'auto') as ColormapChoice;
  if (colormap !== 'auto' && !COLORMAP_NAMES.includes(colormap)) throw unknownNameError('colormap', String(f.colormap), ['auto', ...COLORMAP_NAMES]);
  // --overlay alone asks for the overlay style; with --heatmap-style bare it blends the bare tile over the image.
  const style = (f.heatmapStyle ?? (f.overlay ? 'overlay' : 'side-by-side')) as HeatmapStyle;
  if (!HEATMAP_STYLES.includes(style)) throw unknownNameError('heatmap style', String(f.heatmapStyle), HEATMAP_STYLES);
  if (f.overlay && style === 'side-by-side') throw new Error('--overlay and --heatmap-style side-by-side contradict each other');
  if ((f.overlay || f.heatmapStyle) && !heatmapFlag)
    throw new Error(`${f.overlay ? '--overlay' : '--heatmap-style'} needs --heatmap${f.data !== undefined ? 's' : ''}`);
  return { colormap, style };
}

export async function explainCommand(f: ExplainFlags): Promise<void> {
  if (f.data !== undefined) return explainSetCommand(f as ExplainSetFlags);
  const input = f.input;
  if (input === undefined) throw new Error('give --input FILE (one input) or --data SET (a data set, into an --out folder)');
  const { colormap, style } = heatmapFlags(f, f.heatmap);
  const outputs: OutputFile[] = [{ flag: '--out', path: f.out, ext: ['.npy'] }];
  if (f.heatmap) outputs.push({ flag: '--heatmap', path: f.heatmap, ext: ['.png'] });
  if (f.summary) outputs.push({ flag: '--summary', path: f.summary, ext: ['.json'] });
  if (f.saveExplainer) outputs.push({ flag: '--save-explainer', path: f.saveExplainer, ext: ['.onnx'] });
  checkOutputFiles(outputs);
  // Fisher-vector models have their own LRP decomposition (src/core/fisher/lrp.ts).
  if (isFisherModel(f.model)) return fisherExplain({ ...f, input });
  const target = parseTarget(f.target);
  const baseline = (TAYLOR_BASELINES as readonly string[]).includes(f.method ?? '') ? (f.method as TaylorBaseline) : undefined;
  if (!baseline && f.method !== undefined && !(METHODS as readonly string[]).includes(f.method.replace(/_/g, '-')))
    throw unknownNameError('method', f.method, EXPLAIN_METHODS);
  const opts = explainerOptions(f, baseline ? 'gradient' : checkMethod(f.method ?? 'lrp'));
  if (baseline && f.audit) throw new Error(`--audit applies to --method lrp, not ${baseline}`);
  const ex = await Explainer.create(f.model, { ...opts, audit: opts.method === 'lrp' && (f.audit || !!f.summary) });
  const method = baseline ?? opts.method;
  try {
    const loaded = loadInput(input, ex.model, f);
    const x = ex.validateInput(loaded.tensor);
    if (f.overlay && style === 'bare' && !loaded.pixels) throw new Error('--overlay with --heatmap-style bare needs an image input (PNG or JPEG)');
    const N = x.dims[0]!;
    if (f.heatmap && N > 1)
      checkOutputFiles(
        [...outputs, ...numberedPaths(f.heatmap, N).map((p) => ({ flag: '--heatmap', path: p, ext: ['.png'] }))].filter((o) => o.path !== f.heatmap),
      );
    const bar =
      !f.quiet && process.stderr.isTTY && N > (opts.batchSize ?? 32)
        ? new cliProgress.SingleBar(
            { format: 'explaining [{bar}] {value}/{total} samples | ETA {eta}s', stream: process.stderr },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(N, 0);
    const res = baseline ? await explainBaseline(baseline, ex, x, target) : await ex.explain(x, { target, onProgress: (done) => bar?.update(done) });
    bar?.stop();
    const K = res.logits.dims[1]!;
    const names = classNamesFor(f.model, K);
    // Everything is computed before anything is written: an error leaves no partial output.
    const files: [string, Uint8Array | string][] = [[f.out, encodeNpy(res.relevance)]];
    if (f.heatmap) {
      const layout = f.layout ?? imageOptionsFor(ex.model, f).layout ?? 'nchw';
      const what = opts.method === 'lrp' ? `lrp ${opts.rule ?? opts.composite ?? 'epsilon-plus-flat'}` : method;
      const pngs = heatmapPngs(res.relevance, {
        colormap,
        layout,
        style,
        overlayPixels: style !== 'bare' || f.overlay ? loaded.pixels : undefined,
        input: x,
        titles: res.targets.map((t) => `${what}\nclass ${classLabel(t, names)}`),
      });
      numberedPaths(f.heatmap, pngs.length).forEach((p, i) => files.push([p, pngs[i]!]));
    }
    const report = res.audit ? auditReport(res) : undefined;
    if (f.summary) {
      const samples = res.targets.map((t, i) => ({
        index: i,
        logits: Array.from((res.logits.data as Float32Array).subarray(i * K, (i + 1) * K)),
        predicted: res.predicted[i],
        predicted_name: names?.[res.predicted[i]!],
        target: t,
        target_name: names?.[t],
        target_logit: (res.logits.data as Float32Array)[i * K + t],
        relevance_sum: sumSample(res.relevance.data as Float32Array, i, N),
      }));
      const summary = {
        model: f.model,
        input,
        method,
        composite: opts.method === 'lrp' && !opts.rule ? (opts.composite ?? 'epsilon-plus-flat') : undefined,
        rule: opts.rule,
        classes: names,
        samples,
        audit: report?.lines,
        warnings: [...(report?.warnings ?? [])],
      };
      files.push([f.summary, JSON.stringify(summary, null, 2) + '\n']);
    }
    if (f.saveExplainer) files.push([f.saveExplainer, (await ex.compile(x.dims)).model]);
    await writeFilesAtomic(files);
    // After the work, so that a failed run prints its one error line only.
    if (loaded.conversion) process.stderr.write(`relprop: ${loaded.conversion}\n`);
    const c = await ex.info(x.dims);
    // A range from the card, not typed by the user, is announced.
    const box = boxBoundsFromRange(c, f, ex.options.inputRange, ex.inputRangeSource);
    if (box && ex.inputRangeSource && !f.quiet) process.stderr.write(`relprop: ${boxBoundsNote(box)}\n`);
    const range = ex.options.inputRange;
    if (baseline === 'taylor' && range && ex.inputRangeSource && !f.quiet)
      process.stderr.write(`relprop: root search within input range [${range.join(', ')}] from ${ex.inputRangeSource}\n`);
    for (const w of c.warnings) process.stderr.write(`relprop: warning: ${w}\n`);
    if (report && f.audit) process.stderr.write(formatAudit(report) + '\n');
    for (const w of report?.warnings ?? []) process.stderr.write(`relprop: warning: ${w}\n`);
    if (!f.quiet) {
      for (let i = 0; i < Math.min(N, 10); i++) {
        const t = res.targets[i]!;
        const logit = (res.logits.data as Float32Array)[i * K + t]!;
        process.stdout.write(
          `sample ${i}: predicted ${classLabel(res.predicted[i]!, names)}, target ${classLabel(t, names)}, logit ${logit.toFixed(4)}, relevance sum ${sumSample(res.relevance.data as Float32Array, i, N).toFixed(4)}\n`,
        );
      }
      if (N > 10) process.stdout.write(`… ${N - 10} more samples\n`);
      process.stdout.write(`wrote ${files.map(([p]) => p).join(', ')}\n`);
    }
  } finally {
    await ex.release();
  }
}

/**
 * Sensitivity ((∂f/∂x)²) or one-shot Taylor at a nearest root inside the input range, which
 * comes from --input-range or the model card (no default: the root must stay in a known box).
 */
export async function explainBaseline(which: TaylorBaseline, ex: Explainer, x: TensorData, target: Target | undefined) {
  if (which === 'sensitivity') return { ...(await sensitivity(ex, x, { target })), audit: undefined };
  const range = ex.options.inputRange;
  if (!range)
    throw new Error(
      '--method taylor needs the input range to search the root in: pass --input-range LO,HI or give the model a card with "input": {"range": [LO, HI]}',
    );
  const r = await nearestRootTaylor(ex, x, { target, low: range[0], high: range[1] });
  const missed = r.reached.filter((v) => !v).length;
  if (missed)
    process.stderr.write(
      `relprop: warning: taylor: no root found within the input range for ${missed} of ${r.reached.length} samples (the relevance misses the residual)\n`,
    );
  const K = r.logits.dims[1]!;
  const logits = r.logits.data as Float32Array;
  const predicted = r.targets.map((_, i) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
    return best;
  });
  return { logits: r.logits, relevance: r.relevance, targets: r.targets, predicted, audit: undefined };
}

function sumSample(d: Float32Array, i: number, N: number): number {
  const per = d.length / N;
  let s = 0;
  for (let k = i * per; k < (i + 1) * per; k++) s += d[k]!;
  return s;
}
