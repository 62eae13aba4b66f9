/**
 * DBM training checkpoints: one JSON file per run folder, replaced atomically after every epoch,
 * float32 arrays as base64 of their bytes so that a resumed run continues bit for bit (the same
 * scheme as the RBM's checkpoint.ts). The settings that shape the run are stored too.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DbmState } from '../../core/boltzmann/dbm-train.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';
import { b64, f32 } from './checkpoint.js';

export const DBM_CHECKPOINT_FILE = 'dbm-checkpoint.json';

export interface DbmCheckpoint<H> {
  settings: Record<string, unknown>;
  state: DbmState;
  history: H[];
}

export async function writeDbmCheckpoint<H>(dir: string, c: DbmCheckpoint<H>): Promise<void> {
  const p = c.state.params;
  const json = {
    format: 'relprop-dbm-checkpoint',
    version: 1,
    settings: c.settings,
    epoch: c.state.epoch,
    step: c.state.step,
    history: c.history,
    sizes: p.sizes,
    params: { W: p.W.map(b64), b: p.b.map(b64), o: p.o.map(b64) },
    chains: c.state.chains.map(b64),
  };
  ensureDir(dir);
  await writeFileAtomic(join(dir, DBM_CHECKPOINT_FILE), JSON.stringify(json));
}

export function readDbmCheckpoint<H>(dir: string): DbmCheckpoint<H> | undefined {
  const path = join(dir, DBM_CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  let j: {
    format?: string;
    settings: Record<string, unknown>;
    epoch: number;
    step: number;
    history: H[];
    sizes: number[];
    params: Record<'W' | 'b' | 'o', string[]>;
    chains: string[];
  };
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  if (j.format !== 'relprop-dbm-checkpoint') throw new Error(`${path} is not a DBM checkpoint written by relprop`);
  const { sizes } = j;
  const params = { sizes, W: j.params.W.map(f32), b: j.params.b.map(f32), o: j.params.o.map(f32) };
  const ok =
    params.W.length === sizes.length - 1 &&
    params.W.every((w, l) => w.length === sizes[l]! * sizes[l + 1]!) &&
    params.b.every((b, l) => b.length === sizes[l]) &&
    params.o.every((o, l) => o.length === sizes[l]) &&
    j.chains.length === sizes.length;
  if (!ok) throw new Error(`checkpoint ${path} is damaged (parameter sizes do not match ${sizes.join('-')})`);
  return { settings: j.settings, history: j.history, state: { params, chains: j.chains.map(f32), epoch: j.epoch, step: j.step } };
}
