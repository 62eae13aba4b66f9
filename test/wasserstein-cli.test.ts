/** `relprop rbm train --objective wasserstein`, `rbm complete` and `rbm denoise` as a user runs them. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { barsNpy } from './helpers/bars.js';
import { relprop } from './helpers/cli.js';

const W = ['--objective', 'wasserstein', '--hidden', '8', '--lr', '1', '--gamma', '0.5', '--eta', '1', '--binarize', 'none', '--threads', '1'];

describe('relprop rbm train --objective wasserstein', () => {
  it('trains with progress, writes model and card, resumes bit for bit, and refuses other settings on resume', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wrbm-cli-'));
    const data = barsNpy(dir);
    const a = await relprop(['rbm', 'train', '--data', data, ...W, '--epochs', '40', '--report-every', '10', '--out', join(dir, 'a.onnx')]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    const lines = a.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(
      /^epoch 10\/40: W_γ\(data, chains\) -?[\d.]+, transport cost [\d.]+, \d+ Sinkhorn iterations, exact train log-likelihood -[\d.]+ nats$/,
    );
    const card = JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'));
    expect(card.training).toMatchObject({ objective: 'wasserstein', metric: 'hamming', gamma: 0.5, eta: 1, lambda: 0, mix: 'additive' });
    expect(card.history).toHaveLength(4);
    expect(card.history[3].updates).toBe(40);

    const ck = join(dir, 'ck');
    expect(
      (await relprop(['rbm', 'train', '--data', data, ...W, '--epochs', '20', '--report-every', '10', '--out', join(dir, 'b20.onnx'), '--checkpoint-dir', ck]))
        .code,
    ).toBe(0);
    const resumed = await relprop([
      'rbm',
      'train',
      '--data',
      data,
      ...W,
      '--epochs',
      '40',
      '--report-every',
      '10',
      '--out',
      join(dir, 'b.onnx'),
      '--checkpoint-dir',
      ck,
      '--resume',
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/resuming after epoch 20/);
    expect(Buffer.compare(readFileSync(join(dir, 'b.onnx')), readFileSync(join(dir, 'a.onnx')))).toBe(0);
    const other = await relprop([
      'rbm',
      'train',
      '--data',
      data,
      ...W,
      '--gamma',
      '1',
      '--epochs',
      '40',
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

  it('bad input: γ ≤ 0, a cost matrix of the wrong size or with negative entries, Sinkhorn not converging — one line, nothing written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wrbm-cli-'));
    const data = barsNpy(dir);
    const out = join(dir, 'm.onnx');
    const eye = (d: number, f: (i: number, j: number) => number = (i, j) => (i === j ? 1 : 0)) => {
      const path = join(dir, `cost${d}.npy`);
      writeFileSync(
        path,
        encodeNpy(
          float32(
            [d, d],
            Array.from({ length: d * d }, (_, k) => f(Math.floor(k / d), k % d)),
          ),
        ),
      );
      return path;
    };
    const cases: [string[], RegExp][] = [
      [['--gamma', '0'], /the Sinkhorn smoothing γ must be a finite number > 0, got 0/],
      [['--gamma', '-2'], /γ must be a finite number > 0, got -2/],
      [['--cost', eye(8)], /--cost .*cost8\.npy \(8 × 8\) is 8 × 8; the data have 9 values per sample, so it must be 9 × 9/],
      [['--cost', eye(9, (i, j) => (i === j ? 2 : i + j === 3 ? -0.5 : 0))], /must have finite entries ≥ 0, but entry \(0, 3\) is -0\.5/],
      [
        ['--gamma', '0.002', '--sinkhorn-iterations', '10'],
        /update 1: Sinkhorn did not converge in 10 iterations \(marginal error .* ≥ tolerance 0\.00001, γ = 0\.002\)/,
      ],
      [['--gamma', '0.002', '--sinkhorn-domain', 'linear'], /update 1: linear-domain Sinkhorn would underflow: .*; use the log domain/],
      [['--sinkhorn-domain', 'exp'], /option '--sinkhorn-domain <d>' argument 'exp' is invalid/],
    ];
    for (const [flags, message] of cases) {
      const r = await relprop(['rbm', 'train', '--data', data, ...W, ...flags, '--epochs', '2', '--out', out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^relprop: error: /);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
    // A valid ground matrix (here 2·I: twice the Hamming distance) is accepted.
    expect(
      (await relprop(['rbm', 'train', '--data', data, ...W, '--cost', eye(9, (i, j) => (i === j ? 2 : 0)), '--epochs', '2', '--out', out, '--quiet'])).code,
    ).toBe(0);
  });
});

describe('relprop rbm complete / denoise', () => {
  it('restore corrupted data, keep observed units, write outputs, and report the error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wrbm-cli-'));
    const data = barsNpy(dir);
    const model = join(dir, 'm.onnx');
    expect((await relprop(['rbm', 'train', '--data', data, ...W, '--epochs', '150', '--report-every', '150', '--out', model, '--quiet'])).code).toBe(0);
    const flip = await relprop([
      'rbm',
      'denoise',
      '--model',
      model,
      '--data',
      data,
      '--binarize',
      'none',
      '--flip',
      '0.1',
      '--out',
      join(dir, 'd.npy'),
      '--corrupted',
      join(dir, 'noisy.npy'),
      '--json',
      '--threads',
      '1',
    ]);
    expect(flip.code).toBe(0);
    const s = JSON.parse(flip.stdout);
    expect(s).toMatchObject({ mode: 'denoise', samples: 56 });
    expect(s.error_after).toBeLessThan(s.error_before);
    const d = readNpy(readFileSync(join(dir, 'd.npy')));
    expect(d.dims).toEqual([56, 9]);

    const mask = new Float32Array(56 * 9).map((_, k) => (k % 4 === 1 ? 1 : 0));
    writeFileSync(join(dir, 'mask.npy'), encodeNpy(float32([56, 9], mask)));
    const c = await relprop([
      'rbm',
      'complete',
      '--model',
      model,
      '--data',
      data,
      '--binarize',
      'none',
      '--mask',
      join(dir, 'mask.npy'),
      '--out',
      join(dir, 'c.npy'),
      '--probabilities',
      join(dir, 'p.npy'),
      '--threads',
      '1',
    ]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^wrote .*c\.npy: 56 samples\n$/);
    const x = readNpy(readFileSync(data)).data as Float32Array;
    const restored = readNpy(readFileSync(join(dir, 'c.npy'))).data as Float32Array;
    for (let k = 0; k < x.length; k++) if (!mask[k]) expect(restored[k]).toBe(x[k]);
    expect(existsSync(join(dir, 'p.npy'))).toBe(true);

    const bad = await relprop(['rbm', 'denoise', '--model', model, '--data', data, '--binarize', 'none', '--flip-rate', '0.7', '--out', join(dir, 'e.npy')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/^relprop: error: --flip-rate must be in \(0, 0.5\), got 0.7\n$/);
    const none = await relprop(['rbm', 'complete', '--model', model, '--data', data, '--out', join(dir, 'e.npy')]);
    expect(none.stderr).toMatch(/^relprop: error: give either --mask .* or --missing/);
    expect(existsSync(join(dir, 'e.npy'))).toBe(false);
  });
});
