/**
 * What region perturbation keeps per finished chunk of samples, and the store that keeps it
 * across runs. The store is supplied by the caller (Node: a JSON-lines file,
 * src/node/evaluate/progress.ts), so the core itself does no file I/O.
 */
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

export interface ProgressStore {
  /** Records of finished chunks, by chunk. */
  readonly done: Map<number, SampleRecord[]>;
  /** Work of the finished chunks (ms and counts, by kind); grows with append. */
  readonly spent: Record<string, number>;
  /** Keep a finished chunk: its records and the work it took. */
  append(chunk: number, records: SampleRecord[], spent?: Record<string, number>): void;
}

/** Open (resume) or start the store at `path` for the run whose settings hash to `hash`; settings other than `hash` are an error unless `fresh`. */
export type ProgressOpener = (path: string, hash: string, config: unknown, fresh?: boolean) => Promise<ProgressStore>;
