/**
 * Atomic file writes. Every output file of relprop goes through here so that a crash, a full
 * disk or Ctrl-C never leaves a half-written explainer, .npy or PNG behind under the final name:
 * readers see either the old file or the complete new one.
 */
import { accessSync, closeSync, constants, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';

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
 * Write a set of files all or none: every file goes to a temp file beside its target first, and
 * only when all of them are complete are they renamed into place. A failure while writing
 * removes the temp files and leaves every target untouched.
 */
export async function writeFilesAtomic(files: [string, FileData][]): Promise<void> {
  // A folder in the way would only fail at its rename, after the files before it were moved in.
  for (const [path] of files) if (existsSync(path) && statSync(path).isDirectory()) throw new Error(`cannot write ${path}: it is a folder`);
  const temps: [string, string][] = [];
  try {
    for (const [path, data] of files) {
      const tmp = tempPathFor(path);
      try {
        const handle = await open(tmp, 'wx', 0o666);
        temps.push([tmp, path]);
        try {
          await handle.writeFile(toBytes(data));
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch (err) {
        throw cannotWrite(path, err);
      }
    }
    // Renames within one folder do not fail for want of space; this is the all-or-none point.
    while (temps.length > 0) {
      const [tmp, path] = temps[0]!;
      try {
        await rename(tmp, path);
      } catch (err) {
        throw cannotWrite(path, err);
      }
      temps.shift();
    }
  } finally {
    for (const [tmp] of temps) await unlink(tmp).catch(() => undefined);
  }
  for (const dir of new Set(files.map(([p]) => dirname(resolve(p))))) syncDirectory(dir);
}

/** Write `files` (names inside `dir`) all or none, creating `dir` if needed, and removing it again if it was created and writing failed. */
export async function writeOutputFolder(dir: string, files: [string, FileData][]): Promise<void> {
  const created = ensureDir(dir);
  try {
    await writeFilesAtomic(files.map(([name, data]) => [join(dir, name), data]));
  } catch (err) {
    removeFolders(created);
    throw err;
  }
}

/** Remove folders that {@link ensureDir} created, deepest first, where they are empty (a folder that is not is left alone). */
export function removeFolders(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty or already gone: leave it
    }
  }
}

/** An output file named on the command line: its flag (for messages) and the extensions its format needs. */
export interface OutputFile {
  flag: string;
  path: string;
  /** Allowed extensions, with the dot, lower case; the first names the format. */
  ext: string[];
}

/** The folder an output goes into must exist, be a folder and be writable. */
function checkParent(path: string): void {
  const dir = dirname(resolve(path));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new Error(`cannot write ${path}: its folder does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`cannot write ${path}: ${dirname(path)} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new Error(`cannot write ${path}: permission denied`);
  }
}

/**
 * Refuse, before any work is done, outputs that could not be written or would be written under a
 * misleading name: an extension that is not the format's, a missing or read-only folder, a
 * folder in the way, two outputs on one file.
 */
export function checkOutputFiles(outputs: OutputFile[], opts: { createFolders?: boolean } = {}): void {
  const seen = new Map<string, string>();
  for (const o of outputs) {
    const ext = extname(o.path).toLowerCase();
    if (!o.ext.includes(ext)) throw new Error(`${o.flag} ${o.path}: the file is written as ${o.ext[0]}; give it a name ending in ${o.ext.join(' or ')}`);
    if (opts.createFolders) checkOutputFolder(o.flag, dirname(o.path));
    else checkParent(o.path);
    if (existsSync(o.path) && statSync(o.path).isDirectory()) throw new Error(`cannot write ${o.path}: it is a folder`);
    const key = resolve(o.path);
    const other = seen.get(key);
    if (other) throw new Error(`${other} and ${o.flag} name the same file ${o.path}`);
    seen.set(key, o.flag);
  }
}

/** An output folder: either a folder that can be written into, or a path that can be created (its nearest existing parent is a writable folder). */
export function checkOutputFolder(flag: string, dir: string): void {
  let d = resolve(dir);
  while (!existsSync(d)) {
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  if (!statSync(d).isDirectory()) throw new Error(`${flag} ${dir}: ${d} is a file, not a folder`);
  try {
    accessSync(d, constants.W_OK);
  } catch {
    throw new Error(`${flag} ${dir}: cannot write into ${d}: permission denied`);
  }
}

/**
 * Create a folder and its missing parents, one level at a time (Node's recursive mkdir can spin
 * forever on some virtual file systems such as /proc); errors name the folder. Returns the
 * folders it created, outermost first.
 */
export function ensureDir(dir: string): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    missing.unshift(d);
    const parent = dirname(d);
    if (parent === d) break;
    d = parent;
  }
  const created: string[] = [];
  for (const m of missing) {
    try {
      mkdirSync(m);
    } catch (err) {
      removeFolders(created);
      throw new Error(`cannot create folder ${m}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    created.push(m);
  }
  return created;
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
