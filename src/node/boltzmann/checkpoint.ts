/**
 * RBM training checkpoints: one JSON file per run folder, replaced atomically after every epoch.
 * Float32 arrays are stored as base64 of their bytes so that a resumed run continues bit for bit.
 * The settings that shape the run are stored too; resuming with other settings is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RbmState } from '../../core/boltzmann/train.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';

export const CHECKPOINT_FILE = 'rbm-checkpoint.json';

/** Float32 arrays as base64 of their bytes, and back: bit-exact in JSON. */
export const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
export const f32 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.length / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
};

export interface RbmCheckpoint<H> {
  settings: Record<string, unknown>;
  state: RbmState;
  history: H[];
}

export async function writeRbmCheckpoint<H>(dir: string, c: RbmCheckpoint<H>): Promise<void> {
  const p = c.state.params;
  const json = {
    format: 'relprop-rbm-checkpoint',
    version: 1,
    settings: c.settings,
    epoch: c.state.epoch,
    step: c.state.step,
    history: c.history,
    nv: p.nv,
    nh: p.nh,
    params: { W: b64(p.W), a: b64(p.a), c: b64(p.c), ov: b64(p.ov), oh: b64(p.oh) },
    chains: c.state.chains ? b64(c.state.chains) : null,
  };
  ensureDir(dir);
  await writeFileAtomic(join(dir, CHECKPOINT_FILE), JSON.stringify(json));
}

export function readRbmCheckpoint<H>(dir: string): RbmCheckpoint<H> | undefined {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  let j: {
    format?: string;
    settings: Record<string, unknown>;
    epoch: number;
    step: number;
    history: H[];
    nv: number;
    nh: number;
    params: Record<'W' | 'a' | 'c' | 'ov' | 'oh', string>;
    chains: string | null;
  };
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  if (j.format !== 'relprop-rbm-checkpoint') throw new Error(`${path} is not an RBM checkpoint written by relprop`);
  const P = j.params;
  const params = { nv: j.nv, nh: j.nh, W: f32(P.W), a: f32(P.a), c: f32(P.c), ov: f32(P.ov), oh: f32(P.oh) };
  if (params.W.length !== j.nv * j.nh || params.a.length !== j.nv || params.c.length !== j.nh)
    throw new Error(`checkpoint ${path} is damaged (parameter sizes do not match ${j.nv}-${j.nh})`);
  return { settings: j.settings, history: j.history, state: { params, chains: j.chains ? f32(j.chains) : null, epoch: j.epoch, step: j.step } };
}
