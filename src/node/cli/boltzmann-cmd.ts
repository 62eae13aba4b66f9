/**
 * `relprop likelihood` and `relprop sample`: the commands that take any Boltzmann machine saved by
 * relprop (RBM or DBM, told apart by the model file) — the mean log-likelihood of data, exact or by
 * AIS (`rbm loglik` and `dbm loglik` are the same per kind), and PNG grids of Gibbs samples and of
 * first-layer filters.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { readBoltzmannModel } from '../../core/boltzmann/any-model.js';
import { chainMajor, filterGrid, tileShape, type TileShape, valueGrid } from '../../core/boltzmann/image-grid.js';
import { gibbsSamples } from '../../core/boltzmann/sample.js';
import type { RgbaImage } from '../../core/visualize/heatmap.js';
import { type LoglikFlags, loglikOptions, readModelBytes } from '../boltzmann/cli-common.js';
import { checkOutputFiles, type FileData, writeFilesAtomic } from '../io/atomic.js';
import { encodePng } from '../visualize/png.js';
import { loglikDbm } from './dbm-cmd.js';
import { quietOption, seedOption, threadsOption } from './options.js';
import { posInt } from './values.js';
import { loglikRbm } from './rbm-cmd.js';

async function likelihood(f: LoglikFlags): Promise<void> {
  const m = readBoltzmannModel(readModelBytes(f.model), f.model);
  if (m.kind === 'rbm') await loglikRbm(f, m.rbm);
  else await loglikDbm(f, m.dbm);
}

function shapeValue(v: string): TileShape {
  const m = /^(\d+)x(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new Error(`--shape needs HxW with positive integers (e.g. 28x28), got "${v}"`);
  return { height: Number(m[1]), width: Number(m[2]) };
}

interface SampleFlags {
  model: string;
  out?: string;
  samples: number;
  cols?: number;
  sweeps: number;
  snapshots: number;
  means?: boolean;
  filters?: string;
  filterCount: number;
  shape?: TileShape;
  scale: number;
  seed: number;
  threads?: number;
  quiet?: boolean;
}

async function sample(f: SampleFlags): Promise<void> {
  if (!f.out && !f.filters) throw new Error('nothing to write: pass --out (samples) and/or --filters (first-layer weights)');
  const outputs = [f.out && { flag: '--out', path: f.out, ext: ['.png'] }, f.filters && { flag: '--filters', path: f.filters, ext: ['.png'] }];
  checkOutputFiles(outputs.filter((o): o is { flag: string; path: string; ext: string[] } => !!o));
  const m = readBoltzmannModel(readModelBytes(f.model), f.model);
  const p = m.dbm;
  const shape = tileShape(p.sizes[0]!, f.shape);
  const png = (img: RgbaImage) => encodePng(img.rgba, img.width, img.height, f.scale);
  const files: [string, FileData][] = [];
  const said: string[] = [];
  if (f.out) {
    const s = await gibbsSamples(p, { chains: f.samples, sweeps: f.sweeps, snapshots: f.snapshots, seed: f.seed, threads: f.threads ?? 0 });
    const values = f.means ? s.visibleMean : s.visible;
    // One snapshot: the chains in rows of --cols. Several: one row per chain, its snapshots left to right.
    const C = f.samples;
    const S = f.snapshots;
    const n0 = p.sizes[0]!;
    const tiles = S > 1 ? chainMajor(values, C, S, n0) : values;
    const cols = S > 1 ? S : (f.cols ?? Math.ceil(Math.sqrt(C)));
    files.push([f.out, png(valueGrid(tiles, C * S, shape, cols))]);
    said.push(`${C * S} samples (${C} chains × ${S} snapshot${S > 1 ? 's' : ''}, ${f.sweeps} Gibbs sweeps each) to ${f.out}`);
  }
  if (f.filters) {
    const nh = p.sizes[1]!;
    const count = Math.min(f.filterCount, nh);
    const { image } = filterGrid(p.W[0]!, p.sizes[0]!, nh, count, shape, f.cols ?? Math.ceil(Math.sqrt(count)));
    files.push([f.filters, png(image)]);
    said.push(`${count} of ${nh} first-layer filters (largest weight norm first) to ${f.filters}`);
  }
  await writeFilesAtomic(files);
  if (!f.quiet) process.stdout.write(`${basename(f.model)} (${m.kind} ${p.sizes.join('-')}): wrote ${said.join('; ')}\n`);
}

export function registerBoltzmannCommands(program: Command): void {
  const ll = program
    .command('likelihood')
    .description('mean log-likelihood of binary data under an RBM or a DBM saved by relprop: log Z exact (small layers) or by AIS')
    .requiredOption('--model <file>', 'RBM or DBM saved by relprop rbm/dbm train (.onnx)');
  loglikOptions(ll);
  quietOption(threadsOption(ll)).action(async (opts) => likelihood(opts));

  const s = program
    .command('sample')
    .description('PNG grids of samples (block Gibbs sampling from random starts) and of first-layer filters of an RBM or a DBM saved by relprop')
    .requiredOption('--model <file>', 'RBM or DBM saved by relprop rbm/dbm train (.onnx)')
    .option('--out <file>', 'grid of samples (.png)')
    .option('--samples <n>', 'independent Gibbs chains', posInt('--samples'), 64)
    .option('--sweeps <n>', 'Gibbs sweeps before each snapshot', posInt('--sweeps'), 1000)
    .option('--snapshots <n>', 'snapshots per chain (> 1: one row per chain)', posInt('--snapshots'), 1)
    .option('--means', 'show the visible conditional means of the last sweep instead of binary states')
    .option('--filters <file>', 'grid of first-layer filters (.png; red positive, blue negative weights)')
    .option('--filter-count <n>', 'filters shown, largest weight norm first', posInt('--filter-count'), 100)
    .option('--cols <n>', 'tiles per row (default: a square grid)', posInt('--cols'))
    .option('--shape <HxW>', 'tile shape (default: square)', shapeValue)
    .option('--scale <n>', 'pixel repetition in the PNGs', posInt('--scale'), 2);
  seedOption(s, 'chain starts and Gibbs sampling', 0);
  quietOption(threadsOption(s)).action(async (opts) => sample(opts));
}
