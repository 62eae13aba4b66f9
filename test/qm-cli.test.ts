/**
 * `relprop qm …`, the issue's name for `relprop molecules …`: the alias, `qm test` (a saved network
 * scored per property in the properties' units, the same numbers train printed for its test fold),
 * and bad molecules through predict and test: one error line naming the file, line and molecule,
 * a non-zero exit, nothing written.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { relprop } from './helpers/cli.js';

const DATA = 'test/fixtures/molecules/sample.jsonl';
const TARGETS = 'gfn2.atomization_energy_kcal_mol,pbe0_631g.homo_eV';
const tmp = mkdtempSync(join(tmpdir(), 'relprop-qm-'));
const MODEL = join(tmp, 'qm.onnx');
let trained = '';

beforeAll(async () => {
  const r = await relprop([
    ...['qm', 'train', DATA, '--targets', TARGETS, '--folds', '3', '--epochs', '2', '--hidden', '16,8'],
    ...['--test-realisations', '3', '--threads', '1', '--quiet', '--model', MODEL],
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  trained = r.stdout;
}, 60_000);

describe('relprop qm', () => {
  it('is relprop molecules: the same subcommands, test among them', async () => {
    const qm = await relprop(['qm', '--help']);
    const molecules = await relprop(['molecules', '--help']);
    expect(qm.code).toBe(0);
    expect(qm.stdout).toBe(molecules.stdout);
    for (const cmd of ['baselines', 'train', 'test', 'predict', 'explain']) expect(qm.stdout).toMatch(new RegExp(`^ {2}${cmd} \\[options\\]`, 'm'));
  });

  it('test: MAE and RMSE per property in its unit, the numbers train printed for the same test fold', async () => {
    const r = await relprop(['qm', 'test', MODEL, DATA, '--folds', '3', '--threads', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^network \(3 random CMs\)\s+gfn2\.atomization_energy_kcal_mol\s+kcal\/mol\s+20\s+\d/m);
    expect(r.stdout).toMatch(/^network \(3 random CMs\)\s+pbe0_631g\.homo_eV\s+eV\s+13\s+\d/m);
    expect(r.stdout).toBe(trained);
    // Another fold is another table; the long name works too.
    const other = await relprop(['molecules', 'test', MODEL, DATA, '--folds', '3', '--test-fold', '1']);
    expect(other.code).toBe(0);
    expect(other.stdout).not.toBe(trained);
  });

  it('test --all: every molecule, MAE ≤ RMSE, JSON written', async () => {
    const out = join(tmp, 'all.json');
    const r = await relprop(['qm', 'test', MODEL, DATA, '--all', '--out', out]);
    expect(r.code).toBe(0);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.molecules).toEqual({ all: 60 });
    expect(j.results.map((x: { target: string; unit: string; n: number }) => [x.target, x.unit, x.n])).toEqual([
      ['gfn2.atomization_energy_kcal_mol', 'kcal/mol', 60],
      ['pbe0_631g.homo_eV', 'eV', 40],
    ]);
    for (const x of j.results) {
      expect(x.mae).toBeGreaterThan(0);
      expect(x.mae).toBeLessThanOrEqual(x.rmse);
    }
  });

  it('bad molecules in predict (XYZ): one error line naming file, line and molecule; nothing written', async () => {
    const water = '3\nwater\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n';
    const cases: [string, string, RegExp][] = [
      ['unknown.xyz', `${water}2\nbad one\nXx 0 0 0\nH 0 0 1\n`, /^relprop: error: .*unknown\.xyz:8: molecule 2 \("bad one"\): unknown element "Xx"\n$/],
      [
        'big.xyz',
        `${water}\n24\nchain\n${Array.from({ length: 24 }, (_, i) => `C ${1.5 * i} 0 0`).join('\n')}\n`,
        /^relprop: error: .*big\.xyz:7: molecule 2 \("chain"\): 24 atoms, more than the 23 the model's Coulomb matrices hold\n$/,
      ],
      [
        'overlap.xyz',
        '3\ndup\nO 0 0 0\nH 0 0 1\nH 0 0 1\n',
        /^relprop: error: .*overlap\.xyz: molecule 1 \("dup"\), line 5: overlaps line 4 \(distance 0\.000 Å\)\n$/,
      ],
      ['malformed.xyz', `${water}2\nm\nH 0 0 0\nH 0 0\n`, /^relprop: error: .*malformed\.xyz:9: molecule 2 \("m"\): expected "Symbol x y z", got "H 0 0"\n$/],
    ];
    for (const [name, text, want] of cases) {
      const f = join(tmp, name);
      writeFileSync(f, text);
      const out = join(tmp, `${name}.json`);
      const r = await relprop(['qm', 'predict', MODEL, f, '--out', out]);
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toMatch(want);
      expect(r.stdout, name).toBe('');
      expect(existsSync(out), name).toBe(false);
    }
  });

  it('bad molecules in test (JSONL): one error line naming file, line and molecule; nothing written', async () => {
    const lines = readFileSync(DATA, 'utf8').split('\n');
    const edit = (k: number, f: (line: string) => string) => lines.map((l, i) => (i === k ? f(l) : l)).join('\n');
    const cases: [string, string, RegExp][] = [
      [
        'unknown.jsonl',
        edit(2, (l) => l.replace('"Z":[', '"Z":[99,').replace('"xyz":[', '"xyz":[[9,9,9],')),
        /:3: molecule id 2, atom 1: unknown element \(nuclear charge 99\)\n$/,
      ],
      [
        'big.jsonl',
        edit(3, (l) =>
          l
            .replace(/"Z":\[[^\]]*\]/, `"Z":[${new Array(24).fill(6).join(',')}]`)
            .replace(/"xyz":\[\[.*?\]\]/, `"xyz":[${Array.from({ length: 24 }, (_, i) => `[${1.5 * i},0,0]`).join(',')}]`),
        ),
        /:4: molecule id 3: 24 atoms, more than the 23 the model's Coulomb matrices hold\n$/,
      ],
      [
        'overlap.jsonl',
        edit(5, (l) => l.replace(/"xyz":\[(\[[^\]]*\])/, '"xyz":[$1,$1').replace('"Z":[', '"Z":[1,')),
        /:6: molecule id 5, atom 2: overlaps atom 1 \(distance 0\.000 Å\)\n$/,
      ],
      ['malformed.jsonl', edit(6, (l) => l.slice(0, 40)), /:7: not JSON \(/],
    ];
    for (const [name, text, want] of cases) {
      const f = join(tmp, name);
      writeFileSync(f, text);
      const out = join(tmp, `${name}.json`);
      const r = await relprop(['qm', 'test', MODEL, f, '--folds', '3', '--out', out]);
      expect(r.code, name).not.toBe(0);
      expect(r.stderr, name).toMatch(new RegExp(`^relprop: error: ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${want.source}`));
      expect(r.stderr.split('\n'), name).toHaveLength(2);
      expect(r.stdout, name).toBe('');
      expect(existsSync(out), name).toBe(false);
    }
  });
});
