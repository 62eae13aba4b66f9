/**
 * An FV fit's checkpoint folder: one JSON file per key (meta, pca, gmm, svm), each written
 * atomically, so that an interrupted `relprop fv train --checkpoint-dir DIR` continues with
 * `--resume` and ends with the model an uninterrupted run would have written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FitStore } from '../../core/fisher/fit.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';

export function folderStore(dir: string, resume: boolean): FitStore {
  ensureDir(dir);
  const path = (key: string) => join(dir, `${key}.json`);
  if (!resume && existsSync(path('meta'))) throw new Error(`${dir} holds a checkpoint of an FV fit: pass --resume to continue it, or choose another folder`);
  if (resume && !existsSync(path('meta'))) throw new Error(`--resume: no FV checkpoint in ${dir}`);
  return {
    async load(key) {
      if (!existsSync(path(key))) return undefined;
      try {
        return JSON.parse(readFileSync(path(key), 'utf8')) as unknown;
      } catch (e) {
        throw new Error(`cannot read checkpoint ${path(key)}: ${(e as Error).message}`);
      }
    },
    async save(key, value) {
      await writeFileAtomic(path(key), JSON.stringify(value));
    },
  };
}
