/** `relprop train` and `relprop test`: train a model from a spec, save it with its card; score a model on data. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { decodeModel } from '../../core/onnx/model.js';
import { openSession } from '../../core/runtime.js';
import { readModelFile } from '../files.js';
import { folderCheckpoints } from '../train/checkpoints.js';
import { loadLabelledData, splitData, type LabelledData } from '../data/datasets.js';
import { checkOutputFiles, checkOutputFolder, ensureDir, removeFolders, writeFileAtomic, writeFilesAtomic } from '../io/atomic.js';
import { encodeNpy, readNpy } from '../../core/onnx/npy.js';
import { ppmiSvdVectors } from '../../core/text/word-vectors.js';
import { specFromOnnx } from '../../core/train/from-onnx.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import type { Fit } from '../io/image.js';
import { checkSpec, PRESETS, type ModelSpec } from '../../core/train/spec.js';
import { Trainer, scoreLogits, type Schedule } from '../../core/train/trainer.js';
import { buildGraph, type LossSpec, type OptimizerSpec } from '../../core/train/graph.js';
import { unknownNameError } from '../../core/names.js';

export interface TrainFlags {
  spec?: string;
  preset?: string;
  data: string;
  labels?: string;
  val?: string;
  valLabels?: string;
  valSplit?: number;
  test?: string;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr: number;
  momentum?: number;
  weightDecay?: number;
  schedule: string;
  stepEvery?: number;
  loss: string;
  seed: number;
  threads?: number;
  patience?: number;
  out: string;
  checkpointDir?: string;
  resume?: boolean;
  classNames?: string;
  init?: string;
  freeze?: string;
  maxLength?: number;
  initParam?: string[];
  fit?: Fit;
  background?: [number, number, number];
  quiet?: boolean;
}

/**
 * Regression targets with missing values (NaN): the multi-task losses mask them (mask 0, target 0);
 * any other loss refuses them, naming the first, rather than training to a NaN loss.
 */
export function targetsWithMask(d: LabelledData, loss: string, what: string): { y: TensorData; mask?: TensorData } {
  if (d.y.dtype !== 'float32') return { y: d.y };
  const y = d.y.data as Float32Array;
  const missing = y.reduce((n, v) => n + (Number.isNaN(v) ? 1 : 0), 0);
  for (let i = 0; i < y.length; i++)
    if (!Number.isNaN(y[i]!) && !Number.isFinite(y[i]!))
      throw new Error(`${what}: target ${y[i]} in row ${Math.floor(i / (y.length / d.y.dims[0]!))} is not finite`);
  if (loss.startsWith('multitask')) {
    const mask = Float32Array.from(y, (v) => (Number.isNaN(v) ? 0 : 1));
    return { y: { ...d.y, data: Float32Array.from(y, (v) => (Number.isNaN(v) ? 0 : v)) }, mask: { dtype: 'float32', dims: d.y.dims, data: mask } };
  }
  if (missing > 0) {
    const first = y.findIndex((v) => Number.isNaN(v));
    throw new Error(
      `${what}: ${missing} of ${y.length} regression targets are missing (NaN; the first in row ${Math.floor(first / (y.length / d.y.dims[0]!))}); drop those rows, or use --loss multitask-mse / multitask-mae, which skip missing targets`,
    );
  }
  return { y: d.y };
}

/** The model to train; `imported`: weights of an --init model read back into a spec, by spec name. */
async function readSpec(f: TrainFlags): Promise<{ spec: ModelSpec; name: string; imported?: Map<string, TensorData> }> {
  if (f.spec && f.preset) throw new Error('give either --spec or --preset, not both');
  if (!f.spec && !f.preset && f.init) {
    // Fine-tuning: a relprop-trained model's card holds the architecture; any other ONNX network
    // (a chain or residual blocks) is read back into a spec (its weights are loaded by name below).
    const card = f.init.replace(/\.onnx$/, '') + '.json';
    let architecture: unknown;
    let cardName: string | undefined;
    try {
      const c = JSON.parse(readFileSync(card, 'utf8')) as { architecture?: unknown; name?: string };
      architecture = c.architecture;
      cardName = c.name;
    } catch {
      /* no card: import the graph */
    }
    const name = `${cardName ?? basename(f.init, '.onnx')}-finetuned`;
    if (architecture) return { spec: checkSpec(architecture), name };
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f.init);
    } catch (e) {
      throw new Error(`cannot read --init model ${f.init}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const imported = await specFromOnnx(bytes, f.init);
    return { spec: imported.spec, name, imported: imported.params };
  }
  if (f.preset) {
    const s = PRESETS[f.preset];
    if (!s) throw unknownNameError('preset', f.preset, Object.keys(PRESETS));
    return { spec: s, name: f.preset };
  }
  if (!f.spec) throw new Error('give the model as --spec model.json or --preset NAME');
  let text: string;
  try {
    text = readFileSync(f.spec, 'utf8');
  } catch (e) {
    throw new Error(`cannot read spec ${f.spec}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return { spec: checkSpec(JSON.parse(text)), name: basename(f.spec, '.json') };
  } catch (e) {
    throw new Error(`${f.spec}: ${(e as Error).message}`);
  }
}

export async function trainCommand(f: TrainFlags): Promise<void> {
  // Fail on an unwritable or misnamed output before hours of training; the folder is created at the end.
  const cardPathEarly = f.out.replace(/\.onnx$/i, '') + '.json';
  checkOutputFiles(
    [
      { flag: '--out', path: f.out, ext: ['.onnx'] },
      { flag: 'the model card', path: cardPathEarly, ext: ['.json'] },
    ],
    { createFolders: true },
  );
  if (f.checkpointDir) checkOutputFolder('--checkpoint-dir', f.checkpointDir);
  const { spec, name, imported } = await readSpec(f);
  if (!['adam', 'sgd'].includes(f.optimizer)) throw unknownNameError('optimizer', f.optimizer, ['adam', 'sgd']);
  if (!['constant', 'step', 'cosine'].includes(f.schedule)) throw unknownNameError('schedule', f.schedule, ['constant', 'step', 'cosine']);
  const losses = ['cross-entropy', 'mse', 'multitask-mse', 'multitask-mae'];
  if (!losses.includes(f.loss)) throw unknownNameError('loss', f.loss, losses);
  if (f.spec && resolve(f.spec) === resolve(cardPathEarly))
    throw new Error(`--out ${f.out} would write its model card over the spec ${f.spec}; choose another name`);
  const size = spec.input.shape.length === 3 ? ([spec.input.shape[1], spec.input.shape[2]] as [number, number]) : undefined;
  const channels = spec.input.shape.length === 3 && (spec.input.shape[0] === 1 || spec.input.shape[0] === 3) ? (spec.input.shape[0] as 1 | 3) : undefined;
  const dataOpts = { size, channels, maxLength: f.maxLength, fit: f.fit, background: f.background };
  let train: LabelledData = loadLabelledData(f.data, { ...dataOpts, labels: f.labels, split: 'train' });
  if (train.conversion) process.stderr.write(`relprop: ${train.conversion}\n`);
  // Before the validation split: the range of everything given as training data.
  const inputRange = spec.input.dtype === 'int64' ? undefined : train.range;
  let val: LabelledData | undefined;
  if (f.val) val = loadLabelledData(f.val, { ...dataOpts, labels: f.valLabels, split: 'test' });
  if (val?.conversion) process.stderr.write(`relprop: ${val.conversion}\n`);
  else if (f.valSplit) [train, val] = splitData(train, f.valSplit, f.seed);
  const optimizer: OptimizerSpec = { kind: f.optimizer as 'adam' | 'sgd', momentum: f.momentum, weightDecay: f.weightDecay };
  const loss: LossSpec = { kind: f.loss as LossSpec['kind'] };
  const schedule: Schedule = { kind: f.schedule as Schedule['kind'], every: f.stepEvery };
  const bar =
    !f.quiet && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          { format: 'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | acc {acc} | ETA {eta}s', stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const freeze = f.freeze
    ? f.freeze
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
  const trainer = new Trainer(spec, {
    epochs: f.epochs,
    batchSize: f.batchSize,
    lr: f.lr,
    optimizer,
    loss,
    schedule,
    seed: f.seed,
    threads: f.threads,
    patience: f.patience,
    checkpoints: f.checkpointDir ? folderCheckpoints(f.checkpointDir) : undefined,
    resume: f.resume,
    freeze,
    onStep: (s) => {
      if (!bar) return;
      if (s.step === 1) bar.start(s.steps, 0, { epoch: s.epoch + 1, epochs: f.epochs, loss: '-', acc: '-' });
      bar.update(s.step, { loss: s.loss.toFixed(4), acc: s.accuracy === undefined ? '-' : (100 * s.accuracy).toFixed(1) + '%' });
      if (s.step === s.steps) bar.stop();
    },
    onEpoch: (e) => {
      if (f.quiet) return;
      const acc = (v?: number) => (v === undefined ? '' : ` ${(100 * v).toFixed(2)}%`);
      process.stdout.write(
        `epoch ${e.epoch}: lr ${e.lr.toPrecision(3)}, train loss ${e.trainLoss.toFixed(4)}${acc(e.trainAccuracy)}${e.valLoss !== undefined ? `, validation loss ${e.valLoss.toFixed(4)}${acc(e.valAccuracy)}` : ''}${e.valMae !== undefined && e.valAccuracy === undefined ? ` MAE ${e.valMae.toFixed(4)}` : ''} (${e.seconds.toFixed(1)} s)\n`,
      );
    },
  });
  let init: { loaded: string[]; fresh: string[] } | undefined;
  if (f.init) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f.init);
    } catch (e) {
      throw new Error(`cannot read --init model ${f.init}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    init = trainer.loadMatching(imported ?? Trainer.paramsFromOnnx(bytes));
    if (init.loaded.length === 0) throw new Error(`--init ${f.init}: none of its weights match the model's parameter names and shapes`);
    if (!f.quiet)
      process.stdout.write(`initialised ${init.loaded.length} parameters from ${f.init}${init.fresh.length ? `; new: ${init.fresh.join(', ')}` : ''}\n`);
  }
  for (const arg of f.initParam ?? []) {
    const eq = arg.indexOf('=');
    if (eq < 1) throw new Error(`--init-param needs NAME=FILE.npy, got "${arg}"`);
    const [pname, file] = [arg.slice(0, eq), arg.slice(eq + 1)];
    const cur = trainer.params.get(pname);
    if (!cur) throw new Error(`--init-param: the model has no parameter "${pname}" (parameters: ${[...trainer.params.keys()].join(', ')})`);
    const t = readNpy(readFileSync(file));
    if (t.dims.join() !== cur.dims.join())
      throw new Error(`--init-param ${pname}: ${file} has shape ${JSON.stringify(t.dims)}, the parameter ${JSON.stringify(cur.dims)}`);
    const data = Float32Array.from(t.data as Float32Array);
    const padRow = buildGraph(spec, 'infer', { shapesOnly: true }).params.find((p) => p.name === pname)?.padRow;
    if (padRow !== undefined) data.fill(0, padRow * cur.dims[1]!, (padRow + 1) * cur.dims[1]!);
    trainer.params.set(pname, { dtype: 'float32', dims: cur.dims, data });
  }
  const trainY = targetsWithMask(train, f.loss, `training labels ${f.labels ?? f.data}`);
  const valY = val && targetsWithMask(val, f.loss, `validation labels ${f.valLabels ?? f.val ?? f.data}`);
  const t0 = performance.now();
  await trainer.fit({ x: train.x, ...trainY, lengths: train.lengths }, val ? { x: val.x, ...valY!, lengths: val.lengths } : undefined);
  const seconds = (performance.now() - t0) / 1000;
  let testResult: { accuracy?: number; mae?: number; loss: number; samples: number; data: string } | undefined;
  if (f.test) {
    const t = loadLabelledData(f.test, { ...dataOpts, split: 'test' });
    if (t.conversion) process.stderr.write(`relprop: ${t.conversion}\n`);
    const r = await trainer.evaluate({ x: t.x, y: t.y, lengths: t.lengths });
    testResult = { accuracy: r.accuracy, mae: r.mae, loss: r.loss, samples: t.x.dims[0]!, data: t.source };
    if (!f.quiet)
      process.stdout.write(
        `test: ${r.accuracy !== undefined ? `accuracy ${(100 * r.accuracy).toFixed(2)}%` : `MAE ${r.mae!.toFixed(4)}`} on ${t.x.dims[0]} samples\n`,
      );
  }
  const card = {
    name,
    file: basename(f.out),
    trained_by: 'relprop',
    architecture: spec,
    architecture_source: imported ? `read back from ${f.init}` : undefined,
    input: {
      name: 'input',
      dtype: spec.input.dtype ?? 'float32',
      shape: ['N', ...spec.input.shape],
      ...(inputRange && { range: [inputRange.low, inputRange.high], range_note: inputRange.note }),
    },
    output: { name: 'logits', shape: ['N', trainer.numOutputs()] },
    classes: f.classNames ? f.classNames.split(',').map((c) => c.trim()) : train.classes,
    data: { train: train.source, train_samples: train.x.dims[0], validation: val ? (f.val ?? `${f.valSplit} of the training data`) : null },
    initialised_params: f.initParam ?? [],
    initialised_from: f.init ? { model: f.init, loaded: init!.loaded, new: init!.fresh, frozen_layers: freeze ?? [] } : null,
    training: {
      epochs: trainer.history.length,
      batch_size: f.batchSize,
      optimizer,
      loss,
      learning_rate: f.lr,
      schedule,
      seed: f.seed,
      // ONNX Runtime's intra-op threads (without --threads it takes one per core).
      threads: f.threads ?? availableParallelism(),
      seconds: Math.round(seconds),
    },
    history: trainer.history,
    test: testResult ?? null,
    command: `relprop ${process.argv
      .slice(2)
      .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
      .join(' ')}`,
    relprop_version: '0.1.0',
  };
  const cardPath = cardPathEarly;
  const created = ensureDir(dirname(resolve(f.out)));
  try {
    await writeFilesAtomic([
      [f.out, trainer.inferenceModel()],
      [cardPath, JSON.stringify(card, null, 2) + '\n'],
    ]);
  } catch (e) {
    removeFolders(created);
    throw e;
  }
  if (!f.quiet) process.stdout.write(`wrote ${f.out} and ${cardPath}\n`);
}

export async function testCommand(
  model: string,
  f: { data: string; labels?: string; batchSize?: number; threads?: number; fit?: Fit; background?: [number, number, number]; quiet?: boolean },
): Promise<void> {
  const bytes = readModelFile(model);
  const shape = decodeModel(bytes, model).inputs[0]?.shape;
  const session = await openSession(undefined, bytes, { threads: f.threads }, `model ${model}`);
  const size = shape?.length === 4 && typeof shape[2] === 'number' && typeof shape[3] === 'number' ? ([shape[2], shape[3]] as [number, number]) : undefined;
  const channels = shape?.length === 4 && (shape[1] === 1 || shape[1] === 3) ? (shape[1] as 1 | 3) : undefined;
  const d = loadLabelledData(f.data, { labels: f.labels, split: 'test', size, channels, fit: f.fit, background: f.background });
  if (d.conversion) process.stderr.write(`relprop: ${d.conversion}\n`);
  const N = d.x.dims[0]!;
  if (N === 0) throw new Error(`${f.data} holds no samples`);
  const per = d.x.data.length / N;
  const B = f.batchSize ?? 256;
  let K = 0;
  let logits = new Float32Array(0);
  const bar =
    !f.quiet && process.stderr.isTTY && N > B
      ? new cliProgress.SingleBar({ format: 'testing [{bar}] {value}/{total} | ETA {eta}s', stream: process.stderr }, cliProgress.Presets.shades_classic)
      : null;
  bar?.start(N, 0);
  for (let s = 0; s < N; s += B) {
    const n = Math.min(B, N - s);
    const dims = [n, ...d.x.dims.slice(1)];
    const x: TensorData =
      d.x.dtype === 'int64'
        ? { dtype: 'int64', dims, data: (d.x.data as BigInt64Array).slice(s * per, (s + n) * per) }
        : { dtype: 'float32', dims, data: (d.x.data as Float32Array).slice(s * per, (s + n) * per) };
    let out;
    try {
      out = await session.run({ [session.inputNames[0]!]: x });
    } catch (e) {
      throw new Error(`the model cannot run on inputs of shape ${JSON.stringify(x.dims)}: ${(e as Error).message}`);
    }
    const o = out[session.outputNames[0]!]!;
    if (!K) {
      K = o.dims[1] as number;
      logits = new Float32Array(N * K);
    }
    logits.set(o.data as Float32Array, s * K);
    bar?.update(s + n);
  }
  bar?.stop();
  const isClass = d.y.dtype === 'int64';
  if (isClass) for (const v of d.y.data as BigInt64Array) if (v >= BigInt(K)) throw new Error(`label ${v} is outside the model's ${K} outputs`);
  const r = scoreLogits(logits, { x: d.x, y: d.y }, K, { kind: isClass ? 'cross-entropy' : 'mse' });
  if (isClass) {
    const perClass = new Map<number, [number, number]>();
    const labels = d.y.data as BigInt64Array;
    for (let i = 0; i < N; i++) {
      const row = logits.subarray(i * K, (i + 1) * K);
      let best = 0;
      for (let k = 1; k < K; k++) if (row[k]! > row[best]!) best = k;
      const c = Number(labels[i]);
      const e = perClass.get(c) ?? [0, 0];
      perClass.set(c, [e[0] + (best === c ? 1 : 0), e[1] + 1]);
    }
    process.stdout.write(`accuracy ${(100 * r.accuracy!).toFixed(2)}% on ${N} samples (loss ${r.loss.toFixed(4)})\n`);
    if (!f.quiet)
      for (const [c, [ok, n]] of [...perClass].sort((a, b) => a[0] - b[0]))
        process.stdout.write(`  class ${d.classes?.[c] ?? c}: ${((100 * ok) / n).toFixed(1)}% of ${n}\n`);
  } else process.stdout.write(`MAE ${r.mae!.toFixed(4)}, MSE ${r.loss.toFixed(4)} on ${N} samples\n`);
}

/** `relprop word-vectors`: PPMI-SVD word vectors from token-id JSONL, for --init-param. */
export async function wordVectorsCommand(f: {
  data: string;
  vocabSize: number;
  dim: number;
  window?: number;
  contexts?: number;
  skip?: string;
  seed?: number;
  out: string;
  quiet?: boolean;
}): Promise<void> {
  checkOutputFiles([{ flag: '--out', path: f.out, ext: ['.npy'] }]);
  let text: string;
  try {
    text = readFileSync(f.data, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${f.data}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const docs = text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      const ids = (JSON.parse(l) as { ids?: unknown }).ids;
      if (!Array.isArray(ids)) throw new Error(`${f.data}:${i + 1}: expected {"ids": [...]}`);
      for (const t of ids)
        if (!Number.isInteger(t) || t < 0 || t >= f.vocabSize) throw new Error(`${f.data}:${i + 1}: token id ${t} is outside the vocabulary of ${f.vocabSize}`);
      return ids as number[];
    });
  if (docs.length === 0) throw new Error(`${f.data} holds no documents`);
  const skip = (f.skip ?? '0,1').split(',').filter(Boolean).map(Number);
  const v = ppmiSvdVectors(docs, f.vocabSize, { dim: f.dim, window: f.window, contexts: f.contexts, skip, seed: f.seed });
  await writeFileAtomic(f.out, encodeNpy({ dtype: 'float32', dims: [f.vocabSize, f.dim], data: v }));
  if (!f.quiet) process.stdout.write(`wrote ${f.vocabSize}×${f.dim} word vectors to ${f.out}\n`);
}
