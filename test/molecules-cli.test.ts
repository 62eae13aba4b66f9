/** `relprop molecules baselines|train` on the vendored 60-molecule sample: tables, JSON, models, and bad input. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { relprop } from './helpers/cli.js';

const DATA = 'test/fixtures/molecules/sample.jsonl';
const tmp = mkdtempSync(join(tmpdir(), 'relprop-molecules-'));
const TARGETS = 'gfn2.atomization_energy_kcal_mol,pbe0_631g.homo_eV';

describe('relprop molecules', () => {
  it('baselines: mean predictor and KRR per target, in units, JSON with the split and the chosen σ, λ', async () => {
    const out = join(tmp, 'b.json');
    const r = await relprop(['molecules', 'baselines', DATA, '--targets', TARGETS, '--folds', '3', '--krr-cv-size', '30', '--quiet', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/mean predictor\s+gfn2\.atomization_energy_kcal_mol\s+kcal\/mol\s+20 /);
    expect(r.stdout).toMatch(/KRR laplacian eigenspectrum\s+pbe0_631g\.homo_eV\s+eV\s+13 /);
    const j = JSON.parse(readFileSync(out, 'utf8'));
    expect(j.split).toMatchObject({ folds: 3, testFold: 0, seed: 0, train: 40, test: 20 });
    expect(j.split.testIds).toHaveLength(20);
    expect(j.results).toHaveLength(2 * 5);
    expect(j.krr.chosen['KRR gaussian sorted'][0].sigma).toBeGreaterThan(0);
  }, 60_000);

  it('one test fold whatever the targets: the split is stratified by the default target set', async () => {
    const fold = async (targets: string) => {
      const out = join(tmp, `split-${targets.length}.json`);
      const r = await relprop([
        'molecules',
        'baselines',
        DATA,
        '--targets',
        targets,
        '--folds',
        '3',
        '--kernels',
        'gaussian',
        '--representations',
        'eigenspectrum',
        '--krr-cv-size',
        '30',
        '--quiet',
        '--out',
        out,
      ]);
      expect(r.code).toBe(0);
      return JSON.parse(readFileSync(out, 'utf8')).split.testIds;
    };
    const both = await fold(TARGETS);
    expect(await fold('pbe0_631g.homo_eV')).toEqual(both);
    expect(await fold('gfn2.dipole_debye')).toEqual(both);
  }, 60_000);

  it('train: the network scored on the test fold, the model and its pipeline saved together', async () => {
    const model = join(tmp, 'qm.onnx');
    const r = await relprop([
      'molecules',
      'train',
      DATA,
      '--targets',
      TARGETS,
      '--folds',
      '3',
      '--epochs',
      '2',
      '--test-realisations',
      '2',
      '--threads',
      '1',
      '--quiet',
      '--model',
      model,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/network \(2 random CMs\)\s+pbe0_631g\.homo_eV\s+eV\s+13 /);
    const card = JSON.parse(readFileSync(join(tmp, 'qm.json'), 'utf8'));
    expect(card.targets).toEqual(TARGETS.split(','));
    expect(card.expansion.offsets.at(-1)).toBeGreaterThan(276);
    expect(existsSync(model)).toBe(true);
  }, 60_000);

  it('bad input: one error line naming the file, line and molecule; nothing written', async () => {
    const bad = join(tmp, 'bad.jsonl');
    const lines = readFileSync(DATA, 'utf8').split('\n');
    lines[4] = lines[4]!.replace('"Z":[', '"Z":[99,').replace('"xyz":[', '"xyz":[[9,9,9],');
    writeFileSync(bad, lines.join('\n'));
    const out = join(tmp, 'never.json');
    const r = await relprop(['molecules', 'baselines', bad, '--quiet', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`relprop: error: ${bad}:5: molecule id 4, atom 1: unknown element (nuclear charge 99)\n`);
    expect(existsSync(out)).toBe(false);
    const r2 = await relprop(['molecules', 'train', DATA, '--targets', 'gfn2.homo', '--quiet', '--out', out]);
    expect(r2.stderr).toBe(`relprop: error: ${DATA}:1: molecule id 0 has no numeric "homo" at level "gfn2" (target gfn2.homo)\n`);
    const r3 = await relprop(['molecules', 'train', DATA, '--size', '10', '--quiet']);
    expect(r3.stderr).toMatch(/^relprop: error: test\/fixtures\/molecules\/sample\.jsonl:\d+: molecule id \d+: \d+ atoms, more than --size 10\n$/);
    expect(existsSync(out)).toBe(false);
    // The results must not land where the model's pipeline JSON goes (nor the reverse).
    const clash = await relprop(['molecules', 'train', DATA, '--out', join(tmp, 'm.json'), '--model', join(tmp, 'm.onnx'), '--quiet']);
    expect(clash.stderr).toMatch(/^relprop: error: --out .*m\.json is where the model's pipeline goes .*; choose another name\n$/);
    expect(existsSync(join(tmp, 'm.json')) || existsSync(join(tmp, 'm.onnx'))).toBe(false);
  });
});
