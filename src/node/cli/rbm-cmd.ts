import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import { aisLogZ, exactLogZ, MAX_ENUMERATED_UNITS, meanLogProb } from '../../core/boltzmann/likelihood.js';
import { rbmFromOnnx } from '../../core/boltzmann/model-file.js';
import { RbmTrainer, type RbmTrainOptions } from '../../core/boltzmann/train.js';
import type { RbmParams } from '../../core/boltzmann/rbm.js';
import { readRbmCheckpoint, writeRbmCheckpoint } from '../boltzmann/checkpoint.js';
import {
  checkResumeSettings,
  type DataFlags,
  dataMeanBase,
  dataOptions,
  type EpochRecord,
  type LoglikFlags,
  loglikOptions,
  readModelBytes,
  runEpochs,
  saveRbmModel,
} from '../boltzmann/cli-common.js';
import { loadBinaryData } from '../boltzmann/data.js';
import { checkOutputFiles, checkOutputFolder } from '../io/atomic.js';
import { quietOption, seedOption, threadsOption } from './options.js';
import { num, posInt } from './values.js';
import { registerRbmRestoreCommands, trainWassersteinRbm, type WassersteinTrainFlags, wassersteinTrainOptions } from './wrbm-cmd.js';

/** Smaller layer up to this size: the per-epoch progress line includes the exact training log-likelihood. */
const PROGRESS_EXACT_UNITS = 16;

interface TrainFlags extends DataFlags {
  hidden: number;
  out: string;
  method: 'cd' | 'pcd';
  k: number;
  lr: number;
  nu: number;
  weightDecay: number;
  batchSize?: number;
  chains?: number;
  uncentered?: boolean;
  epochs: number;
  checkpointDir?: string;
  resume?: boolean;
}

async function trainRbm(f: TrainFlags & WassersteinTrainFlags): Promise<void> {
  if (f.objective === 'wasserstein') return trainWassersteinRbm(f);
  if (f.cost) throw new Error('--cost is a Wasserstein option: add --objective wasserstein');
  checkOutputFiles([
    { flag: '--out', path: f.out, ext: ['.onnx'] },
    { flag: '--out', path: f.out.replace(/\.onnx$/i, '.json'), ext: ['.json'] },
  ]);
  if (f.checkpointDir) checkOutputFolder('--checkpoint-dir', f.checkpointDir);
  if (f.resume && !f.checkpointDir) throw new Error('--resume needs --checkpoint-dir');
  const data = loadBinaryData(f.data, f);
  const opts: RbmTrainOptions = {
    hidden: f.hidden,
    method: f.method,
    k: f.k,
    lr: f.lr,
    nu: f.nu,
    decay: f.weightDecay,
    batchSize: f.batchSize ?? 25,
    chains: f.chains,
    centered: !f.uncentered,
    seed: f.seed,
    threads: f.threads ?? 0,
  };
  // Everything that shapes the run except its length: a checkpoint resumes only under the same.
  const settings = { ...opts, threads: undefined, data: f.data, binarize: f.binarize, split: f.split, samples: data.n, visible: data.nv };
  let history: EpochRecord[] = [];
  let resume;
  if (f.resume) {
    const c = readRbmCheckpoint<EpochRecord>(f.checkpointDir!);
    if (!c) throw new Error(`--resume: no checkpoint in ${f.checkpointDir}`);
    checkResumeSettings(f.checkpointDir!, c.settings, settings);
    ({ history, state: resume } = c);
    if (!f.quiet) process.stderr.write(`relprop: resuming after epoch ${resume.epoch} from ${f.checkpointDir}\n`);
  }
  const trainer = await RbmTrainer.create(data, opts, resume);
  const exactProgress = Math.min(data.nv, f.hidden) <= PROGRESS_EXACT_UNITS;
  const started = Date.now();
  try {
    await runEpochs(trainer, history, {
      epochs: f.epochs,
      quiet: f.quiet,
      checkpointDir: f.checkpointDir,
      exactLoglik: exactProgress ? async () => meanLogProb(trainer.params, data.x, await exactLogZ(trainer.params, opts)) : undefined,
      save: f.checkpointDir ? (state, h) => writeRbmCheckpoint(f.checkpointDir!, { settings, state, history: h }) : undefined,
    });
  } finally {
    await trainer.release();
  }
  await saveRbmModel(f, trainer.params, { settings, centered: opts.centered, threads: opts.threads, history, started });
}

/** Mean log-likelihood of the data under the RBM `p` read from `f.model` (`rbm loglik`, `likelihood`). */
export async function loglikRbm(f: LoglikFlags, p: RbmParams = rbmFromOnnx(readModelBytes(f.model), f.model)): Promise<void> {
  const data = loadBinaryData(f.data, f);
  if (data.nv !== p.nv) throw new Error(`${f.data} has ${data.nv} values per sample; the model ${basename(f.model)} has ${p.nv} visible units`);
  const smaller = Math.min(p.nv, p.nh);
  const estimator = f.estimator ?? (smaller <= MAX_ENUMERATED_UNITS ? 'exact' : 'ais');
  const run = { threads: f.threads ?? 0 };
  let logZ: number;
  let stdErr: number | undefined;
  if (estimator === 'exact') logZ = await exactLogZ(p, run);
  else {
    const baseBias = dataMeanBase(data);
    ({ logZ, stdErr } = await aisLogZ(p, { ...run, chains: f.chains, temperatures: f.temperatures, schedule: f.schedule, seed: f.seed, baseBias }));
  }
  const ll = await meanLogProb(p, data.x, logZ, run);
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ estimator, samples: data.n, mean_loglik: ll, log_z: logZ, log_z_std_err: stdErr ?? null })}\n`);
  } else if (!f.quiet) {
    const z =
      estimator === 'exact'
        ? `exact log Z ${logZ.toFixed(4)}`
        : `AIS log Z ${logZ.toFixed(4)} ± ${stdErr!.toFixed(4)} (s.e., ${f.chains} chains, ${f.temperatures} ${f.schedule} temperatures)`;
    process.stdout.write(`mean log p(v) ${ll.toFixed(4)} nats over ${data.n} samples; ${z}\n`);
  }
}

export function registerRbmCommands(program: Command): void {
  const rbm = program.command('rbm').description('restricted Boltzmann machines on binary data (training, likelihoods, completion, denoising)');
  const train = rbm
    .command('train')
    .description('train a binary RBM by CD-k or PCD, or by the Wasserstein objective, optionally centered; saves an ONNX graph of p(h | v) and a JSON card')
    .requiredOption('--hidden <n>', 'hidden units', posInt('--hidden'))
    .requiredOption('--out <file>', 'model (.onnx; the card goes beside it as .json)')
    .addOption(new Option('--method <m>', 'cd: chains start at the batch; pcd: persistent chains').choices(['cd', 'pcd']).default('pcd'))
    .option('--k <n>', 'Gibbs sweeps per update', posInt('--k'), 1)
    .option('--lr <rate>', 'learning rate', num('--lr'), 0.01)
    .option('--nu <rate>', 'rate of the hidden offsets’ moving average (centered)', num('--nu'), 0.01)
    .option('--weight-decay <w>', 'L2 weight decay', num('--weight-decay'), 0)
    .option('--batch-size <n>', 'mini-batch size (default 25; Wasserstein: all samples)', posInt('--batch-size'))
    .option('--chains <n>', 'PCD: persistent chains (default: the batch size)', posInt('--chains'))
    .option('--uncentered', 'zero offsets (the usual RBM)')
    .option('--epochs <n>', 'epochs', posInt('--epochs'), 10)
    .option('--checkpoint-dir <dir>', 'write a checkpoint after every epoch')
    .option('--resume', 'continue from the checkpoint in --checkpoint-dir');
  wassersteinTrainOptions(train);
  dataOptions(train, 'train');
  seedOption(train, 'initialisation, order, Gibbs sampling, --binarize sample', 0);
  quietOption(threadsOption(train)).action(async (opts) => trainRbm(opts));

  const loglik = rbm
    .command('loglik')
    .description(`mean log-likelihood of data under an RBM: exact (smaller layer ≤ ${MAX_ENUMERATED_UNITS} units) or AIS`)
    .requiredOption('--model <file>', 'RBM saved by relprop rbm train (.onnx)');
  loglikOptions(loglik);
  quietOption(threadsOption(loglik)).action(async (opts) => loglikRbm(opts));
  registerRbmRestoreCommands(rbm);
}
