/**
 * Where a region-perturbation run keeps its finished chunks, so that a stopped run resumes where
 * it stopped. The core only appends and reads back; how the chunks are kept is the caller's
 * choice: Node keeps them in a JSON-lines file (src/node/evaluate/progress.ts), a page could keep
 * them in memory or IndexedDB.
 */
import type { ChunkWork } from './chunk.js';
import type { ResolvedSettings } from './settings.js';

/** One sample's curves for one method: the unit of the results and of the progress store. */
export interface SampleRecord {
  chunk: number;
  /** Position in the evaluated set (0-based). */
  i: number;
  /** Index in the source data set (with --offset). */
  id: number;
  method: string;
  label?: number;
  target: number;
  predicted: number;
  /** f(x^(k)), k = 0..L, MoRF and LeRF (averaged over repetitions), as float32 values. */
  morf: number[];
  lerf: number[];
  png?: number;
  entropy?: number;
}

/** The finished chunks of one run (one settings hash), open for appending. */
export interface ProgressLog {
  /** Records of finished chunks, by chunk; grows with append. */
  readonly done: ReadonlyMap<number, SampleRecord[]>;
  /** Work of the finished chunks (ms and counts, by kind, as given to append); grows with append. */
  readonly spent: Readonly<Record<string, number>>;
  /** Keep a finished chunk: its records and the work it took. */
  append(chunk: number, records: SampleRecord[], spent: ChunkWork): void | Promise<void>;
}

export interface ProgressStore {
  /**
   * Start or resume the run whose results are determined by `hash` (`settings` is its readable
   * record). Chunks kept under another hash must be refused (an error), never mixed in.
   */
  open(hash: string, settings: ResolvedSettings): Promise<ProgressLog>;
}

/** Progress in memory: resumes within one process (tests, a page that keeps nothing). */
export function memoryProgress(): ProgressStore {
  let held: { hash: string; log: ProgressLog } | undefined;
  return {
    async open(hash) {
      if (held && held.hash !== hash && held.log.done.size > 0) {
        throw new Error(
          'the progress in memory was written by an evaluation with other settings (model, data, methods, region size, steps, replacement, seed, …); rerun with the same settings to resume, or start a new store',
        );
      }
      if (!held || held.hash !== hash) held = { hash, log: memoryLog() };
      return held.log;
    },
  };
}

function memoryLog(): ProgressLog {
  const done = new Map<number, SampleRecord[]>();
  const spent: Record<string, number> = {};
  return {
    done,
    spent,
    append(chunk, records, work) {
      done.set(chunk, records);
      for (const [k, v] of Object.entries(work)) spent[k] = (spent[k] ?? 0) + v;
    },
  };
}
