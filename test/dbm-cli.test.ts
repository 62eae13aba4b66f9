/** `relprop dbm train` and `relprop dbm loglik` as a user runs them: outputs, resume, and bad input. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactDbmLogZ } from '../src/core/boltzmann/dbm-likelihood.js';
import { dbmFromOnnx } from '../src/core/boltzmann/dbm-model-file.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { openSession } from '../src/core/runtime.js';
import { barsNpy } from './helpers/bars.js';
import { relprop } from './helpers/cli.js';

const TRAIN = ['--hidden', '8,4', '--lr', '0.3', '--nu', '0.1', '--batch-size', '8', '--binarize', 'none', '--threads', '1'];

describe('relprop dbm', () => {
  it('trains, writes the model and its card, prints exact progress, and loglik reads the model back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-cli-'));
    const data = barsNpy(dir);
    const out = join(dir, 'm.onnx');
    const r = await relprop(['dbm', 'train', '--data', data, ...TRAIN, '--epochs', '60', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(61);
    const ll = lines.slice(0, 60).map((l) => Number(/exact train log-likelihood (-?[\d.]+)/.exec(l)![1]));
    expect(ll[59]!).toBeGreaterThan(ll[0]! + 1);
    const card = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    expect(card.kind).toBe('dbm');
    expect(card.architecture).toEqual({ layers: [9, 8, 4], centered: true });
    expect(card.history).toHaveLength(60);
    const bytes = readFileSync(out);
    const p = dbmFromOnnx(bytes);
    // The saved graph computes the mean-field posterior of both hidden layers, in [0, 1].
    const s = await openSession(undefined, bytes, { threads: 1 }, 'the saved DBM');
    const h = await s.run({ visible: float32([2, 9], new Float32Array(18).fill(1)) });
    await s.release();
    expect(h.hidden1!.dims).toEqual([2, 8]);
    expect(h.hidden2!.dims).toEqual([2, 4]);
    expect((h.hidden2!.data as Float32Array).every((q) => q > 0 && q < 1)).toBe(true);
    const l = await relprop(['dbm', 'loglik', '--model', out, '--data', data, '--binarize', 'none', '--json', '--threads', '1']);
    expect(l.code).toBe(0);
    const res = JSON.parse(l.stdout);
    expect(res.estimator).toBe('exact');
    expect(res.samples).toBe(56);
    expect(res.mean_loglik).toBeCloseTo(card.history[59].train_loglik_exact, 4);
    expect(res.log_z).toBeCloseTo(await exactDbmLogZ(p), 4);
    const ais = JSON.parse(
      (await relprop(['dbm', 'loglik', '--model', out, '--data', data, '--binarize', 'none', '--json', '--estimator', 'ais', '--threads', '1'])).stdout,
    );
    expect(ais.estimator).toBe('ais');
    expect(Math.abs(ais.log_z - res.log_z)).toBeLessThan(0.1);
  });

  it('a run resumed from its checkpoint ends with the same model as the run that did not stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-cli-'));
    const data = barsNpy(dir);
    const run = (epochs: string, out: string, more: string[] = []) =>
      relprop(['dbm', 'train', '--data', data, ...TRAIN, '--epochs', epochs, '--out', join(dir, out), '--quiet', ...more]);
    expect((await run('6', 'a.onnx')).code).toBe(0);
    const ck = join(dir, 'ck');
    expect((await run('3', 'b3.onnx', ['--checkpoint-dir', ck])).code).toBe(0);
    const resumed = await run('6', 'b.onnx', ['--checkpoint-dir', ck, '--resume']);
    expect(resumed.code).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'b.onnx')), readFileSync(join(dir, 'a.onnx')))).toBe(0);
    const other = await run('6', 'c.onnx', ['--checkpoint-dir', ck, '--resume', '--positive', 'sample']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/^relprop: error: --resume: the checkpoint in .* was made with other settings/);
    expect(existsSync(join(dir, 'c.onnx'))).toBe(false);
  });

  it('refuses bad input in one line, writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-cli-'));
    const data = barsNpy(dir, (x) => {
      x[5] = 0.25;
    });
    const out = join(dir, 'm.onnx');
    const r = await relprop(['dbm', 'train', '--data', data, ...TRAIN, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^relprop: error: .*must be binary.*value 5 is 0\.25.*--binarize threshold/);
    expect(existsSync(out)).toBe(false);
    const bad = await relprop(['dbm', 'train', '--data', data, '--hidden', '8,x', '--out', out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--hidden needs comma-separated positive integers/);
    const missing = await relprop(['dbm', 'loglik', '--model', join(dir, 'none.onnx'), '--data', data]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^relprop: error: cannot read model .*none\.onnx: ENOENT/);
  });

  it('refuses exact log Z when the odd layers are too large to enumerate, suggesting AIS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-cli-'));
    const data = barsNpy(dir);
    const out = join(dir, 'm.onnx');
    expect((await relprop(['dbm', 'train', '--data', data, '--hidden', '21,3', '--epochs', '1', '--batch-size', '8', '--out', out, '--quiet'])).code).toBe(0);
    const r = await relprop(['dbm', 'loglik', '--model', out, '--data', data, '--estimator', 'exact']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^relprop: error: exact log Z enumerates 2\^21 states of the odd layers.*use AIS/);
  });

  it('bounds log p(v) by mean field when the even hidden layers are too large to enumerate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbm-cli-'));
    const data = barsNpy(dir);
    const out = join(dir, 'm.onnx');
    expect((await relprop(['dbm', 'train', '--data', data, '--hidden', '3,21', '--epochs', '1', '--batch-size', '8', '--out', out, '--quiet'])).code).toBe(0);
    const r = await relprop(['dbm', 'loglik', '--model', out, '--data', data, '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^mean log p\(v\) ≥ -[\d.]+ \(mean-field bound\) nats over 56 samples; exact log Z/);
  });
});
