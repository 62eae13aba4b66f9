/**
 * `relprop molecules predict|explain` end to end: a tiny network trained by the CLI on the vendored
 * sample, molecules from XYZ and JSONL, the per-atom relevance files (JSON, SVG, PNG, HTML) and
 * their bookkeeping, and bad input (one error line, non-zero exit, nothing written).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { relprop } from './helpers/cli.js';

const DATA = 'test/fixtures/molecules/sample.jsonl';
const TARGETS = ['gfn2.atomization_energy_kcal_mol', 'gfn2.homo_eV'];
const tmp = mkdtempSync(join(tmpdir(), 'relprop-qm-use-'));
const MODEL = join(tmp, 'qm.onnx');
const XYZ = join(tmp, 'two.xyz');
const WATER = '3\nwater\nO 0.0 0.0 0.1173\nH 0.0 0.7572 -0.4692\nH 0.0 -0.7572 -0.4692\n';
const ETHANOL = `9
ethanol
C  -0.0012  -0.0058   0.0000
C   1.5095   0.0016   0.0000
O   2.0006   1.3290   0.0000
H  -0.3871  -1.0268   0.0000
H  -0.3950   0.5040   0.8855
H  -0.3950   0.5040  -0.8855
H   1.8783  -0.5188   0.8859
H   1.8783  -0.5188  -0.8859
H   2.9606   1.2891   0.0000
`;

beforeAll(async () => {
  writeFileSync(XYZ, `${WATER}\n${ETHANOL}`);
  const r = await relprop([
    ...['molecules', 'train', DATA, '--targets', TARGETS.join(','), '--folds', '3', '--epochs', '3', '--hidden', '16,8'],
    ...['--test-realisations', '3', '--threads', '1', '--quiet', '--model', MODEL],
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}, 60_000);

describe('relprop molecules predict', () => {
  it('every property of every molecule of an XYZ file, as a table and as JSON', async () => {
    const r = await relprop(['molecules', 'predict', MODEL, XYZ, '--threads', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^molecule 1 \("water"\) \(3 atoms\)\n {2}gfn2\.atomization_energy_kcal_mol +-?\d+\.?\d* kcal\/mol\n {2}gfn2\.homo_eV +-?\d+\.?\d* eV\n/,
    );
    expect(r.stdout).toContain('molecule 2 ("ethanol") (9 atoms)');
    const out = join(tmp, 'pred.json');
    const j = await relprop(['molecules', 'predict', MODEL, XYZ, '--json', '--out', out]);
    const parsed = JSON.parse(j.stdout);
    expect(parsed).toEqual(JSON.parse(readFileSync(out, 'utf8')));
    expect(parsed.units).toEqual({ [TARGETS[0]!]: 'kcal/mol', [TARGETS[1]!]: 'eV' });
    expect(parsed.molecules.map((m: { name: string }) => m.name)).toEqual(['1 ("water")', '2 ("ethanol")']);
    expect(Object.keys(parsed.molecules[1].properties)).toEqual(TARGETS);
  });
});

describe('relprop molecules explain', () => {
  it('per-atom relevance: JSON, SVG and PNG per molecule, one HTML page; the numbers add up', async () => {
    const dir = join(tmp, 'explain');
    const r = await relprop(['molecules', 'explain', MODEL, XYZ, '--property', 'homo_eV', '--out', dir, '--threads', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^molecule 1 \("water"\): gfn2\.homo_eV = -?[\d.]+ eV \(training mean/);
    expect(r.stdout).toMatch(/\n {4}3 O +-?[\d.e+-]+ eV\n/);
    const j = JSON.parse(readFileSync(join(dir, 'relevance.json'), 'utf8'));
    expect(j.property).toBe('gfn2.homo_eV');
    expect(j.realisations).toBe(3);
    expect(j.molecules.map((m: { atoms: number[] }) => m.atoms.length)).toEqual([3, 9]);
    for (const m of j.molecules) {
      const sum = m.atoms.reduce((a: number, b: number) => a + b, 0);
      expect(sum + m.padding).toBeCloseTo(m.relevance, 9);
      expect(m.relevance + m.absorbed).toBeCloseTo(m.prediction - m.baseline, 9);
      // The atoms' pair matrix is symmetric.
      const n = m.atoms.length;
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) expect(m.pairs[a * n + b]).toBeCloseTo(m.pairs[b * n + a], 12);
    }
    // The explanation's prediction is predict's.
    const p = JSON.parse((await relprop(['molecules', 'predict', MODEL, XYZ, '--json'])).stdout);
    j.molecules.forEach((m: { prediction: number }, k: number) => expect(m.prediction).toBeCloseTo(p.molecules[k].properties['gfn2.homo_eV'], 4));
    const svg = readFileSync(join(dir, 'molecule-2.svg'), 'utf8');
    expect(svg.match(/<circle /g)).toHaveLength(9);
    expect(svg.match(/<line /g)).toHaveLength(8); // ethanol's 8 bonds, by distance
    expect(readFileSync(join(dir, 'molecule-1.png')).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toContain('<h2>2 (&quot;ethanol&quot;)</h2>');
  });

  it('JSONL molecules keep their ids: the data set’s random matrices, the same predictions as predict', async () => {
    const dir = join(tmp, 'explain-jsonl');
    const r = await relprop(['molecules', 'explain', MODEL, DATA, '--property', 'gfn2.atomization_energy_kcal_mol', '--out', dir, '--no-png']);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, 'molecule-60.svg'))).toBe(true);
    expect(existsSync(join(dir, 'molecule-1.png'))).toBe(false);
    const p = JSON.parse((await relprop(['molecules', 'predict', MODEL, DATA, '--json'])).stdout);
    const j = JSON.parse(readFileSync(join(dir, 'relevance.json'), 'utf8'));
    expect(j.molecules[7].name).toBe(p.molecules[7].name);
    expect(j.molecules[7].prediction).toBeCloseTo(p.molecules[7].properties[TARGETS[0]!], 2);
  });

  it('bad input: one clear error line, non-zero exit, nothing written', async () => {
    const out = join(tmp, 'never');
    const cases: [string, string, RegExp][] = [
      ['unknown.xyz', '2\nbad one\nXx 0 0 0\nH 0 0 1\n', /^relprop: error: .*unknown\.xyz:3: molecule 1 \("bad one"\): unknown element "Xx"\n$/],
      [
        'overlap.xyz',
        `${WATER}\n3\ndup\nO 0 0 0\nH 0 0 1\nH 0 0 1.01\n`,
        /^relprop: error: .*overlap\.xyz: molecule 2 \("dup"\), line 11: overlaps line 10 \(distance 0\.010 Å\)\n$/,
      ],
      ['malformed.xyz', '2\nm\nH 0 0 0\nH 0 zero 1\n', /^relprop: error: .*malformed\.xyz:4: molecule 1 \("m"\): expected "Symbol x y z", got "H 0 zero 1"\n$/],
      [
        'big.xyz',
        `24\nchain\n${Array.from({ length: 24 }, (_, i) => `C ${1.5 * i} 0 0`).join('\n')}\n`,
        /^relprop: error: .*big\.xyz:1: molecule 1 \("chain"\): 24 atoms, more than the 23 the model's Coulomb matrices hold\n$/,
      ],
    ];
    for (const [name, text, want] of cases) {
      const f = join(tmp, name);
      writeFileSync(f, text);
      for (const cmd of name === 'big.xyz' ? ['explain', 'predict'] : ['explain']) {
        const r = await relprop(['molecules', cmd, MODEL, f, ...(cmd === 'explain' ? ['--property', 'homo', '--out', out] : ['--out', `${out}.json`])]);
        expect(r.code, `${cmd} ${name}`).not.toBe(0);
        expect(r.stderr, `${cmd} ${name}`).toMatch(want);
        expect(r.stdout).toBe('');
      }
    }
    const noProp = await relprop(['molecules', 'explain', MODEL, XYZ, '--property', 'lumo', '--out', out]);
    expect(noProp.stderr).toBe('relprop: error: unknown property "lumo"; the model predicts gfn2.atomization_energy_kcal_mol, gfn2.homo_eV\n');
    const noPipeline = join(tmp, 'lonely.onnx');
    writeFileSync(noPipeline, readFileSync(MODEL));
    const np = await relprop(['molecules', 'predict', noPipeline, XYZ]);
    expect(np.stderr).toMatch(/^relprop: error: cannot read .*lonely\.json, the pipeline written beside the model by relprop molecules train --model\n$/);
    // A model beside another run's pipeline (the committed example's).
    const mixed = join(tmp, 'mixed.onnx');
    writeFileSync(mixed, readFileSync(MODEL));
    writeFileSync(join(tmp, 'mixed.json'), readFileSync('examples/molecules/model/qm-50-25.json'));
    const mx = await relprop(['molecules', 'explain', mixed, XYZ, '--property', 'homo_eV', '--out', out]);
    expect(mx.stderr).toMatch(
      /^relprop: error: .*mixed\.onnx reads \d+ features but its pipeline .*mixed\.json expands molecules to 3356: a model and a pipeline from different runs\n$/,
    );
    expect(existsSync(out) || existsSync(`${out}.json`)).toBe(false);
    // A write that cannot complete leaves nothing behind: index.html is a folder here.
    const blocked = join(tmp, 'blocked');
    mkdirSync(join(blocked, 'index.html'), { recursive: true });
    const w = await relprop(['molecules', 'explain', MODEL, XYZ, '--property', 'homo', '--out', blocked]);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/^relprop: error: cannot write .*index\.html: it is a folder\n$/);
    expect(existsSync(join(blocked, 'molecule-1.svg')) || existsSync(join(blocked, 'relevance.json'))).toBe(false);
  });
});
