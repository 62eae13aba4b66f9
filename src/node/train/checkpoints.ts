/** Trainer checkpoints in a folder, written atomically. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointStore } from '../../core/train/checkpoint-store.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';

export function folderCheckpoints(dir: string): CheckpointStore {
  return {
    where: dir,
    async read(name) {
      const p = join(dir, name);
      return existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined;
    },
    async write(name, data) {
      ensureDir(dir);
      await writeFileAtomic(join(dir, name), data);
    },
  };
}
