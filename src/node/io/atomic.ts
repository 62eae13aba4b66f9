/**
 * Atomic file writes. Every output file of relprop goes through here so that a crash, a full
 * disk or Ctrl-C never leaves a half-written explainer, .npy or PNG behind under the final name:
 * readers see either the old file or the complete new one.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

export type FileData = Uint8Array | string;

/**
 * The temp file lives in the target's directory because rename(2) is only atomic within one
 * file system; the random suffix keeps concurrent writers of the same target apart.
 */
function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function toBytes(data: FileData): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * fsync the directory so the rename itself survives a power loss. Not every platform lets a
 * directory be opened or synced (Windows), and the data is already safe, so failures are ignored.
 */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort, see above
  } finally {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // ignore
      }
    }
  }
}

/**
 * Write `data` to `path` atomically: write a temp file in the same directory, fsync it, rename it
 * over `path`. On any error the temp file is removed and the error is rethrown; an existing file
 * at `path` is left untouched.
 */
export async function writeFileAtomic(path: string, data: FileData): Promise<void> {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let created = false;
  try {
    // 'wx': never clobber a file we did not create (a leftover with the same random name).
    const handle = await open(tmp, 'wx', 0o666);
    created = true;
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    created = false;
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw cannotWrite(path, err);
  }
  syncDirectory(dirname(path));
}

/** Name the file the user asked for, not the temp file, in the error. */
function cannotWrite(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? (err as Error).message);
  return new Error(`cannot write ${path}: ${why}`);
}

/**
 * Create a folder and its missing parents, one level at a time (Node's recursive mkdir can spin
 * forever on some virtual file systems such as /proc); errors name the folder.
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.unshift(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      throw new Error(`cannot create folder ${m}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
}

/** Synchronous twin of {@link writeFileAtomic}, for code paths that cannot await (e.g. exit handlers). */
export function writeFileAtomicSync(path: string, data: FileData): void {
  const bytes = toBytes(data);
  const tmp = tempPathFor(path);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', 0o666);
    created = true;
    try {
      let off = 0;
      // writeSync may write fewer bytes than asked; loop until all are on disk.
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    created = false;
  } catch (err) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // the original error matters more than a failed cleanup
      }
    }
    throw cannotWrite(path, err);
  }
  syncDirectory(dirname(path));
}
