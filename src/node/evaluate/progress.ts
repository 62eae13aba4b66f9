/**
 * The progress file of a long evaluation: JSON lines. The first line is a header with the hash of
 * everything that determines the results; then, per finished chunk of samples, one line per
 * (sample, method) and a closing chunk line. A chunk counts as finished only when its closing
 * line is there, so a run killed in the middle of a write redoes that chunk; a restart with the
 * same settings skips finished chunks. Chunks have fixed boundaries (the chunk size is part of
 * the hash) and every random stream is keyed by sample, so a resumed run computes exactly what
 * an uninterrupted one would. This is Node's implementation of the core's ProgressStore.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type { ProgressLog, ProgressStore, SampleRecord } from '../../core/evaluate/progress.js';
import { writeFileAtomic } from '../io/atomic.js';

/**
 * Node's progress store: a JSON-lines file, started when missing (or with `fresh`), else
 * resumed; a file written with other settings is refused.
 */
export function fileProgress(path: string, opts: { fresh?: boolean } = {}): ProgressStore {
  return { open: (hash, settings) => ProgressFile.open(path, hash, { ...settings, hash }, opts.fresh) };
}

interface Header {
  kind: 'header';
  version: 1;
  hash: string;
  config: unknown;
}

export class ProgressFile implements ProgressLog {
  private constructor(
    readonly path: string,
    readonly hash: string,
    /** Records of finished chunks, by chunk. */
    readonly done: Map<number, SampleRecord[]>,
    /** Work of the finished chunks (ms and counts, by kind, as stored with each chunk; grows with append). */
    readonly spent: Record<string, number> = {},
  ) {}

  /** Open (resume) or start a progress file. A file written with other settings is an error unless `fresh`. */
  static async open(path: string, hash: string, config: unknown, fresh = false): Promise<ProgressFile> {
    if (!fresh && existsSync(path)) {
      const { done, spent } = ProgressFile.read(path, hash);
      return new ProgressFile(path, hash, done, spent);
    }
    const header: Header = { kind: 'header', version: 1, hash, config };
    await writeFileAtomic(path, JSON.stringify(header) + '\n');
    return new ProgressFile(path, hash, new Map());
  }

  private static read(path: string, hash: string): { done: Map<number, SampleRecord[]>; spent: Record<string, number> } {
    const lines = splitLines(readFileSync(path));
    let header: Header | undefined;
    try {
      header = JSON.parse(lines.next().value ?? '') as Header;
    } catch {
      header = undefined;
    }
    if (header?.kind !== 'header') throw new Error(`${path} is not a relprop evaluation progress file; remove it or pass --fresh`);
    if (header.hash !== hash) {
      throw new Error(
        `${path} was written by an evaluation with other settings (model, data, methods, region size, steps, replacement, seed, …); rerun with the same settings to resume, or pass --fresh to start over`,
      );
    }
    const pending = new Map<number, SampleRecord[]>();
    const done = new Map<number, SampleRecord[]>();
    const spent: Record<string, number> = {};
    for (const line of lines) {
      if (line.trim() === '') continue;
      let obj: { kind?: string; chunk?: number; records?: number; spent?: Record<string, number> } & Partial<SampleRecord>;
      try {
        obj = JSON.parse(line) as typeof obj;
      } catch {
        continue; // a torn last line: its chunk has no closing line and is redone
      }
      if (obj.kind === 'sample') {
        const list = pending.get(obj.chunk!) ?? [];
        const { kind: _kind, ...rec } = obj;
        rec.morf = rec.morf!.map(Math.fround);
        rec.lerf = rec.lerf!.map(Math.fround);
        list.push(rec as SampleRecord);
        pending.set(obj.chunk!, list);
      } else if (obj.kind === 'chunk') {
        const list = pending.get(obj.chunk!) ?? [];
        if (list.length === obj.records) {
          done.set(obj.chunk!, list);
          for (const [k, v] of Object.entries(obj.spent ?? {})) spent[k] = (spent[k] ?? 0) + v;
        }
        pending.delete(obj.chunk!);
      }
    }
    return { done, spent };
  }

  /** Append a finished chunk: its records and the closing line (with the time it took), in one write, fsynced. */
  append(chunk: number, records: SampleRecord[], spent: Record<string, number> = {}): void {
    const text = records.map(recordLine).join('\n') + `\n${JSON.stringify({ kind: 'chunk', chunk, records: records.length, spent })}\n`;
    const fd = openSync(this.path, 'a');
    try {
      const buf = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.done.set(chunk, records);
    for (const [k, v] of Object.entries(spent)) this.spent[k] = (this.spent[k] ?? 0) + v;
  }
}

/** Whether the progress file at `path` records at least one finished chunk (false when there is no file). */
export function hasFinishedChunk(path: string): boolean {
  if (!existsSync(path)) return false;
  for (const line of splitLines(readFileSync(path))) if (line.startsWith('{"kind":"chunk"')) return true;
  return false;
}

/**
 * Remove a progress file that records no finished chunk (a header only: nothing to resume), as a
 * failed run's cleanup; one with finished chunks is kept so that the same command resumes.
 * Returns whether it removed the file.
 */
export function discardUnfinishedProgress(path: string): boolean {
  if (!existsSync(path) || hasFinishedChunk(path)) return false;
  unlinkSync(path);
  return true;
}

/** Lines of a (possibly large) file without building one string of all of it. */
function* splitLines(buf: Buffer): Generator<string> {
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    yield buf.toString('utf8', start, end);
    start = end + 1;
  }
}

/**
 * Curves are float32 values (see SampleRecord): written with the fewest digits that read back to
 * the same float32 (≤ 9), about half the size of a double's 17.
 */
export function float32Text(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  for (let p = 6; p < 9; p++) {
    const t = Number(v.toPrecision(p));
    if (Math.fround(t) === v) return String(t);
  }
  return String(Number(v.toPrecision(9)));
}

function recordLine(r: SampleRecord): string {
  const { morf, lerf, ...rest } = r;
  const head = JSON.stringify({ kind: 'sample', ...rest });
  return `${head.slice(0, -1)},"morf":[${morf.map(float32Text).join(',')}],"lerf":[${lerf.map(float32Text).join(',')}]}`;
}
