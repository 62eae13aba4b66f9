import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkOutputFiles, checkOutputFolder, writeFileAtomic, writeFileAtomicSync, writeFilesAtomic, writeOutputFolder } from '../src/node/io/atomic.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relprop-atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  ['writeFileAtomic', (p: string, d: Uint8Array | string) => writeFileAtomic(p, d)],
  ['writeFileAtomicSync', async (p: string, d: Uint8Array | string) => writeFileAtomicSync(p, d)],
])('%s', (_name, write) => {
  it('writes bytes and strings, leaving no temp file', async () => {
    const p = join(dir, 'out.bin');
    await write(p, new Uint8Array([1, 2, 3, 255]));
    expect([...(await readFile(p))]).toEqual([1, 2, 3, 255]);
    await write(join(dir, 'out.txt'), 'héllo');
    expect(await readFile(join(dir, 'out.txt'), 'utf8')).toBe('héllo');
    expect((await readdir(dir)).sort()).toEqual(['out.bin', 'out.txt']);
  });

  it('replaces an existing file completely (also with shorter content)', async () => {
    const p = join(dir, 'out.txt');
    await writeFile(p, 'a much longer old content');
    await write(p, 'new');
    expect(await readFile(p, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['out.txt']);
  });

  it('writes a subarray view, not its whole buffer', async () => {
    const p = join(dir, 'view.bin');
    const backing = new Uint8Array([9, 9, 1, 2, 9]);
    await write(p, backing.subarray(2, 4));
    expect([...(await readFile(p))]).toEqual([1, 2]);
  });

  it('removes the temp file and rethrows when the rename fails', async () => {
    // a non-empty directory under the target name makes rename() fail after the temp is written
    const target = join(dir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'keep'), 'x');
    await expect(write(target, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
    expect(await readdir(target)).toEqual(['keep']);
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(write(join(dir, 'missing', 'f.txt'), 'x')).rejects.toThrow(/cannot write .*f\.txt: its folder does not exist/);
    expect(await readdir(dir)).toEqual([]);
  });
});

it('concurrent writers of one path each leave a complete file and no temp files', async () => {
  const p = join(dir, 'race.txt');
  const contents = Array.from({ length: 20 }, (_, i) => `writer ${i} `.repeat(1000));
  await Promise.all(contents.map((c) => writeFileAtomic(p, c)));
  expect(contents).toContain(await readFile(p, 'utf8'));
  expect(await readdir(dir)).toEqual(['race.txt']);
});

describe('sets of files: all or none', () => {
  it('writeFilesAtomic: a file that cannot be written leaves the others untouched and no temp files', async () => {
    await writeFile(join(dir, 'a.txt'), 'old');
    await expect(
      writeFilesAtomic([
        [join(dir, 'a.txt'), 'new'],
        [join(dir, 'b.txt'), 'new'],
        [join(dir, 'missing', 'c.txt'), 'new'],
      ]),
    ).rejects.toThrow(/cannot write .*c\.txt: its folder does not exist/);
    expect((await readdir(dir)).sort()).toEqual(['a.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old');
    // a folder in the way is refused before anything is moved in
    await mkdir(join(dir, 'd.txt'));
    await expect(
      writeFilesAtomic([
        [join(dir, 'a.txt'), 'new'],
        [join(dir, 'd.txt'), 'new'],
      ]),
    ).rejects.toThrow(/cannot write .*d\.txt: it is a folder/);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('old');
    await writeFilesAtomic([
      [join(dir, 'a.txt'), 'new'],
      [join(dir, 'b.txt'), new Uint8Array([1])],
    ]);
    expect((await readdir(dir)).sort()).toEqual(['a.txt', 'b.txt', 'd.txt']);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('new');
  });

  it('writeOutputFolder: creates the folder only to fill it, and removes it when writing fails', async () => {
    const out = join(dir, 'x', 'y');
    await writeOutputFolder(out, [['f.txt', 'ok']]);
    expect(await readdir(out)).toEqual(['f.txt']);
    const out2 = join(dir, 'p', 'q');
    await expect(writeOutputFolder(out2, [['sub/f.txt', 'x']])).rejects.toThrow(/its folder does not exist/);
    expect((await readdir(dir)).sort()).toEqual(['x']);
  });

  it('checkOutputFiles and checkOutputFolder refuse before any work', async () => {
    await writeFile(join(dir, 'file'), '');
    const f = (path: string, ext = ['.npy']) => ({ flag: '--out', path, ext });
    expect(() => checkOutputFiles([f(join(dir, 'r.png'))])).toThrow(/--out .*r\.png: the file is written as \.npy; give it a name ending in \.npy/);
    expect(() => checkOutputFiles([f(join(dir, 'R.NPY'))])).not.toThrow();
    expect(() => checkOutputFiles([f(join(dir, 'no', 'r.npy'))])).toThrow(/its folder does not exist/);
    expect(() => checkOutputFiles([f(join(dir, 'file', 'r.npy'))])).toThrow(/is not a folder/);
    expect(() => checkOutputFiles([f(join(dir, 'no', 'r.npy'))], { createFolders: true })).not.toThrow();
    expect(() => checkOutputFiles([f(join(dir, 'a.npy')), { flag: '--other', path: join(dir, '.', 'a.npy'), ext: ['.npy'] }])).toThrow(
      /--out and --other name the same file/,
    );
    expect(() => checkOutputFolder('--out', join(dir, 'file'))).toThrow(/is a file, not a folder/);
    expect(() => checkOutputFolder('--out', join(dir, 'new', 'deeper'))).not.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['file']);
  });
});
