/** `relprop rbm train` and `relprop rbm loglik` as a user runs them: outputs, resume, and bad input. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exactLogZ } from '../src/core/boltzmann/likelihood.js';
import { rbmFromOnnx } from '../src/core/boltzmann/model-file.js';
import { encodeNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { barsNpy } from './helpers/bars.js';
import { relprop } from './helpers/cli.js';

const TRAIN = ['--hidden', '8', '--lr', '0.2', '--batch-size', '8', '--nu', '0.05', '--binarize', 'none', '--threads', '1'];

describe('relprop rbm', () => {
  it('trains, writes the model and its card, prints exact progress, and loglik reads the model back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-cli-'));
    const data = barsNpy(dir);
    const out = join(dir, 'm.onnx');
    const r = await relprop(['rbm', 'train', '--data', data, ...TRAIN, '--epochs', '150', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(151);
    const ll = lines.slice(0, 150).map((l) => Number(/exact train log-likelihood (-?[\d.]+)/.exec(l)![1]));
    expect(ll[149]!).toBeGreaterThan(ll[0]! + 1);
    const card = JSON.parse(readFileSync(join(dir, 'm.json'), 'utf8'));
    expect(card.kind).toBe('rbm');
    expect(card.architecture).toEqual({ visible: 9, hidden: 8, centered: true });
    expect(card.history).toHaveLength(150);
    const p = rbmFromOnnx(readFileSync(out));
    const l = await relprop(['rbm', 'loglik', '--model', out, '--data', data, '--binarize', 'none', '--json', '--threads', '1']);
    expect(l.code).toBe(0);
    const res = JSON.parse(l.stdout);
    expect(res.estimator).toBe('exact');
    expect(res.samples).toBe(56);
    expect(res.mean_loglik).toBeCloseTo(card.history[149].train_loglik_exact, 4);
    expect(res.log_z).toBeCloseTo(await exactLogZ(p), 4);
    const ais = JSON.parse(
      (await relprop(['rbm', 'loglik', '--model', out, '--data', data, '--binarize', 'none', '--json', '--estimator', 'ais', '--threads', '1'])).stdout,
    );
    expect(Math.abs(ais.log_z - res.log_z)).toBeLessThan(0.1);
  });

  it('a run resumed from its checkpoint ends with the same model as the run that did not stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-cli-'));
    const data = barsNpy(dir);
    const straight = await relprop(['rbm', 'train', '--data', data, ...TRAIN, '--epochs', '6', '--out', join(dir, 'a.onnx')]);
    expect(straight.code).toBe(0);
    const ck = join(dir, 'ck');
    expect((await relprop(['rbm', 'train', '--data', data, ...TRAIN, '--epochs', '3', '--out', join(dir, 'b3.onnx'), '--checkpoint-dir', ck])).code).toBe(0);
    const resumed = await relprop([
      'rbm',
      'train',
      '--data',
      data,
      ...TRAIN,
      '--epochs',
      '6',
      '--out',
      join(dir, 'b.onnx'),
      '--checkpoint-dir',
      ck,
      '--resume',
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming after epoch 3/);
    expect(resumed.stdout).not.toMatch(/epoch 3\/6/);
    expect(Buffer.compare(readFileSync(join(dir, 'b.onnx')), readFileSync(join(dir, 'a.onnx')))).toBe(0);
    const other = await relprop([
      'rbm',
      'train',
      '--data',
      data,
      ...TRAIN,
      '--lr',
      '0.1',
      '--epochs',
      '6',
      '--out',
      join(dir, 'c.onnx'),
      '--checkpoint-dir',
      ck,
      '--resume',
    ]);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toMatch(/^relprop: error: --resume: the checkpoint in .* was made with other settings/);
    expect(existsSync(join(dir, 'c.onnx'))).toBe(false);
  });

  it('refuses non-binary data with --binarize none in one line, writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-cli-'));
    const data = barsNpy(dir, (x) => {
      x[5] = 0.25;
    });
    const out = join(dir, 'm.onnx');
    const r = await relprop(['rbm', 'train', '--data', data, ...TRAIN, '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^relprop: error: .*must be binary.*value 5 is 0\.25.*--binarize threshold/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(join(dir, 'm.json'))).toBe(false);
    // The default threshold binarisation accepts the same file.
    expect((await relprop(['rbm', 'train', '--data', data, '--hidden', '3', '--epochs', '1', '--batch-size', '8', '--out', out, '--quiet'])).code).toBe(0);
  });

  it('refuses exact log Z for a model too large to enumerate, suggesting AIS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rbm-cli-'));
    const x = new Float32Array(30 * 24).map((_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    const data = join(dir, 'x.npy');
    writeFileSync(data, encodeNpy(float32([30, 24], x)));
    const out = join(dir, 'm.onnx');
    expect((await relprop(['rbm', 'train', '--data', data, '--hidden', '22', '--epochs', '1', '--batch-size', '10', '--out', out, '--quiet'])).code).toBe(0);
    const r = await relprop(['rbm', 'loglik', '--model', out, '--data', data, '--estimator', 'exact']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^relprop: error: exact log Z enumerates 2\^22 states.*use AIS/);
  });
});
