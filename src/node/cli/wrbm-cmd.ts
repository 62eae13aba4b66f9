/**
 * Wasserstein RBMs on the command line (arXiv 1507.01972): the options and the run behind
 * `relprop rbm train --objective wasserstein`, and `relprop rbm complete` / `relprop rbm denoise`
 * (conditional Gibbs sampling with any RBM saved by relprop). Checkpoints, resume checks, data
 * flags and model files are those of `relprop rbm` (rbm-cmd.ts, ../boltzmann/).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { type Command, Option } from 'commander';
import { exactLogZ, meanLogProb } from '../../core/boltzmann/likelihood.js';
import { rbmFromOnnx } from '../../core/boltzmann/model-file.js';
import { completeRbm, denoiseRbm, meanHamming } from '../../core/boltzmann/restore.js';
import { checkGroundMatrix, type SinkhornDomain } from '../../core/boltzmann/sinkhorn.js';
import { type KlMix, WrbmTrainer, type WrbmTrainOptions } from '../../core/boltzmann/wasserstein.js';
import { rngFor } from '../../core/math/rng.js';
import { encodeNpy, readNpy } from '../../core/onnx/npy.js';
import { float32 } from '../../core/onnx/tensor.js';
import { readRbmCheckpoint, writeRbmCheckpoint } from '../boltzmann/checkpoint.js';
import { checkResumeSettings, type DataFlags, dataOptions, readModelBytes, saveRbmModel } from '../boltzmann/cli-common.js';
import { loadBinaryData } from '../boltzmann/data.js';
import { checkOutputFiles, checkOutputFolder, writeFilesAtomic } from '../io/atomic.js';
import { quietOption, seedOption, threadsOption } from './options.js';
import { nonNegInt, num, posInt } from './values.js';

/** Smaller layer up to this size: progress lines include the exact training log-likelihood. */
const PROGRESS_EXACT_UNITS = 16;

/** The `rbm train` flags this file reads (rbm-cmd.ts defines the shared ones). */
export interface WassersteinTrainFlags extends DataFlags {
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
  objective: 'kl' | 'wasserstein';
  metric: 'hamming';
  cost?: string;
  gamma: number;
  entropy: number;
  eta: number;
  klMix: KlMix;
  sinkhornTol: number;
  sinkhornIterations: number;
  sinkhornDomain: SinkhornDomain;
  reportEvery: number;
}

/** The Wasserstein options of `relprop rbm train`. */
export function wassersteinTrainOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('--objective <o>', 'kl: maximum likelihood (CD/PCD); wasserstein: smoothed Wasserstein distance to the data (persistent chains)')
        .choices(['kl', 'wasserstein'])
        .default('kl'),
    )
    .addOption(new Option('--metric <m>', 'Wasserstein: distance between binary vectors').choices(['hamming']).default('hamming'))
    .option('--cost <file>', 'Wasserstein: .npy ground matrix C [d, d] (symmetric, entries ≥ 0, PSD): cost (x − y)ᵀC(x − y), replacing --metric')
    .option('--gamma <γ>', 'Wasserstein: Sinkhorn smoothing γ > 0, in cost units', num('--gamma'), 1)
    .option('--entropy <λ>', 'Wasserstein: weight of the entropy term −λH(p)', num('--entropy'), 0)
    .option('--eta <η>', 'Wasserstein: weight of the KL regulariser', num('--eta'), 0.1)
    .addOption(
      new Option('--kl-mix <m>', 'Wasserstein: additive: W − λH + ηKL; convex: (1 − η)(W − λH) + ηKL').choices(['additive', 'convex']).default('additive'),
    )
    .option('--sinkhorn-tol <t>', 'Wasserstein: Sinkhorn tolerance on the marginals (L1)', num('--sinkhorn-tol'), 1e-5)
    .option('--sinkhorn-iterations <n>', 'Wasserstein: Sinkhorn iteration limit (an error beyond it)', posInt('--sinkhorn-iterations'), 10000)
    .addOption(
      new Option('--sinkhorn-domain <d>', 'Wasserstein: Sinkhorn in the linear (scaling) or log domain; auto: linear where float32 holds it, else log')
        .choices(['auto', 'linear', 'log'])
        .default('auto'),
    )
    .option('--report-every <n>', 'Wasserstein: print, record and checkpoint every n epochs', posInt('--report-every'), 1);
}

function readGround(path: string, d: number): Float32Array {
  let t;
  try {
    t = readNpy(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read --cost ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new Error(`--cost ${path}: expected a float array, got ${t.dtype}`);
  if (t.dims.length !== 2) throw new Error(`--cost ${path}: expected a matrix [${d}, ${d}], got shape ${JSON.stringify(t.dims)}`);
  const C = Float32Array.from(t.data as ArrayLike<number>);
  checkGroundMatrix(C, d, `--cost ${path} (${t.dims.join(' × ')})`);
  return C;
}

interface WrbmRecord {
  epoch: number;
  updates: number;
  wasserstein: number;
  transport_cost: number;
  sinkhorn_iterations: number;
  train_loglik_exact?: number;
}

export async function trainWassersteinRbm(f: WassersteinTrainFlags): Promise<void> {
  checkOutputFiles([
    { flag: '--out', path: f.out, ext: ['.onnx'] },
    { flag: '--out', path: f.out.replace(/\.onnx$/i, '.json'), ext: ['.json'] },
  ]);
  if (f.checkpointDir) checkOutputFolder('--checkpoint-dir', f.checkpointDir);
  if (f.resume && !f.checkpointDir) throw new Error('--resume needs --checkpoint-dir');
  if (f.method === 'cd') throw new Error('--objective wasserstein uses persistent chains; drop --method cd');
  const data = loadBinaryData(f.data, f);
  const ground = f.cost ? readGround(f.cost, data.nv) : undefined;
  const opts: WrbmTrainOptions = {
    hidden: f.hidden,
    lr: f.lr,
    gamma: f.gamma,
    lambda: f.entropy,
    eta: f.eta,
    mix: f.klMix,
    ground,
    sinkhornTol: f.sinkhornTol,
    sinkhornMaxIter: f.sinkhornIterations,
    sinkhornDomain: f.sinkhornDomain,
    chains: f.chains,
    k: f.k,
    batchSize: f.batchSize,
    centered: !f.uncentered,
    nu: f.nu,
    decay: f.weightDecay,
    seed: f.seed,
    threads: f.threads ?? 0,
  };
  const settings = {
    ...opts,
    ground: undefined,
    threads: undefined,
    // Left out for 'log', the only domain before the option existed, so that older checkpoints resume with it.
    sinkhornDomain: f.sinkhornDomain === 'log' ? undefined : f.sinkhornDomain,
    objective: 'wasserstein',
    metric: f.cost ? `cost ${f.cost}` : f.metric,
    data: f.data,
    binarize: f.binarize,
    split: f.split,
    samples: data.n,
    visible: data.nv,
  };
  let history: WrbmRecord[] = [];
  let resume;
  if (f.resume) {
    const c = readRbmCheckpoint<WrbmRecord>(f.checkpointDir!);
    if (!c) throw new Error(`--resume: no checkpoint in ${f.checkpointDir}`);
    checkResumeSettings(f.checkpointDir!, c.settings, settings);
    ({ history, state: resume } = c);
    if (!f.quiet) process.stderr.write(`relprop: resuming after epoch ${resume.epoch} from ${f.checkpointDir}\n`);
  }
  const trainer = await WrbmTrainer.create(data, opts, resume);
  const exact = Math.min(data.nv, f.hidden) <= PROGRESS_EXACT_UNITS;
  const started = Date.now();
  try {
    while (trainer.snapshot().epoch < f.epochs) {
      const epoch = trainer.snapshot().epoch + 1;
      try {
        await trainer.epoch();
      } catch (e) {
        const kept = f.checkpointDir && history.length ? `; the last checkpoint (epoch ${history.at(-1)!.epoch}) is kept in ${f.checkpointDir}` : '';
        throw new Error(`${(e as Error).message}${kept}`);
      }
      if (epoch % f.reportEvery !== 0 && epoch !== f.epochs) continue;
      const state = trainer.snapshot();
      const info = trainer.info;
      const record: WrbmRecord = {
        epoch,
        updates: state.step,
        wasserstein: info.wasserstein,
        transport_cost: info.transportCost,
        sinkhorn_iterations: info.sinkhornIterations,
      };
      if (exact) record.train_loglik_exact = await meanLogProb(trainer.params, data.x, await exactLogZ(trainer.params, opts), opts);
      history.push(record);
      if (!f.quiet) {
        const ll = record.train_loglik_exact === undefined ? '' : `, exact train log-likelihood ${record.train_loglik_exact.toFixed(4)} nats`;
        process.stdout.write(
          `epoch ${epoch}/${f.epochs}: W_γ(data, chains) ${info.wasserstein.toFixed(4)}, transport cost ${info.transportCost.toFixed(4)}, ${info.sinkhornIterations} Sinkhorn iterations${ll}\n`,
        );
      }
      if (f.checkpointDir) await writeRbmCheckpoint(f.checkpointDir, { settings, state, history });
    }
  } finally {
    await trainer.release();
  }
  await saveRbmModel(f, trainer.params, { settings, centered: opts.centered, threads: opts.threads, history, started });
}

interface RestoreFlags extends DataFlags {
  model: string;
  out: string;
  probabilities?: string;
  corrupted?: string;
  sweeps: number;
  burnIn: number;
  json?: boolean;
}

interface CompleteFlags extends RestoreFlags {
  mask?: string;
  missing?: number;
}

interface DenoiseFlags extends RestoreFlags {
  flipRate?: number;
  flip?: number;
}

function readMask(path: string, size: number): Float32Array {
  let t;
  try {
    t = readNpy(readFileSync(path));
  } catch (e) {
    throw new Error(`cannot read --mask ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (t.data.length !== size) throw new Error(`--mask ${path} has ${t.data.length} values; the data have ${size}`);
  return Float32Array.from(t.data as ArrayLike<number>, Number);
}

const fraction = (flag: string, v: number | undefined, max = 1) => {
  if (v !== undefined && !(v > 0 && v < max)) throw new Error(`${flag} must be in (0, ${max}), got ${v}`);
};

async function restore(
  f: RestoreFlags,
  mode: 'complete' | 'denoise',
  prepare: (x: Float32Array, nv: number) => { input: Float32Array; clean?: Float32Array; mask?: Float32Array; rate?: number },
) {
  const outputs = [{ flag: '--out', path: f.out, ext: ['.npy'] }];
  if (f.probabilities) outputs.push({ flag: '--probabilities', path: f.probabilities, ext: ['.npy'] });
  if (f.corrupted) outputs.push({ flag: '--corrupted', path: f.corrupted, ext: ['.npy'] });
  checkOutputFiles(outputs);
  const p = rbmFromOnnx(readModelBytes(f.model), f.model);
  const data = loadBinaryData(f.data, f);
  if (data.nv !== p.nv) throw new Error(`${f.data} has ${data.nv} values per sample; the model ${basename(f.model)} has ${p.nv} visible units`);
  const { input, clean, mask, rate } = prepare(data.x, data.nv);
  const o = { sweeps: f.sweeps, burnIn: f.burnIn, seed: f.seed, threads: f.threads ?? 0 };
  const r = mode === 'complete' ? await completeRbm(p, input, mask!, o) : await denoiseRbm(p, input, rate!, o);
  const npy = (x: Float32Array) => encodeNpy(float32([data.n, data.nv], x));
  const files: [string, Uint8Array][] = [[f.out, npy(r.restored)]];
  if (f.probabilities) files.push([f.probabilities, npy(r.probabilities)]);
  if (f.corrupted) files.push([f.corrupted, npy(input)]);
  await writeFilesAtomic(files);
  const summary: Record<string, number | string> = { mode, samples: data.n };
  if (clean) {
    if (!mask) summary.error_before = meanHamming(input, clean, data.nv);
    summary.error_after = meanHamming(r.restored, clean, data.nv);
    if (mask) summary.missing_per_sample = mask.reduce((s, v) => s + v, 0) / data.n;
  }
  if (f.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else if (!f.quiet) {
    const err = clean
      ? mask
        ? `; mean Hamming error per sample ${(summary.error_after as number).toFixed(3)} over ${(summary.missing_per_sample as number).toFixed(2)} missing units`
        : `; mean Hamming error per sample ${(summary.error_before as number).toFixed(3)} → ${(summary.error_after as number).toFixed(3)}`
      : '';
    process.stdout.write(`wrote ${f.out}: ${data.n} samples${err}\n`);
  }
}

async function completeCommand(f: CompleteFlags): Promise<void> {
  if ((f.mask === undefined) === (f.missing === undefined))
    throw new Error('give either --mask (missing units of the data) or --missing (hide a random fraction to measure the error)');
  fraction('--missing', f.missing);
  await restore(f, 'complete', (x) => {
    if (f.mask) return { input: x, mask: readMask(f.mask, x.length) };
    const rng = rngFor(f.seed, 'corrupt-missing');
    const mask = Float32Array.from(x, () => (rng() < f.missing! ? 1 : 0));
    return { input: Float32Array.from(x, (v, k) => (mask[k] ? 0 : v)), clean: x, mask };
  });
}

async function denoiseCommand(f: DenoiseFlags): Promise<void> {
  fraction('--flip', f.flip, 0.5);
  fraction('--flip-rate', f.flipRate, 0.5);
  const rate = f.flipRate ?? f.flip;
  if (rate === undefined) throw new Error('give --flip-rate (the noise of the data) or --flip (flip a fraction of clean data to measure the error)');
  await restore(f, 'denoise', (x) => {
    if (f.flip === undefined) return { input: x, rate };
    const rng = rngFor(f.seed, 'corrupt-flip');
    return { input: Float32Array.from(x, (v) => (rng() < f.flip! ? 1 - v : v)), clean: x, rate };
  });
}

function restoreOptions(cmd: Command): Command {
  cmd
    .requiredOption('--model <file>', 'RBM saved by relprop rbm train (.onnx)')
    .requiredOption('--out <file>', 'restored binary data (.npy [samples, visible])')
    .option('--probabilities <file>', 'also write the posterior mean of every unit (.npy)')
    .option('--corrupted <file>', 'also write the input as corrupted (.npy)')
    .option('--sweeps <n>', 'Gibbs sweeps averaged', posInt('--sweeps'), 50)
    .option('--burn-in <n>', 'Gibbs sweeps discarded first', nonNegInt('--burn-in'), 50)
    .option('--json', 'print a JSON summary');
  dataOptions(cmd, 'test');
  seedOption(cmd, 'Gibbs sampling, corruption, --binarize sample', 0);
  return quietOption(threadsOption(cmd));
}

/** `relprop rbm complete` and `relprop rbm denoise`. */
export function registerRbmRestoreCommands(rbm: Command): void {
  const complete = rbm
    .command('complete')
    .description('fill in missing units by Gibbs sampling with the observed ones clamped; output the per-unit posterior mode')
    .option('--mask <file>', '.npy of the data’s size: 1 where a unit is missing')
    .option('--missing <fraction>', 'hide this fraction of the units at random (seeded) and report the error against the data', num('--missing'));
  restoreOptions(complete).action(async (opts) => completeCommand(opts));
  const denoise = rbm
    .command('denoise')
    .description('denoise data with independently flipped units by sampling the posterior p(v | noisy v); output the per-unit posterior mode')
    .option('--flip-rate <ρ>', 'the data’s flip probability ρ in (0, 0.5)', num('--flip-rate'))
    .option('--flip <fraction>', 'flip this fraction of the units of clean data at random (seeded) and report the error', num('--flip'));
  restoreOptions(denoise).action(async (opts) => denoiseCommand(opts));
}
