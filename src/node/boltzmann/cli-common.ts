/**
 * What `relprop rbm` and `relprop dbm` share: the data flags, reading a model file with a one-line
 * error, the AIS base model from the data's pixel means, and the resume check that refuses a
 * checkpoint made under other settings.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { rbmToOnnx } from '../../core/boltzmann/model-file.js';
import type { RbmParams } from '../../core/boltzmann/rbm.js';
import { type BinaryData, dataMean } from '../../core/boltzmann/train.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { type BetaSchedule, MAX_ENUMERATED_UNITS } from '../../core/boltzmann/likelihood.js';
import { seedOption } from '../cli/options.js';
import { posInt } from '../cli/values.js';
import type { Binarize } from './data.js';

export interface DataFlags {
  data: string;
  binarize: Binarize;
  split: 'train' | 'test';
  limit?: number;
  seed: number;
  threads?: number;
  quiet?: boolean;
}

export function dataOptions(cmd: Command, split: 'train' | 'test'): Command {
  return cmd
    .requiredOption('--data <path>', 'binary data: IDX images file or MNIST-style folder, or .npy [samples, …]')
    .addOption(
      new Option('--binarize <how>', 'threshold: value ≥ 0.5 → 1; sample: Bernoulli(value), seeded; none: the data must already be 0/1')
        .choices(['threshold', 'sample', 'none'])
        .default('threshold'),
    )
    .addOption(new Option('--split <name>', 'IDX folders: which split').choices(['train', 'test']).default(split))
    .option('--limit <n>', 'use the first n samples', posInt('--limit'));
}

export interface LoglikFlags extends DataFlags {
  model: string;
  estimator?: 'exact' | 'ais';
  chains: number;
  temperatures: number;
  schedule: BetaSchedule;
  json?: boolean;
}

/** The options of `rbm loglik`, `dbm loglik` and `likelihood` after --model: estimator, AIS settings, data, seed. */
export function loglikOptions(cmd: Command): Command {
  cmd
    .addOption(
      new Option(
        '--estimator <e>',
        `log Z: exact (enumeration), or ais (default: exact when the enumerated layers have ≤ ${MAX_ENUMERATED_UNITS} units)`,
      ).choices(['exact', 'ais']),
    )
    .option('--chains <n>', 'AIS chains', posInt('--chains'), 100)
    .option('--temperatures <n>', 'AIS intermediate temperatures', posInt('--temperatures'), 1000)
    .addOption(new Option('--schedule <s>', 'AIS β schedule').choices(['linear', 'geometric']).default('linear'))
    .option('--json', 'print JSON');
  dataOptions(cmd, 'test');
  return seedOption(cmd, 'AIS, --binarize sample', 0);
}

export function readModelBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read model ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * AIS base-model visible biases: logits of the data's clipped pixel means (as in the centered-DBM
 * reference). AIS is unbiased for any base, but a base far from the target (e.g. the model's own
 * visible biases) gave a confident 1.4-nat underestimate on a 784-16 Fashion-MNIST RBM.
 */
export function dataMeanBase(data: BinaryData): number[] {
  return Array.from(dataMean(data), (m) => {
    const q = Math.min(0.99, Math.max(0.01, m));
    return Math.log(q / (1 - q));
  });
}

/** Throw unless the checkpoint's settings are the run's (compared as JSON, undefined fields dropped). */
export function checkResumeSettings(dir: string, saved: Record<string, unknown>, now: Record<string, unknown>): void {
  const a = JSON.stringify(saved);
  if (a !== JSON.stringify(JSON.parse(JSON.stringify(now))))
    throw new Error(`--resume: the checkpoint in ${dir} was made with other settings (${a}); use the same ones or another folder`);
}

export interface EpochRecord {
  epoch: number;
  /** Parameter updates so far. */
  updates: number;
  reconstruction_error: number;
  train_loglik_exact?: number;
}

interface EpochTrainer<S extends { epoch: number; step: number }> {
  epoch(onStep?: (done: number, total: number, recon: number) => void): Promise<number>;
  snapshot(): S;
}

export interface EpochLoopOptions<S> {
  epochs: number;
  quiet?: boolean;
  checkpointDir?: string;
  /** The exact mean training log-likelihood, when it is cheap enough to print every epoch. */
  exactLoglik?: () => Promise<number>;
  /** Write a checkpoint of this state and the history so far. */
  save?: (state: S, history: EpochRecord[]) => Promise<void>;
}

/**
 * Train until `epochs` epochs are done (counting those of a resumed state), with a progress line on
 * a terminal, one printed line and one history record per epoch, and a checkpoint after each; a
 * failing epoch (e.g. divergence) names the checkpoint that is kept.
 */
export async function runEpochs<S extends { epoch: number; step: number }>(
  trainer: EpochTrainer<S>,
  history: EpochRecord[],
  o: EpochLoopOptions<S>,
): Promise<void> {
  while (trainer.snapshot().epoch < o.epochs) {
    const epoch = trainer.snapshot().epoch + 1;
    let recon: number;
    try {
      recon = await trainer.epoch((done, total, r) => {
        if (!o.quiet && process.stderr.isTTY) process.stderr.write(`\repoch ${epoch}/${o.epochs}: step ${done}/${total}, reconstruction error ${r.toFixed(4)}`);
      });
    } catch (e) {
      const kept = o.checkpointDir && epoch > 1 ? `; the last checkpoint (epoch ${epoch - 1}) is kept in ${o.checkpointDir}` : '';
      throw new Error(`${(e as Error).message}${kept}`);
    }
    const state = trainer.snapshot();
    const record: EpochRecord = { epoch, updates: state.step, reconstruction_error: recon };
    if (o.exactLoglik) record.train_loglik_exact = await o.exactLoglik();
    history.push(record);
    if (!o.quiet) {
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const ll = record.train_loglik_exact === undefined ? '' : `, exact train log-likelihood ${record.train_loglik_exact.toFixed(4)} nats`;
      process.stdout.write(`epoch ${epoch}/${o.epochs}: reconstruction error ${recon.toFixed(4)}${ll}\n`);
    }
    if (o.save) await o.save(state, history);
  }
}

/**
 * A trained RBM on disk, whatever its objective: the ONNX graph computing p(h | v) and its JSON card
 * (architecture, the run's settings, history, command), written together atomically.
 */
export async function saveRbmModel(
  f: { out: string; epochs: number; quiet?: boolean },
  p: RbmParams,
  run: { settings: Record<string, unknown>; centered: boolean; threads?: number; history: unknown[]; started: number },
): Promise<void> {
  const card = {
    kind: 'rbm',
    architecture: { visible: p.nv, hidden: p.nh, centered: run.centered },
    outputs: { hidden: 'p(h = 1 | v) = sigmoid(hidden_bias + W^T (visible - visible_offset))' },
    training: {
      ...run.settings,
      threads: run.threads,
      epochs: f.epochs,
      seconds: Math.round((Date.now() - run.started) / 1000),
      cores: availableParallelism(),
    },
    history: run.history,
    command: `relprop ${process.argv.slice(2).join(' ')}`,
    relprop_version: '0.1.0',
  };
  const cardPath = f.out.replace(/\.onnx$/i, '.json');
  await writeFilesAtomic([
    [f.out, rbmToOnnx(p)],
    [cardPath, `${JSON.stringify(card, null, 2)}\n`],
  ]);
  if (!f.quiet) process.stdout.write(`wrote ${f.out} and ${cardPath}\n`);
}
