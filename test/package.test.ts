/**
 * The package as a user gets it: `npm pack`, then `npm install` of the tarball into a fresh project
 * outside the repository, with npm's registry (and its cache) as the only source and no
 * environment from this repository (its .npmrc, package.json or npm_config_* variables). There:
 * the API explains the bundled samples, README's API examples run from that folder, the installed
 * CLI explains with `--model default`, and a strict TypeScript consumer typechecks against the
 * shipped declarations (nodenext and bundler resolution). Needs dist/ (`npm run build`).
 *
 * Where api.nuget.org is unreachable (as on this project's machine and CI), onnxruntime-node's
 * install script fails, npm leaves the optional dependency out, and relprop must say it runs on
 * onnxruntime-web; where it is reachable, onnxruntime-node is installed and no notice is printed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/core/onnx/npy.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-package-'));
const app = join(tmp, 'app');
const NOTICE =
  /^relprop: onnxruntime-node is not installed: running on onnxruntime-web \(WebAssembly, slower\)\. For the native runtime: npm install --save-optional onnxruntime-node --onnxruntime-node-install=skip$/;

/** This process's environment without npm's per-project variables (`npm test` sets them). */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    const keep = !/^npm_/i.test(k) || /^npm_config_(cache|registry)$/i.test(k);
    if (keep && k !== 'RELPROP_RUNTIME' && k !== 'ONNXRUNTIME_NODE_INSTALL') env[k] = v;
  }
  return { ...env, ...extra };
}

async function sh(cmd: string, args: string[], cwd: string, env = userEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(cmd, args, { cwd, env, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? String(e) };
  }
}

/** The ```js and ```ts blocks of README's API section, in order. */
function readmeApiBlocks(): { lang: 'js' | 'ts'; code: string }[] {
  const md = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = md.indexOf('\n## API\n');
  const end = md.indexOf('\n## ', start + 1);
  expect(start, 'README has an API section').toBeGreaterThan(0);
  return [...md.slice(start, end).matchAll(/```(js|ts)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] as 'js' | 'ts', code: m[2]! }));
}

let installLog = '';
let native = false;
const pkgDir = join(app, 'node_modules', 'relprop');

beforeAll(async () => {
  expect(existsSync(join(ROOT, 'dist', 'src', 'node', 'index.js')), 'dist/ is built (npm run build)').toBe(true);
  const pack = await sh('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT);
  expect(pack.code, pack.stderr).toBe(0);
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  expect(tgz).toBeDefined();
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const inst = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(tmp, tgz!)], app);
  installLog = `${inst.stdout}\n${inst.stderr}`;
  expect(inst.code, `npm install of the tarball failed:\n${installLog.slice(-3000)}`).toBe(0);
  native = existsSync(join(app, 'node_modules', 'onnxruntime-node', 'package.json'));
}, 300_000);

// The temporary project holds both ONNX Runtime packages (hundreds of MB).
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('relprop installed from its tarball', () => {
  it('installs with only the registry as source, on the runtime it names', () => {
    expect(existsSync(join(pkgDir, 'models', 'fmnist-cnn.onnx'))).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'onnxruntime-web', 'package.json'))).toBe(true);
    // Without nuget the native runtime's script fails and npm drops it (the API test then expects
    // the notice); with nuget, or with npm 12's default of not running unreviewed scripts, it stays.
    expect(installLog).not.toMatch(/EBADENGINE/);
  });

  it('explains the bundled samples through the API, from the project folder', async () => {
    writeFileSync(
      join(app, 'api.mjs'),
      `import { readFileSync, writeFileSync } from 'node:fs';
import { Explainer, bundledModel, readNpy } from 'relprop';
const b = bundledModel();
const ex = await Explainer.create(b.model, { composite: 'epsilon-gamma-box', inputRange: [0, 1] });
const x = readNpy(readFileSync(b.samples.npy));
const r = await ex.explain(x);
await ex.release();
const labels = JSON.parse(readFileSync(b.samples.labels, 'utf8')).map((l) => l.label);
writeFileSync('api.json', JSON.stringify({ b, labels, predicted: r.predicted, dims: r.relevance.dims, rel: Array.from(r.relevance.data), logits: Array.from(r.logits.data) }));
`,
    );
    const r = await sh(process.execPath, ['api.mjs'], app);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    if (native) expect(lines).toEqual([]);
    else {
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(NOTICE);
    }
    const o = JSON.parse(readFileSync(join(app, 'api.json'), 'utf8'));
    expect(o.b.model).toBe(join(pkgDir, 'models', 'fmnist-cnn.onnx'));
    expect(o.b.samples.images).toHaveLength(8);
    for (const f of [o.b.card, o.b.samples.npy, ...o.b.samples.images]) expect(existsSync(f), f).toBe(true);
    expect(o.dims).toEqual([8, 1, 28, 28]);
    expect(o.predicted).toEqual(o.labels); // the bundled model gets all eight samples right
    // LRP's relevance of each sample sums to about its explained logit (box rule at the input).
    for (let i = 0; i < 8; i++) {
      const sum = o.rel.slice(i * 784, (i + 1) * 784).reduce((a: number, v: number) => a + v, 0);
      const logit = o.logits[i * 10 + o.predicted[i]];
      expect(Math.abs(sum - logit) / Math.abs(logit), `sample ${i}`).toBeLessThan(0.1);
    }
  });

  it("runs README's API examples from the project folder", async () => {
    const blocks = readmeApiBlocks();
    const js = blocks.filter((b) => b.lang === 'js');
    expect(js.length).toBeGreaterThanOrEqual(2);
    for (const [i, b] of js.entries()) {
      const file = join(app, `readme-${i}.mjs`);
      writeFileSync(file, b.code);
      const r = await sh(process.execPath, [file], app);
      expect(r.code, `README API example ${i}:\n${b.code}\n${r.stderr}`).toBe(0);
      // Each example prints the predictions of the eight samples (all right: classes 0…7).
      expect(r.stdout.replace(/\s+/g, ' ')).toContain('[ 0, 1, 2, 3, 4, 5, 6, 7 ]');
    }
  });

  it('runs the installed CLI with --model default', async () => {
    const sample = join(pkgDir, 'models', 'samples', '2-trouser.png');
    const r = await sh('npx', ['--no', 'relprop', 'explain', '--model', 'default', '--input', sample, '--out', 'r.npy', '--summary', 's.json'], app);
    expect(r.code, r.stderr).toBe(0);
    const rel = readNpy(readFileSync(join(app, 'r.npy')));
    expect(rel.dims).toEqual([1, 1, 28, 28]);
    const s = JSON.parse(readFileSync(join(app, 's.json'), 'utf8'));
    expect(JSON.stringify(s)).toContain(join(pkgDir, 'models', 'fmnist-cnn.onnx').replaceAll('\\', '\\\\'));
    expect(r.stdout).toMatch(/predicted 1 \(Trouser\), target 1 \(Trouser\)/); // 2-trouser.png is class 1, trouser
    const bad = await sh(
      'npx',
      ['--no', 'relprop', 'explain', '--model', 'default', '--input', sample, '--out', 'r2.npy'],
      app,
      userEnv({ RELPROP_RUNTIME: 'gpu' }),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim()).toBe('relprop: error: RELPROP_RUNTIME must be "node" or "web", not "gpu"');
    expect(existsSync(join(app, 'r2.npy'))).toBe(false);
  });

  for (const [resolution, module] of [
    ['nodenext', 'nodenext'],
    ['bundler', 'esnext'],
  ] as const) {
    it(`typechecks a strict consumer (moduleResolution ${resolution}) and README's API examples`, async () => {
      const dir = join(app, `ts-${resolution}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'consumer.ts'),
        `import { readFileSync } from 'node:fs';
import { Explainer, bundledModel, readNpy, type BundledModel, type TensorData, type Explanation } from 'relprop';
import { Explainer as CoreExplainer, type Runtime } from 'relprop/core';
import { webRuntime } from 'relprop/web';
const b: BundledModel = bundledModel();
const x: TensorData = readNpy(readFileSync(b.samples.npy));
const ex = await Explainer.create(b.model, { composite: 'epsilon-plus-flat' });
const r: Explanation = await ex.explain(x, { target: 'predicted' });
const first: number | undefined = r.predicted[0];
const rt: Runtime = webRuntime({ numThreads: 1 });
const core = await CoreExplainer.create(readFileSync(b.model), { runtime: rt });
export { first, core };
`,
      );
      for (const [i, blk] of readmeApiBlocks().entries()) writeFileSync(join(dir, `readme-${i}.ts`), `${blk.code}\nexport {};\n`);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noUncheckedIndexedAccess: true,
            exactOptionalPropertyTypes: true,
            module,
            moduleResolution: resolution,
            target: 'es2022',
            lib: ['es2022'],
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            // A TypeScript user has @types/node; the temporary project borrows the repository's.
            typeRoots: [join(ROOT, 'node_modules', '@types')],
          },
          include: ['*.ts'],
        }),
      );
      const r = await sh(TSC, ['-p', dir], dir);
      expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    });
  }
});
