/** End-to-end tests of the `relprop` command (the built dist/ CLI, as a user runs it). */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { relprop } from './helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../src/core/onnx/model.js';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import { fixtureInput, FIXTURES, loadFixture, relL2, stackInputs } from './helpers/fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'relprop-cli-'));

const cnn = join(FIXTURES, 'cnn', 'model.onnx');
const cnnFx = loadFixture('cnn');
const batchNpy = join(tmp, 'cnn-batch.npy');
writeFileSync(batchNpy, encodeNpy(stackInputs(cnnFx.inputs.map(fixtureInput))));

describe('relprop explain', () => {
  it('reproduces a fixture case from its layer_rules mapping, for a batch', async () => {
    const c = cnnFx.cases.find((k) => k.id === 'composite_epsilon_gamma_box')!;
    const rules = join(tmp, 'rules.json');
    writeFileSync(rules, JSON.stringify(c.layer_rules));
    const out = join(tmp, 'r.npy');
    const r = await relprop(['explain', '--model', cnn, '--input', batchNpy, '--out', out, '--rules', rules, '--target', cnnFx.targets.join(','), '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rel = readNpy(readFileSync(out));
    expect(rel.dims).toEqual([3, 1, 14, 14]);
    const per = 196;
    for (let k = 0; k < 3; k++) expect(relL2((rel.data as Float32Array).subarray(k * per, (k + 1) * per), c.expected[k]!.data)).toBeLessThan(1e-4);
  });

  it('runs the gradient baselines by name (fixture spelling too) and a uniform --rule', async () => {
    const input = join(tmp, 'one.npy');
    writeFileSync(input, encodeNpy(fixtureInput(cnnFx.inputs[0]!)));
    for (const [id, args] of [
      ['integrated_gradients', ['--method', 'integrated_gradients', '--steps', '32']],
      ['guided_backprop', ['--method', 'guided-backprop']],
      ['lrp_gamma_0.25', ['--rule', 'gamma', '--gamma', '0.25']],
      ['lrp_alpha2_beta1', ['--rule', 'alphabeta', '--alpha', '2', '--beta', '1']],
    ] as const) {
      const out = join(tmp, `${id}.npy`);
      const r = await relprop(['explain', '--model', cnn, '--input', input, '--out', out, '--target', String(cnnFx.targets[0]), '--quiet', ...args]);
      expect(r.stderr, id).toBe('');
      const exp = cnnFx.cases.find((k) => k.id === id)!.expected[0]!.data;
      expect(relL2(readNpy(readFileSync(out)).data as Float32Array, exp), id).toBeLessThan(1e-4);
    }
  });

  it('writes heatmaps, a summary with the audit, and a saved explainer that runs on its own', async () => {
    const out = join(tmp, 'h.npy');
    const heat = join(tmp, 'heat.png');
    const summary = join(tmp, 'summary.json');
    const saved = join(tmp, 'explainer.onnx');
    const r = await relprop([
      'explain',
      '--model',
      cnn,
      '--input',
      batchNpy,
      '--out',
      out,
      '--heatmap',
      heat,
      '--summary',
      summary,
      '--save-explainer',
      saved,
      '--composite',
      'epsilon-plus',
      '--target',
      '3',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sample 0: predicted \d+, target 3/);
    for (let k = 0; k < 3; k++)
      expect(
        readFileSync(join(tmp, `heat-${k}.png`))
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
    const s = JSON.parse(readFileSync(summary, 'utf8'));
    expect(s.samples).toHaveLength(3);
    expect(s.samples[0].target).toBe(3);
    expect(s.audit.length).toBeGreaterThan(5);
    // The saved explainer is a plain ONNX model: ONNX Runtime alone reproduces the relevance.
    const session = await ort.InferenceSession.create(saved);
    const x = readNpy(readFileSync(batchNpy));
    const feeds: Record<string, ort.Tensor> = { input: new ort.Tensor('float32', x.data as Float32Array, x.dims) };
    const targetName = session.inputNames.find((n) => n !== 'input')!;
    feeds[targetName] = new ort.Tensor('int64', BigInt64Array.from([3n, 3n, 3n]), [3]);
    const res = await session.run(feeds);
    const rel = readNpy(readFileSync(out)).data as Float32Array;
    const fromOrt = Object.values(res).find((v) => v.dims.join() === '3,1,14,14')!.data as Float32Array;
    expect(relL2(fromOrt, rel)).toBeLessThan(1e-6);
  });

  it('explains a PNG image with the model input size and writes an overlay', async () => {
    const model = join(import.meta.dirname, '..', 'models', 'fmnist-cnn.onnx');
    const samples = join(import.meta.dirname, '..', 'models', 'samples');
    const png = join(samples, readdirSync(samples).find((f) => f.endsWith('.png'))!);
    const out = join(tmp, 'img.npy');
    const heat = join(tmp, 'img.png');
    const r = await relprop([
      'explain',
      '--model',
      model,
      '--input',
      png,
      '--out',
      out,
      '--heatmap',
      heat,
      '--overlay',
      '--composite',
      'epsilon-gamma-box',
      '--input-range',
      '0,1',
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    expect(readNpy(readFileSync(out)).dims).toEqual([1, 1, 28, 28]);
    expect(existsSync(heat)).toBe(true);
  });

  it('explains token ids per token', async () => {
    const fx = loadFixture('textcnn');
    const input = join(tmp, 'ids.json');
    writeFileSync(input, JSON.stringify([fx.inputs[0]!.data]));
    const out = join(tmp, 'tok.npy');
    const r = await relprop([
      'explain',
      '--model',
      join(FIXTURES, 'textcnn', 'model.onnx'),
      '--input',
      input,
      '--out',
      out,
      '--method',
      'gradient',
      '--target',
      String(fx.targets[0]),
      '--quiet',
    ]);
    expect(r.stderr).toBe('');
    const rel = readNpy(readFileSync(out));
    expect(rel.dims).toEqual([1, 12]);
    expect(relL2(rel.data as Float32Array, fx.cases.find((c) => c.id === 'gradient')!.expected[0]!.data)).toBeLessThan(1e-4);
  });
});

describe('bad input: one clear line, non-zero exit, no output file', () => {
  const input = join(tmp, 'ok.npy');
  writeFileSync(input, encodeNpy(fixtureInput(cnnFx.inputs[0]!)));
  const truncated = join(tmp, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(cnn).subarray(0, 500));
  const unsupported = join(tmp, 'erf.onnx');
  const g = decodeModel(readFileSync(cnn));
  g.nodes.find((n) => n.op === 'Relu')!.op = 'Erf';
  writeFileSync(unsupported, encodeModel(g));
  const nan = join(tmp, 'nan.npy');
  const bad = fixtureInput(cnnFx.inputs[0]!);
  (bad.data as Float32Array)[5] = NaN;
  writeFileSync(nan, encodeNpy(bad));
  const wrongShape = join(tmp, 'shape.npy');
  writeFileSync(wrongShape, encodeNpy({ dtype: 'float32', dims: [1, 1, 10, 10], data: new Float32Array(100) }));
  const notImage = join(tmp, 'broken.png');
  writeFileSync(notImage, 'this is not a PNG');

  const cases: [string, string[], RegExp][] = [
    ['truncated model', ['--model', truncated, '--input', input], /not a valid ONNX model/],
    ['missing model', ['--model', join(tmp, 'nope.onnx'), '--input', input], /cannot read model file/],
    ['unsupported operator', ['--model', unsupported, '--input', input], /unsupported operator Erf at node "\/relu1\/Relu".*supports: Gemm/],
    ['NaN in the input', ['--model', cnn, '--input', nan], /NaN at flat index 5/],
    ['wrong input shape', ['--model', cnn, '--input', wrongShape], /shape \[1,1,10,10\] but the model expects \[\?, 1, 14, 14\]/],
    ['target out of range', ['--model', cnn, '--input', input, '--target', '10'], /target 10 is out of range: the model has 10 classes/],
    ['unreadable image', ['--model', cnn, '--input', notImage], /cannot read image/],
    ['unknown rule', ['--model', cnn, '--input', input, '--rule', 'epsilom'], /unknown rule "epsilom"/],
    ['unknown composite', ['--model', cnn, '--input', input, '--composite', 'nope'], /unknown composite "nope"/],
    ['unknown method', ['--model', cnn, '--input', input, '--method', 'magic'], /unknown method "magic"/],
    ['alpha-beta without alpha - beta = 1', ['--model', cnn, '--input', input, '--rule', 'alphabeta', '--alpha', '2', '--beta', '2'], /alpha - beta = 1/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const out = join(tmp, `bad-${what.replace(/\W+/g, '-')}.npy`);
      const r = await relprop(['explain', ...args, '--out', out]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    });
  }
});

describe('unwritable outputs', () => {
  it('explain into a folder that does not exist: one clear line, non-zero exit', async () => {
    const input = join(tmp, 'ok2.npy');
    writeFileSync(input, encodeNpy(fixtureInput(cnnFx.inputs[0]!)));
    const r = await relprop(['explain', '--model', cnn, '--input', input, '--out', join(tmp, 'no-such-folder', 'r.npy')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toMatch(/^relprop: error: cannot write .*r\.npy: its folder does not exist$/);
  });
});

describe('relprop inspect and demo', () => {
  it('inspect lists every layer with its rule', async () => {
    const r = await relprop(['inspect', join(FIXTURES, 'resblock', 'model_bn.onnx'), '--composite', 'epsilon-gamma-box', '--low', '-3', '--high', '3']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/stem_conv\/Conv\s+Conv\s+zbox\(-3,3\)/);
    expect(r.stdout).toMatch(/box bounds \[-3, 3\] at the first layer, from --low and --high/);
    expect(r.stdout).toMatch(/\/block\/conv1\/Conv\s+Conv\s+gamma\(0\.25\)/);
    expect(r.stdout).toMatch(/batch norm "\/block\/bn1\/BatchNormalization" folded into "\/block\/conv1\/Conv"/);
    expect(r.stdout).toMatch(/\/block\/Add\s+Add\s+norm/);
  });

  it('demo writes heatmaps, a summary and an HTML page', async () => {
    const out = join(tmp, 'demo');
    const r = await relprop(['demo', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files).toContain('index.html');
    expect(files.filter((f) => f.endsWith('.png')).length).toBe(8 * 7);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.results).toHaveLength(8 * 7);
    // The bundled model classifies most of its samples correctly.
    const lrp = s.results.filter((x: { method: string }) => x.method === 'LRP epsilon-plus-flat');
    expect(lrp.filter((x: { predicted: number; label: number }) => x.predicted === x.label).length).toBeGreaterThanOrEqual(6);
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toMatch(/<img[^>]+data:image\/png;base64/);
  });
});

describe('shared options', () => {
  /** The help text of one option in `relprop CMD --help`, whitespace collapsed (commander wraps lines). */
  const optionHelp = (help: string, flag: string): string | undefined => {
    const lines = help.split('\n');
    const i = lines.findIndex((l) => l.trimStart().startsWith(`${flag} `) || l.trim() === flag);
    if (i < 0) return undefined;
    const block = [lines[i]!];
    for (const l of lines.slice(i + 1)) {
      if (/^\s+-/.test(l) || l.trim() === '') break;
      block.push(l);
    }
    return block.join(' ').replace(/\s+/g, ' ').trim().slice(flag.length).trim();
  };

  it('are spelled, parsed and described the same by every command that has them', async () => {
    const commands = ['explain', 'inspect', 'train', 'test', 'demo', 'evaluate', 'explain-text', 'text-experiments'];
    const helps = Object.fromEntries(await Promise.all(commands.map(async (c) => [c, (await relprop([c, '--help'])).stdout] as const)));
    for (const c of commands) expect(optionHelp(helps[c]!, '--threads <n>'), c).toBe('ONNX Runtime threads (default: all cores)');
    for (const c of ['explain', 'inspect', 'evaluate', 'explain-text']) {
      expect(optionHelp(helps[c]!, '--gamma <g>'), c).toBe('gamma of the gamma rule (default 0.25)');
      expect(optionHelp(helps[c]!, '--samples <n>'), c).toBe('smoothgrad: noisy samples (default 16)');
    }
    expect(optionHelp(helps.evaluate!, '--ig-steps <n>')).toBe(optionHelp(helps.explain!, '--steps <n>'));
    // One parser: a bad value gets the same message from every command.
    for (const args of [
      ['demo', '--threads', '0'],
      ['text-experiments', '--model', 'm', '--data', 'd', '--out', 'o', '--threads', 'x'],
    ]) {
      const r = await relprop(args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/--threads needs a positive integer, got "(0|x)"/);
    }
  });
});
