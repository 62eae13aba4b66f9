/**
 * `relprop fv train` and `relprop fv explain`: Fisher-vector classifiers (src/core/fisher).
 * `relprop explain` hands models whose card says "family": "fisher-vector" to fisherExplain here.
 */
import type { Command } from 'commander';
import { DEFAULT_CONFIG, type FisherConfig } from '../../core/fisher/config.js';
import { FisherExplainer, formatFisherAudit } from '../../core/fisher/explainer.js';
import { fitFisher } from '../../core/fisher/fit.js';
import type { ImportedModel } from '../../core/graph/import.js';
import type { ColormapChoice, HeatmapStyle } from '../../core/visualize/figure.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { classLabel } from '../cli/class-names.js';
import { heatmapPngs, numberedPaths } from '../cli/heatmaps.js';
import { loadInput } from '../cli/inputs.js';
import { quietOption, seedOption, threadsOption } from '../cli/options.js';
import { num, numList, parseSize, parseTarget, posInt } from '../cli/values.js';
import { type LabelledData, loadLabelledData } from '../data/datasets.js';
import { checkOutputFiles, type OutputFile, writeFilesAtomic } from '../io/atomic.js';
import { cardPathFor } from '../model-card.js';
import { registerCanvasCommand } from './canvas-cmd.js';
import { folderStore } from './checkpoint.js';
import { refuseLayerRuleFlags } from './inspect.js';
import { loadFisherModel, saveFisherModel } from './model-file.js';

interface TrainFlags {
  data: string;
  labels?: string;
  test?: string;
  testLabels?: string;
  limit?: number;
  size?: [number, number];
  channels: number;
  patchSizes: number[];
  stride: number;
  cells: number;
  orientations: number;
  descriptorFloor: number;
  pcaDims: number;
  components: number;
  power: number;
  pyramid: number[];
  samples: number;
  gmmIterations: number;
  varianceFloor: number;
  svmLambda: number;
  svmIterations: number;
  classNames?: string;
  seed: number;
  threads?: number;
  batchSize: number;
  out: string;
  checkpointDir?: string;
  resume?: boolean;
  quiet?: boolean;
}

function loadImages(path: string, f: { size?: [number, number]; channels: number; limit?: number; labels?: string }, split: 'train' | 'test'): LabelledData {
  const d = loadLabelledData(path, { split, labels: f.labels, size: f.size, channels: f.channels === 3 ? 3 : 1 });
  if (d.x.dims.length !== 4 || d.x.dtype !== 'float32') throw new Error(`${path}: expected images [N, C, H, W], got ${JSON.stringify(d.x.dims)}`);
  if (d.y.dtype !== 'int64') throw new Error(`${path}: expected class labels`);
  if (f.limit === undefined || f.limit >= d.x.dims[0]!) return d;
  const per = d.x.data.length / d.x.dims[0]!;
  return {
    ...d,
    x: { dtype: 'float32', dims: [f.limit, ...d.x.dims.slice(1)], data: (d.x.data as Float32Array).slice(0, f.limit * per) },
    y: { dtype: 'int64', dims: [f.limit], data: (d.y.data as BigInt64Array).slice(0, f.limit) },
  };
}

function labelsOf(d: LabelledData): Int32Array {
  return Int32Array.from(d.y.data as BigInt64Array, Number);
}

async function trainCommand(f: TrainFlags): Promise<void> {
  checkOutputFiles([
    { flag: '--out', path: f.out, ext: ['.onnx'] },
    { flag: '--out (card)', path: cardPathFor(f.out), ext: ['.json'] },
  ]);
  if (f.resume && !f.checkpointDir) throw new Error('--resume needs --checkpoint-dir');
  const config: FisherConfig = {
    patchSizes: f.patchSizes,
    stride: f.stride,
    cells: f.cells,
    orientations: f.orientations,
    descriptorFloor: f.descriptorFloor,
    pcaDims: f.pcaDims,
    components: f.components,
    power: f.power,
    pyramid: f.pyramid,
  };
  const train = loadImages(f.data, f, 'train');
  const labels = labelsOf(train);
  const classes = Math.max(...labels) + 1;
  const names = f.classNames?.split(',').map((s) => s.trim()) ?? train.classes;
  if (names && names.length !== classes) throw new Error(`--class-names lists ${names.length} names but the data has ${classes} classes`);
  if (classes < 2) throw new Error(`${f.data}: the training data holds one class only`);
  const test = f.test ? loadImages(f.test, { ...f, limit: undefined, labels: f.testLabels }, 'test') : undefined;
  if (test && test.x.dims.slice(1).join('x') !== train.x.dims.slice(1).join('x'))
    throw new Error(`test images are ${test.x.dims.slice(1).join('x')} but training images are ${train.x.dims.slice(1).join('x')}`);
  const say = (s: string) => {
    if (!f.quiet) process.stderr.write(`${s}\n`);
  };
  say(`fv train: ${train.x.dims[0]} images ${train.x.dims.slice(1).join('x')} from ${train.source}, ${classes} classes`);
  const last = new Map<string, number>();
  const fit = await fitFisher(train.x, labels, {
    config,
    classes,
    seed: f.seed,
    sampleDescriptors: f.samples,
    gmmIterations: f.gmmIterations,
    varianceFloor: f.varianceFloor,
    svmLambda: f.svmLambda,
    svmIterations: f.svmIterations,
    batch: f.batchSize,
    threads: f.threads,
    store: f.checkpointDir ? folderStore(f.checkpointDir, !!f.resume) : undefined,
    onProgress: (stage, done, total, note) => {
      // one line per stage end, and every 10th GMM / 50th SVM iteration
      const every = stage === 'gmm' ? 10 : stage === 'svm' ? 50 : total;
      if (done === total || done - (last.get(stage) ?? 0) >= every) {
        last.set(stage, done);
        say(`  ${stage} ${done}/${total}${note ? `  ${note}` : ''}`);
      }
    },
  });
  let testAccuracy: number | undefined;
  if (test) {
    const ex = await FisherExplainer.create(fit.params, fit.epsilon, { threads: f.threads });
    try {
      const s = (await ex.scores(test.x, f.batchSize)).data as Float32Array;
      const y = labelsOf(test);
      let ok = 0;
      for (let i = 0; i < y.length; i++) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (s[i * classes + k]! > s[i * classes + best]!) best = k;
        if (best === y[i]) ok++;
      }
      testAccuracy = ok / y.length;
    } finally {
      await ex.release();
    }
  }
  await saveFisherModel(f.out, fit.params, fit.epsilon, {
    classes: names,
    training: {
      data: train.source,
      samples: train.x.dims[0],
      seed: f.seed,
      descriptors_sampled: fit.descriptorsSampled,
      gmm_iterations: fit.gmmLogLik.length - 1,
      gmm_mean_loglik: fit.gmmLogLik[fit.gmmLogLik.length - 1],
      gmm_components_reseeded: fit.reseeded,
      svm_lambda: f.svmLambda,
      svm_iterations: f.svmIterations,
      svm_objective: fit.svmObjective[fit.svmObjective.length - 1],
      train_accuracy: fit.trainAccuracy,
      test: test && { data: test.source, samples: test.x.dims[0], accuracy: testAccuracy },
    },
  });
  say(
    `fv train: GMM ${fit.gmmLogLik.length - 1} EM iterations, mean log-likelihood ${fit.gmmLogLik[fit.gmmLogLik.length - 1]!.toFixed(4)}${fit.reseeded ? `, ${fit.reseeded} components re-seeded` : ''}`,
  );
  say(
    `fv train: train accuracy ${(100 * fit.trainAccuracy).toFixed(2)}%${testAccuracy === undefined ? '' : `, test accuracy ${(100 * testAccuracy).toFixed(2)}%`}; LRP epsilon ${fit.epsilon.toExponential(3)}`,
  );
  if (!f.quiet) process.stdout.write(`wrote ${f.out}, ${cardPathFor(f.out)}\n`);
}

export interface FisherExplainFlags {
  model: string;
  input: string;
  out: string;
  target?: string;
  heatmap?: string;
  summary?: string;
  audit?: boolean;
  epsilon?: number;
  saveExplainer?: string;
  threads?: number;
  quiet?: boolean;
  /** From `relprop explain`: only the FV decomposition applies. */
  method?: string;
  rule?: string;
  composite?: string;
  rules?: string;
  colormap?: string;
  heatmapStyle?: string;
  overlay?: boolean;
}

/** Explain an FV model (`relprop fv explain`, and `relprop explain` on an FV model). */
export async function fisherExplain(f: FisherExplainFlags): Promise<void> {
  refuseLayerRuleFlags(f);
  const outputs: OutputFile[] = [{ flag: '--out', path: f.out, ext: ['.npy'] }];
  if (f.heatmap) outputs.push({ flag: '--heatmap', path: f.heatmap, ext: ['.png'] });
  if (f.summary) outputs.push({ flag: '--summary', path: f.summary, ext: ['.json'] });
  if (f.saveExplainer) outputs.push({ flag: '--save-explainer', path: f.saveExplainer, ext: ['.onnx'] });
  checkOutputFiles(outputs);
  const target = parseTarget(f.target);
  // the same heatmap flags as relprop explain (checked there before it hands FV models over)
  const style = (f.heatmapStyle ?? (f.overlay ? 'overlay' : 'side-by-side')) as HeatmapStyle;
  const m = loadFisherModel(f.model);
  const epsilon = f.epsilon ?? m.epsilon;
  const p = m.params;
  // loadInput reads only the declared input shape and element type
  const declared = { inputShape: [null, p.channels, p.height, p.width], inputElemType: 1 } as unknown as ImportedModel;
  const loaded = loadInput(f.input, declared, { channels: p.channels === 3 ? 3 : 1 });
  const x: TensorData = loaded.tensor.dims.length === 3 ? { ...loaded.tensor, dims: [1, ...loaded.tensor.dims] } : loaded.tensor;
  const ex = await FisherExplainer.create(p, epsilon, { threads: f.threads });
  try {
    ex.validate(x);
    const res = await ex.explain(x, target);
    const N = x.dims[0]!;
    const K = p.classes;
    const files: [string, Uint8Array | string][] = [[f.out, encodeNpy(res.relevance)]];
    if (f.heatmap) {
      const pngs = heatmapPngs(res.relevance, {
        colormap: (f.colormap ?? 'auto') as ColormapChoice,
        layout: 'nchw',
        style,
        overlayPixels: style !== 'bare' || f.overlay ? loaded.pixels : undefined,
        input: x,
        titles: res.targets.map((t) => `FV LRP (eps ${epsilon.toExponential(1)})\nclass ${classLabel(t, m.classes)}`),
      });
      numberedPaths(f.heatmap, pngs.length).forEach((path, i) => files.push([path, pngs[i]!]));
    }
    if (f.summary) {
      const samples = res.targets.map((t, i) => ({
        index: i,
        logits: Array.from((res.logits.data as Float32Array).subarray(i * K, (i + 1) * K)),
        predicted: res.predicted[i],
        predicted_name: m.classes?.[res.predicted[i]!],
        target: t,
        target_name: m.classes?.[t],
        ...res.audit[i],
      }));
      files.push([f.summary, `${JSON.stringify({ model: f.model, input: f.input, method: 'fv-lrp', epsilon, bias: 'dropped', samples }, null, 2)}\n`]);
    }
    if (f.saveExplainer) files.push([f.saveExplainer, ex.explainerModel()]);
    await writeFilesAtomic(files);
    if (loaded.conversion) process.stderr.write(`relprop: ${loaded.conversion}\n`);
    if (f.audit) process.stderr.write(`${formatFisherAudit(res.audit)}\n`);
    if (!f.quiet) {
      for (let i = 0; i < Math.min(N, 10); i++) {
        const a = res.audit[i]!;
        process.stdout.write(
          `sample ${i}: predicted ${classLabel(res.predicted[i]!, m.classes)}, target ${classLabel(res.targets[i]!, m.classes)}, score ${a.score.toFixed(4)}, bias ${a.bias.toFixed(4)}, relevance sum ${a.pixelSum.toFixed(4)}\n`,
        );
      }
      if (N > 10) process.stdout.write(`… ${N - 10} more samples\n`);
      process.stdout.write(`wrote ${files.map(([path]) => path).join(', ')}\n`);
    }
  } finally {
    await ex.release();
  }
}

export function registerFisherCommands(program: Command): void {
  const fv = program
    .command('fv')
    .description('Fisher-vector classifiers: train, explain, and the canvases of the context experiment (Lapuschkin et al. 2016)');
  const D = DEFAULT_CONFIG;
  const train = fv
    .command('train')
    .description('fit descriptors → PCA → GMM → Fisher vectors → one-vs-rest linear SVMs; save one ONNX model (image in, scores out) and its card')
    .requiredOption(
      '--data <path>',
      'training images: an IDX folder/file (train split), an image folder (one sub-folder per class), or .npy [N, C, H, W] with --labels',
    )
    .option('--labels <file>', 'labels .npy for a .npy --data')
    .option('--test <path>', 'test images (same forms), scored after training and recorded in the card')
    .option('--test-labels <file>', 'labels .npy for a .npy --test')
    .option('--limit <n>', 'use the first n training images', posInt('--limit'))
    .option('--size <HxW>', 'image folders: resize every image to HxW', parseSize)
    .option('--channels <n>', 'image folders: 1 (grey) or 3', posInt('--channels'), 1)
    .option('--patch-sizes <list>', `descriptor patch sides, pixels (default ${D.patchSizes.join(',')})`, numList('--patch-sizes'), D.patchSizes)
    .option('--stride <n>', `descriptor stride, pixels (default ${D.stride})`, posInt('--stride'), D.stride)
    .option('--cells <n>', `cells per patch side (default ${D.cells})`, posInt('--cells'), D.cells)
    .option('--orientations <n>', `orientation bins (default ${D.orientations})`, posInt('--orientations'), D.orientations)
    .option('--descriptor-floor <eta>', `eta of d / sqrt(|d|^2 + eta^2) (default ${D.descriptorFloor})`, num('--descriptor-floor'), D.descriptorFloor)
    .option('--pca-dims <n>', `PCA dimensions (default ${D.pcaDims})`, posInt('--pca-dims'), D.pcaDims)
    .option('--components <n>', `GMM components (default ${D.components})`, posInt('--components'), D.components)
    .option('--power <rho>', `power normalisation exponent (default ${D.power})`, num('--power'), D.power)
    .option(
      '--pyramid <grids>',
      'spatial pyramid: g×g grids of regions, each with its own FV (default 1: one global FV; e.g. 1,2)',
      numList('--pyramid'),
      D.pyramid,
    )
    .option('--samples <n>', 'descriptors sampled for PCA and the GMM (default 50000)', posInt('--samples'), 50_000)
    .option('--gmm-iterations <n>', 'most EM iterations (default 100)', posInt('--gmm-iterations'), 100)
    .option('--variance-floor <f>', 'GMM variance floor, a fraction of the data variance (default 1e-3)', num('--variance-floor'), 1e-3)
    .option('--svm-lambda <l>', 'SVM L2 regularisation (default 1e-4)', num('--svm-lambda'), 1e-4)
    .option('--svm-iterations <n>', 'SVM accelerated-gradient iterations (default 300)', posInt('--svm-iterations'), 300)
    .option('--class-names <list>', 'comma-separated class names for the card')
    .option('--batch-size <n>', 'images per runtime call (default 32)', posInt('--batch-size'), 32);
  seedOption(train, 'descriptor sample, k-means++ seeding', 0);
  threadsOption(train)
    .requiredOption('--out <file>', 'output model (.onnx; the card goes beside it as .json)')
    .option('--checkpoint-dir <dir>', 'keep the fit’s state here (PCA, GMM after every EM iteration, SVM every 50 iterations)')
    .option('--resume', 'continue the fit whose state is in --checkpoint-dir');
  quietOption(train, 'print nothing but errors').action(async (opts: TrainFlags) => trainCommand(opts));

  const explain = fv
    .command('explain')
    .description('LRP of an FV model on an input (.npy, PNG/JPEG, JSON): relevance .npy, heatmaps, audit (also: relprop explain)')
    .requiredOption('--model <file>', 'FV model written by relprop fv train')
    .requiredOption('--input <file>', 'input: .npy [N, C, H, W], PNG/JPEG image, or JSON')
    .requiredOption('--out <file>', 'relevance output (.npy, the shape of the input)')
    .option('--target <t>', 'class index, comma-separated list, or "predicted"', 'predicted')
    .option('--epsilon <e>', "stabiliser of the descriptor redistribution (default: the card's, 1e-2 x median |z_d|)", num('--epsilon'))
    .option('--heatmap <file>', 'heatmap PNG (numbered per sample when the batch has several)')
    .option('--summary <file>', 'JSON summary: scores, target, audit sums per sample')
    .option('--audit', 'print where relevance goes: f, bias, FV, descriptors, pixels')
    .option('--save-explainer <file>', 'save the explainer ONNX graph');
  threadsOption(explain);
  quietOption(explain).action(async (opts: FisherExplainFlags) => fisherExplain(opts));
  registerCanvasCommand(fv);
}
