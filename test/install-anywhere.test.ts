/**
 * Where relprop runs when onnxruntime-node (an optional dependency) is missing, how RELPROP_RUNTIME
 * chooses, and the bundled model by path and as `--model default` from any folder. The installed
 * package itself is tested by `npm run test:package` (test/package.test.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readNpy } from '../src/core/onnx/npy.js';
import { bundledModel } from '../src/node/bundled.js';
import { chooseRuntime } from '../src/node/runtime-choice.js';
import { relL2 } from './helpers/fixtures.js';
import { CLI } from './helpers/cli.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const INSTALL = 'npm install --save-optional onnxruntime-node --onnxruntime-node-install=skip';
const missing = async () => {
  throw new Error(`onnxruntime-node is not installed; install it with: ${INSTALL}`);
};

describe('the default runtime', () => {
  it('is onnxruntime-node where it loads, without a notice', async () => {
    const lines: string[] = [];
    expect((await chooseRuntime(undefined, (l) => lines.push(l))).name).toBe('onnxruntime-node');
    expect((await chooseRuntime('', (l) => lines.push(l))).name).toBe('onnxruntime-node');
    expect(lines).toEqual([]);
  });

  it('falls back to onnxruntime-web with one notice naming it and the install command', async () => {
    const lines: string[] = [];
    const rt = await chooseRuntime(undefined, (l) => lines.push(l), missing);
    expect(rt.name).toBe('onnxruntime-web');
    expect(lines).toEqual([`relprop: onnxruntime-node is not installed: running on onnxruntime-web (WebAssembly, slower). For the native runtime: ${INSTALL}`]);
  });

  it('follows RELPROP_RUNTIME, and refuses an unknown value or a missing native runtime', async () => {
    const lines: string[] = [];
    expect((await chooseRuntime('web', (l) => lines.push(l))).name).toBe('onnxruntime-web');
    expect((await chooseRuntime('node', (l) => lines.push(l))).name).toBe('onnxruntime-node');
    expect(lines).toEqual([]);
    await expect(chooseRuntime('node', () => {}, missing)).rejects.toThrow(
      `RELPROP_RUNTIME=node: onnxruntime-node is not installed; install it with: ${INSTALL}`,
    );
    await expect(chooseRuntime('gpu', () => {})).rejects.toThrow('RELPROP_RUNTIME must be "node" or "web", not "gpu"');
  });
});

describe('the bundled model', () => {
  it('bundledModel() gives absolute paths of the model, its card and the samples', () => {
    const b = bundledModel();
    expect(b.model).toBe(join(ROOT, 'models', 'fmnist-cnn.onnx'));
    expect(b.card).toBe(join(ROOT, 'models', 'fmnist-cnn.json'));
    const labels = JSON.parse(readFileSync(b.samples.labels, 'utf8')) as { file: string }[];
    expect(b.samples.images).toEqual(labels.map((l) => join(ROOT, 'models', 'samples', l.file)));
    expect(b.samples.images).toHaveLength(8);
    for (const f of [b.model, b.card, b.samples.npy, b.samples.labels, ...b.samples.images]) {
      expect(isAbsolute(f)).toBe(true);
      expect(existsSync(f), f).toBe(true);
    }
  });

  const cwd = mkdtempSync(join(tmpdir(), 'relprop-default-'));
  const sample = bundledModel().samples.images[1]!; // 2-trouser.png, class 1
  const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      const r = await run(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
      return { code: 0, ...r };
    } catch (e) {
      return e as { code: number; stdout: string; stderr: string };
    }
  };

  it('is `--model default` in the CLI from any folder, on either runtime', async () => {
    const native = await cli(['explain', '--model', 'default', '--input', sample, '--out', 'n.npy'], { RELPROP_RUNTIME: 'node' });
    expect(native.stderr).toBe('');
    expect(native.code).toBe(0);
    expect(native.stdout).toMatch(/predicted 1 \(Trouser\), target 1 \(Trouser\)/);
    const wasm = await cli(['explain', '--model', 'default', '--input', sample, '--out', 'w.npy'], { RELPROP_RUNTIME: 'web' });
    expect(wasm.stderr).toBe('');
    expect(wasm.code).toBe(0);
    const a = readNpy(readFileSync(join(cwd, 'n.npy'))).data as Float32Array;
    const b = readNpy(readFileSync(join(cwd, 'w.npy'))).data as Float32Array;
    expect(a.some((v) => v !== 0)).toBe(true);
    expect(relL2(b, a)).toBeLessThanOrEqual(1e-5);
  });

  it('is `default` for inspect, and a bad RELPROP_RUNTIME is one error line and no output', async () => {
    const r = await cli(['inspect', 'default']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`model ${bundledModel().model}: input "input"`)).toBe(true);
    const bad = await cli(['explain', '--model', 'default', '--input', sample, '--out', 'bad.npy'], { RELPROP_RUNTIME: 'cuda' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toBe('relprop: error: RELPROP_RUNTIME must be "node" or "web", not "cuda"\n');
    expect(existsSync(join(cwd, 'bad.npy'))).toBe(false);
  });
});
