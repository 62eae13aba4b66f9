import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../src/node/io/atomic.js';

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
