import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { type DbmParams, layersOfParity } from '../../core/boltzmann/dbm.js';
import type { PositivePhase } from '../../core/boltzmann/dbm-graphs.js';
import { aisDbmLogZ, exactDbmLogZ, meanDbmLogProb, meanDbmLogProbBound } from '../../core/boltzmann/dbm-likelihood.js';
import { dbmFromOnnx, dbmToOnnx } from '../../core/boltzmann/dbm-model-file.js';
import { DbmTrainer, type DbmTrainOptions } from '../../core/boltzmann/dbm-train.js';
import { MAX_ENUMERATED_UNITS } from '../../core/boltzmann/likelihood.js';
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
} from '../boltzmann/cli-common.js';
import { loadBinaryData } from '../boltzmann/data.js';
import { readDbmCheckpoint, writeDbmCheckpoint } from '../boltzmann/dbm-checkpoint.js';
import { checkOutputFiles, checkOutputFolder, writeFilesAtomic } from '../io/atomic.js';
import { quietOption, seedOption, threadsOption } from './options.js';
import { num, posInt } from './values.js';

/** Enumerated layers up to this many units: each epoch's progress line includes the exact training log-likelihood. */
const PROGRESS_EXACT_UNITS = 16;

function layerList(v: string): number[] {
  const parts = v.split(',').map((p) => Number(p.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--hidden needs comma-separated positive integers (e.g. 16,8), got "${v}"`);
  return parts;
}

/** Sizes of the odd layers and of the even hidden layers: what exact log Z and log p(v) enumerate. */
function enumerated(sizes: number[]): { odd: number; evenHidden: number } {
  const L = sizes.length - 1;
  const sum = (ls: number[]) => ls.reduce((s, l) => s + sizes[l]!, 0);
  return { odd: sum(layersOfParity(L, 'odd')), evenHidden: sum(layersOfParity(L, 'even').filter((l) => l > 0)) };
}

interface TrainFlags extends DataFlags {
  hidden: number[];
  out: string;
  lr: number;
  nu: number;
  weightDecay: number;
  batchSize: number;
  chains?: number;
  positive: PositivePhase;
  positiveRounds: number;
  negativeSweeps: number;
  weightStd?: number;
  uncentered?: boolean;
  epochs: number;
  checkpointDir?: string;
  resume?: boolean;
  updatesPerRun: number;
}

async function trainDbm(f: TrainFlags): Promise<void> {
  checkOutputFiles([
    { flag: '--out', path: f.out, ext: ['.onnx'] },
    { flag: '--out', path: f.out.replace(/\.onnx$/i, '.json'), ext: ['.json'] },
  ]);
  if (f.checkpointDir) checkOutputFolder('--checkpoint-dir', f.checkpointDir);
  if (f.resume && !f.checkpointDir) throw new Error('--resume needs --checkpoint-dir');
  const data = loadBinaryData(f.data, f);
  const opts: DbmTrainOptions = {
    hidden: f.hidden,
    lr: f.lr,
    nu: f.nu,
    decay: f.weightDecay,
    batchSize: f.batchSize,
    chains: f.chains,
    positive: f.positive,
    positiveRounds: f.positiveRounds,
    negativeSweeps: f.negativeSweeps,
    weightStd: f.weightStd,
    centered: !f.uncentered,
    seed: f.seed,
    threads: f.threads ?? 0,
    updatesPerRun: f.updatesPerRun,
  };
  // Everything that shapes the run except its length: a checkpoint resumes only under the same.
  const settings = {
    ...opts,
    threads: undefined,
    updatesPerRun: undefined,
    data: f.data,
    binarize: f.binarize,
    split: f.split,
    samples: data.n,
    visible: data.nv,
  };
  let history: EpochRecord[] = [];
  let resume;
  if (f.resume) {
    const c = readDbmCheckpoint<EpochRecord>(f.checkpointDir!);
    if (!c) throw new Error(`--resume: no checkpoint in ${f.checkpointDir}`);
    checkResumeSettings(f.checkpointDir!, c.settings, settings);
    ({ history, state: resume } = c);
    if (!f.quiet) process.stderr.write(`relprop: resuming after epoch ${resume.epoch} from ${f.checkpointDir}\n`);
  }
  const trainer = await DbmTrainer.create(data, opts, resume);
  const e = enumerated([data.nv, ...f.hidden]);
  const exactProgress = Math.max(e.odd, e.evenHidden) <= PROGRESS_EXACT_UNITS;
  const started = Date.now();
  try {
    await runEpochs(trainer, history, {
      epochs: f.epochs,
      quiet: f.quiet,
      checkpointDir: f.checkpointDir,
      exactLoglik: exactProgress ? async () => meanDbmLogProb(trainer.params, data.x, await exactDbmLogZ(trainer.params, opts), opts) : undefined,
      save: f.checkpointDir ? (state, h) => writeDbmCheckpoint(f.checkpointDir!, { settings, state, history: h }) : undefined,
    });
  } finally {
    await trainer.release();
  }
  const p = trainer.params;
  const card = {
    kind: 'dbm',
    architecture: { layers: p.sizes, centered: opts.centered },
    outputs: Object.fromEntries(p.sizes.slice(1).map((_, k) => [`hidden${k + 1}`, `mean-field posterior of hidden layer ${k + 1} given visible`])),
    training: { ...settings, threads: opts.threads, epochs: f.epochs, seconds: Math.round((Date.now() - started) / 1000), cores: availableParallelism() },
    history,
    command: `relprop ${process.argv.slice(2).join(' ')}`,
    relprop_version: '0.1.0',
  };
  const cardPath = f.out.replace(/\.onnx$/i, '.json');
  await writeFilesAtomic([
    [f.out, dbmToOnnx(p)],
    [cardPath, `${JSON.stringify(card, null, 2)}\n`],
  ]);
  if (!f.quiet) process.stdout.write(`wrote ${f.out} and ${cardPath}\n`);
}

/** Mean log-likelihood of the data under the DBM `p` read from `f.model` (`dbm loglik`, `likelihood`). */
export async function loglikDbm(f: LoglikFlags, p: DbmParams = dbmFromOnnx(readModelBytes(f.model), f.model)): Promise<void> {
  const data = loadBinaryData(f.data, f);
  if (data.nv !== p.sizes[0]) throw new Error(`${f.data} has ${data.nv} values per sample; the model ${basename(f.model)} has ${p.sizes[0]} visible units`);
  const e = enumerated(p.sizes);
  // log p*(v): exact while the even hidden layers can be enumerated, else the mean-field bound.
  const bound = e.evenHidden > MAX_ENUMERATED_UNITS;
  const estimator = f.estimator ?? (e.odd <= MAX_ENUMERATED_UNITS ? 'exact' : 'ais');
  const run = { threads: f.threads ?? 0 };
  let logZ: number;
  let stdErr: number | undefined;
  if (estimator === 'exact') logZ = await exactDbmLogZ(p, run);
  else {
    const baseBias = dataMeanBase(data);
    ({ logZ, stdErr } = await aisDbmLogZ(p, { ...run, chains: f.chains, temperatures: f.temperatures, schedule: f.schedule, seed: f.seed, baseBias }));
  }
  const ll = bound ? await meanDbmLogProbBound(p, data.x, logZ, run) : await meanDbmLogProb(p, data.x, logZ, run);
  const kind = bound ? 'mean-field lower bound' : 'exact';
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ estimator, log_p_star: kind, samples: data.n, mean_loglik: ll, log_z: logZ, log_z_std_err: stdErr ?? null })}\n`);
  } else if (!f.quiet) {
    const z =
      estimator === 'exact'
        ? `exact log Z ${logZ.toFixed(4)}`
        : `AIS log Z ${logZ.toFixed(4)} ± ${stdErr!.toFixed(4)} (s.e., ${f.chains} chains, ${f.temperatures} ${f.schedule} temperatures)`;
    const what = bound ? `mean log p(v) ≥ ${ll.toFixed(4)} (mean-field bound)` : `mean log p(v) ${ll.toFixed(4)}`;
    process.stdout.write(`${what} nats over ${data.n} samples; ${z}\n`);
  }
}

export function registerDbmCommands(program: Command): void {
  const dbm = program.command('dbm').description('deep Boltzmann machines on binary data, centered or not (training and likelihoods)');
  const train = dbm
    .command('train')
    .description('train a binary DBM jointly (mean-field or sampled positive phase, persistent chains); saves an ONNX graph and a JSON card')
    .requiredOption('--hidden <sizes>', 'hidden layer sizes, bottom to top, e.g. 16,8', layerList)
    .requiredOption('--out <file>', 'model (.onnx; the card goes beside it as .json)')
    .option('--lr <rate>', 'learning rate', num('--lr'), 0.005)
    .option('--nu <rate>', 'rate of the hidden offsets’ moving average (centered)', num('--nu'), 0.005)
    .option('--weight-decay <w>', 'L2 weight decay', num('--weight-decay'), 0)
    .option('--batch-size <n>', 'mini-batch size', posInt('--batch-size'), 25)
    .option('--chains <n>', 'persistent chains (default: the batch size)', posInt('--chains'))
    .addOption(
      new Option('--positive <how>', 'positive phase: meanfield, or sample (the reference code)').choices(['meanfield', 'sample']).default('meanfield'),
    )
    .option('--positive-rounds <n>', 'positive-phase rounds (odd layers, then even hidden layers)', posInt('--positive-rounds'), 5)
    .option('--negative-sweeps <n>', 'Gibbs sweeps on the persistent chains per update', posInt('--negative-sweeps'), 1)
    .option('--weight-std <s>', 'initial weight std (default: 0.01 with meanfield, 0 with sample)', num('--weight-std'))
    .option('--uncentered', 'zero offsets (the usual DBM)')
    .option('--epochs <n>', 'epochs', posInt('--epochs'), 10)
    .option('--checkpoint-dir <dir>', 'write a checkpoint after every epoch')
    .option('--resume', 'continue from the checkpoint in --checkpoint-dir')
    .option('--updates-per-run <n>', 'updates per ONNX Runtime run (the same updates; fewer host round trips)', posInt('--updates-per-run'), 10);
  dataOptions(train, 'train');
  seedOption(train, 'initialisation, order, Gibbs sampling, --binarize sample', 0);
  quietOption(threadsOption(train)).action(async (opts) => trainDbm(opts));

  const loglik = dbm
    .command('loglik')
    .description(
      `mean log-likelihood of data under a DBM: log Z exact (odd layers ≤ ${MAX_ENUMERATED_UNITS} units) or AIS; log p*(v) exact (even hidden layers ≤ ${MAX_ENUMERATED_UNITS} units) or a mean-field lower bound`,
    )
    .requiredOption('--model <file>', 'DBM saved by relprop dbm train (.onnx)');
  loglikOptions(loglik);
  quietOption(threadsOption(loglik)).action(async (opts) => loglikDbm(opts));
}
