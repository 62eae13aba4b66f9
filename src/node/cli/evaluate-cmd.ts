/**
 * `relprop evaluate`: region perturbation (MoRF/LeRF curves, AOPC) of several attribution methods
 * on a data set, with a random baseline. Resumable: Ctrl-C stops after the current chunk of
 * samples, and the same command resumes from the progress file.
 */
import { checkOutputFiles, checkOutputFolder, ensureDir, removeFolders } from '../io/atomic.js';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { dirname, join } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { discardUnfinishedProgress } from '../evaluate/progress.js';
import { loadDataset } from '../evaluate/dataset.js';
import { DEFAULT_METHODS, parseMethodSpec } from '../../core/evaluate/methods.js';
import { splitMethodList } from '../../core/explain/method-spec.js';
import { REPLACEMENTS, type Replacement } from '../../core/evaluate/perturb.js';
import type { EvaluationResult } from '../../core/evaluate/region-perturbation.js';
import { readModelFile } from '../files.js';
import { cardInputRange, evaluateRegionPerturbation } from '../api.js';
import { BOX_BOUNDS_HELP } from '../../core/rules/spec.js';
import { usesBoxRule } from './box-bounds.js';
import { imageGeometry, parseRegionSize } from '../../core/evaluate/regions.js';
import { aopcTableText, writeEvaluationOutputs } from '../evaluate/report.js';
import { importModel } from '../../core/graph/import.js';
import { imageOptionsFor } from './inputs.js';
import { classNamesFor } from './class-names.js';
import type { Fit } from '../io/image.js';
import {
  batchSizeOption,
  explainerOptions,
  imageOptions,
  inputRangeOption,
  quietOption,
  ruleParamOptions,
  samplingOptions,
  seedOption,
  threadsOption,
  type MethodFlags,
} from './options.js';
import { nonNegInt, num, posInt } from './values.js';

export interface EvaluateFlags extends Omit<MethodFlags, 'steps'> {
  model: string;
  data: string;
  out: string;
  methods?: string;
  regionSize?: string;
  steps?: number;
  igSteps?: number;
  replacement?: string;
  blurSigma?: number;
  repeats?: number;
  target?: 'predicted' | 'label';
  score?: 'logit' | 'probability';
  limit?: number;
  offset?: number;
  labels?: string;
  split?: 'test' | 'train';
  layout?: 'nchw' | 'nhwc';
  size?: [number, number];
  channels?: 1 | 3;
  scale?: number;
  mean?: number[];
  std?: number[];
  fit?: Fit;
  background?: [number, number, number];
  chunkSize?: number;
  forwardBatch?: number;
  heatmapSamples?: number;
  progress?: string;
  fresh?: boolean;
  plot?: boolean;
  quiet?: boolean;
}

/** Register `evaluate` on the program (called from main.ts). */
export function registerEvaluateCommand(program: Command): void {
  const cmd = program
    .command('evaluate')
    .description('region perturbation: MoRF/LeRF curves and AOPC of attribution methods on a data set, with a random baseline')
    .requiredOption('--model <file>', 'ONNX classifier (output: class scores [N, K])')
    .requiredOption('--data <path>', 'IDX images file (.gz or raw; labels found beside it), folder of IDX files, .npy array, or folder of PNG/JPEG images')
    .requiredOption('--out <dir>', 'output folder (results.json, aopc.csv, curves.csv, samples.csv, table.md, curves.svg/png, heatmaps.png, progress.jsonl)')
    .option(
      '--methods <list>',
      `comma-separated method specs NAME[:VARIANT][@key=value…] (e.g. lrp:epsilon@epsilon=0.01, lrp:epsilon-plus-flat, integrated-gradients@steps=64, gradient@pool=abs), the deep Taylor baselines sensitivity and taylor[@low=LO@high=HI], and "random" (default: ${DEFAULT_METHODS.join(',')})`,
    )
    .option(
      '--region-size <n|HxW>',
      "region size in pixels; must divide the image (default: the paper's 9, or the largest size below it that divides the image into ≥ 100 regions)",
    )
    .option('--steps <n>', 'perturbation steps L (default: min(100, number of regions))', posInt('--steps'))
    .addOption(new Option('--replacement <mode>', 'what a perturbed region becomes').choices([...REPLACEMENTS]).default('uniform'))
    .option('--blur-sigma <s>', 'blur replacement: Gaussian sigma in pixels (default 2)', num('--blur-sigma'))
    .option('--repeats <n>', 'noise draws / random orders per sample, averaged (default 1)', posInt('--repeats'));
  seedOption(cmd, 'the noise, the random baseline, tie-breaking and SmoothGrad', 0)
    .addOption(new Option('--target <t>', 'class whose score is tracked').choices(['predicted', 'label']).default('predicted'))
    .addOption(new Option('--score <s>', 'tracked score').choices(['logit', 'probability']).default('logit'))
    .option('--limit <n>', 'evaluate at most n samples', posInt('--limit'))
    .option('--offset <n>', 'skip the first n samples', nonNegInt('--offset'))
    .option('--labels <file>', 'labels (.npy or IDX) when not found beside the images')
    .addOption(new Option('--split <s>', 'IDX folders: which split').choices(['test', 'train']).default('test'));
  imageOptions(cmd, 'image folders');
  // The method flags of `explain`: defaults for every method, which a spec's @key=value overrides.
  ruleParamOptions(cmd);
  inputRangeOption(cmd, '; also the range of the uniform noise (default noise range: per-channel min/max of the data)');
  samplingOptions(cmd, '--ig-steps');
  batchSizeOption(cmd, 256, 'explainer: samples per runtime call').option(
    '--forward-batch <n>',
    'perturbed images per runtime call (default 256)',
    posInt('--forward-batch'),
  );
  threadsOption(cmd)
    .option('--chunk-size <n>', 'samples per chunk, the unit of progress and resume (default 50)', posInt('--chunk-size'))
    .option('--heatmap-samples <n>', 'columns of the heatmap grid (default 8; 0: no grid)', nonNegInt('--heatmap-samples'), 8)
    .option('--progress <file>', 'progress file (default OUT/progress.jsonl)')
    .option('--fresh', 'ignore an existing progress file and start over')
    .option('--no-plot', 'do not draw curves.svg/curves.png');
  quietOption(cmd).action(async (opts: EvaluateFlags) => evaluateCommand(opts));
}

/** Default region size: the paper's 9, else the largest size ≤ 9 dividing H and W into ≥ 100 regions, else 1. */
export function defaultRegionSize(H: number, W: number): [number, number] {
  for (let d = 9; d >= 1; d--) if (H % d === 0 && W % d === 0 && (H / d) * (W / d) >= 100) return [d, d];
  return [1, 1];
}

export async function evaluateCommand(f: EvaluateFlags): Promise<void> {
  checkOutputFolder('--out', f.out);
  const progressFile = f.progress ?? join(f.out, 'progress.jsonl');
  checkOutputFiles([{ flag: '--progress', path: progressFile, ext: ['.jsonl'] }], { createFolders: true });
  const base = explainerOptions({ ...f, method: 'lrp', steps: f.igSteps });
  const specs = splitMethodList(f.methods ?? DEFAULT_METHODS.join(',')).map((s) => parseMethodSpec(s, base));
  // Box rules take their bounds from --input-range or --low/--high, else from the model card (as
  // explain does); so does taylor's root search, unless its spec gives @low/@high.
  const boxed = specs.filter((s) =>
    s.method === 'taylor'
      ? !s.options?.inputRange
      : s.options && usesBoxRule(s.options) && (s.options.params?.low === undefined || s.options.params?.high === undefined),
  );
  const card = boxed.length > 0 && !base.inputRange ? cardInputRange(f.model, base) : undefined;
  if (boxed.length > 0 && !base.inputRange && !card) {
    const b = boxed[0]!;
    throw new Error(
      b.method === 'taylor'
        ? `method "${b.label}": taylor searches the root in the input box: pass --input-range LO,HI, write ${b.label}@low=LO@high=HI, or give the model a card with "input": {"range": [LO, HI]}`
        : `method "${b.label}": the zB/box rule needs bounds: ${BOX_BOUNDS_HELP}`,
    );
  }
  let regionSize: [number, number] | undefined;
  if (f.regionSize !== undefined) regionSize = parseRegionSize(f.regionSize);
  let image;
  let dataStat;
  try {
    dataStat = statSync(f.data);
  } catch {
    throw new Error(`data set ${f.data} does not exist`);
  }
  if (dataStat.isDirectory()) {
    // Image folders are decoded at the model's input size and channel count.
    const m = importModel(readModelFile(f.model), f.model);
    image = imageOptionsFor(m, {
      size: f.size,
      channels: f.channels,
      layout: f.layout,
      scale: f.scale,
      mean: f.mean,
      std: f.std,
      fit: f.fit,
      background: f.background,
    });
  }
  const data = loadDataset(f.data, { offset: f.offset, limit: f.limit, labels: f.labels, split: f.split, image });
  if (data.conversion) process.stderr.write(`relprop: ${data.conversion}\n`);
  if ((data.x.dims[0] ?? 0) === 0) throw new Error(`the data set ${f.data} is empty${f.offset ? ` from offset ${f.offset}` : ''}: no samples to evaluate`);
  const g = imageGeometry(data.x.dims, f.layout);
  regionSize ??= defaultRegionSize(g.H, g.W);

  // The folder holds the progress file during the run; a run that fails before finishing a chunk
  // takes away what it made (the progress file and the folders it created), leaving nothing behind.
  const progressExisted = existsSync(progressFile);
  const created = [...ensureDir(f.out), ...ensureDir(dirname(progressFile))];
  const cleanUp = () => {
    if (!progressExisted || f.fresh) discardUnfinishedProgress(progressFile);
    removeFolders(created);
  };
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
    process.stderr.write('\nrelprop: stopping after the current chunk (Ctrl-C again to quit now; progress so far is kept)\n');
  };
  process.on('SIGINT', onSigint);
  const bar =
    !f.quiet && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: 'evaluating [{bar}] {percentage}% | {value}/{total} perturbed inferences | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        )
      : null;
  let started = false;
  let result: EvaluationResult;
  try {
    result = await evaluateRegionPerturbation(
      f.model,
      data,
      {
        methods: specs,
        regionSize,
        steps: f.steps,
        replacement: f.replacement as Replacement | undefined,
        blurSigma: f.blurSigma,
        range: f.inputRange as [number, number] | undefined,
        repeats: f.repeats,
        seed: f.seed,
        target: f.target,
        score: f.score,
        layout: f.layout,
        chunkSize: f.chunkSize,
      },
      {
        threads: f.threads,
        forwardBatch: f.forwardBatch,
        explainBatch: f.batchSize,
        progressFile,
        fresh: f.fresh,
        signal: controller.signal,
        heatmapSamples: f.heatmapSamples,
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) {
            bar.start(total, done);
            started = true;
          } else bar.update(done);
        },
      },
    );
  } catch (e) {
    cleanUp();
    throw e;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSigint);
  }
  if (!result.complete) {
    process.stderr.write(`relprop: stopped after ${result.samples} of ${data.x.dims[0]} samples; run the same command again to resume\n`);
    process.exitCode = 130;
    return;
  }
  const command = ['relprop', 'evaluate', ...process.argv.slice(3)].join(' ');
  let classNames: string[] | undefined;
  try {
    classNames = classNamesFor(f.model, result.settings.classes);
  } catch (e) {
    // The evaluation itself is sound; only its labels would be wrong, so say so and use indices.
    process.stderr.write(`relprop: warning: ${(e as Error).message}; classes are shown by index\n`);
  }
  let written: string[];
  try {
    written = await writeEvaluationOutputs(result, f.out, { command }, { plot: f.plot, classNames });
  } catch (e) {
    removeFolders(created);
    throw e;
  }
  if (!f.quiet) {
    const s = result.settings;
    const t = result.timing;
    process.stdout.write(
      `${result.samples} samples${result.accuracy !== undefined ? ` (accuracy ${(100 * result.accuracy).toFixed(1)}%)` : ''}, ${s.regionSize.join('x')} regions, ${s.steps} steps (${(100 * s.fractionPerturbed).toFixed(1)}% of the image), ${s.replacement} replacement, score: ${s.score} of the ${s.target} class\n`,
    );
    process.stdout.write(aopcTableText(result));
    // Said with the results, not before: an error stays the only line on stderr.
    if (card) process.stdout.write(`box bounds of ${boxed.map((s) => s.label).join(', ')} from input range [${card.range.join(', ')}] in ${card.path}\n`);
    for (const n of result.notes ?? []) process.stdout.write(`note: ${n}\n`);
    const all = result.timingAllChunks;
    if (all && all.inferences > t.inferences)
      process.stdout.write(`resumed: ${all.inferences - t.inferences} of ${all.inferences} perturbed inferences were done by earlier runs\n`);
    if (t.inferences > 0)
      process.stdout.write(
        `${t.inferences} perturbed inferences in ${(t.forwardOrtMs / 1000).toFixed(1)} s inside ONNX Runtime (${Math.round(t.inferences / (t.forwardOrtMs / 1000))}/s); run ${(t.totalMs / 1000).toFixed(1)} s\n`,
      );
    process.stdout.write(`wrote ${written.join(', ')}\n`);
  }
}
