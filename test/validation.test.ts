/**
 * Parameters out of their domain, box rules without a known input range, unknown names: refused
 * with one clear message (API: a thrown Error at construction; CLI: one `relprop: error:` line,
 * non-zero exit, no output file), and the model card's input range used where there is one.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Explainer as CoreExplainer } from '../src/core/explain/explainer.js';
import { methodSpecOptions, splitMethodSpec } from '../src/core/explain/method-spec.js';
import { parseMethodSpec } from '../src/core/evaluate/methods.js';
import { encodeNpy, readNpy } from '../src/core/onnx/npy.js';
import { checkRuleParams, makeRule, parseRuleObject } from '../src/core/rules/spec.js';
import { Explainer } from '../src/node/api.js';
import { relprop } from './helpers/cli.js';
import { fixtureInput, FIXTURES, loadFixture } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'models', 'fmnist-cnn.onnx');
const SAMPLES = join(ROOT, 'models', 'samples', 'samples.npy');
const IMAGE = join(ROOT, 'models', 'samples', '19-t-shirt-top.png');
const cnn = join(FIXTURES, 'cnn', 'model.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-valid-'));
/** The bundled model without its card beside it. */
const NO_CARD = join(tmp, 'no-card.onnx');
copyFileSync(MODEL, NO_CARD);
const input = join(tmp, 'cnn-one.npy');
writeFileSync(input, encodeNpy(fixtureInput(loadFixture('cnn').inputs[0]!)));
/** Internal rule names that only a rules mapping may use: never listed for --rule. */
const MAPPING_ONLY = ['merge_into_preceding', 'relu_deconvnet', 'relu_guided_backprop', 'none', 'norm', 'pass'];

describe('rule parameters (core)', () => {
  it('refuses every parameter outside its domain', () => {
    const bad: [Record<string, number>, RegExp][] = [
      [{ epsilon: -1 }, /epsilon must be ≥ 0, got -1/],
      [{ epsilon: Number.NaN }, /epsilon must be a finite number/],
      [{ epsilon: Number.POSITIVE_INFINITY }, /epsilon must be a finite number/],
      [{ gamma: -0.25 }, /gamma must be ≥ 0/],
      [{ stabilizer: -1e-6 }, /stabilizer must be ≥ 0/],
      [{ alpha: 2, beta: 2 }, /alpha - beta = 1/],
      [{ alpha: 0, beta: -1 }, /beta must be ≥ 0/],
      [{ alpha: 0.5 }, /alpha must be ≥ 1/],
      [{ low: 1, high: -1 }, /low ≤ high/],
      [{ low: Number.NEGATIVE_INFINITY, high: 1 }, /low must be a finite number/],
    ];
    for (const [p, msg] of bad) expect(() => checkRuleParams(p), JSON.stringify(p)).toThrow(msg);
    expect(() => makeRule('epsilon', { epsilon: -1 })).toThrow(/epsilon must be ≥ 0/);
    expect(() => makeRule('alphabeta', { alpha: 3, beta: 1 })).toThrow(/alpha - beta = 1/);
    expect(makeRule('alphabeta', { beta: 2 })).toMatchObject({ alpha: 3, beta: 2 });
    expect(makeRule('epsilon', { epsilon: 0 })).toEqual({ rule: 'epsilon', epsilon: 0 });
  });

  it('zbox has no default bounds', () => {
    expect(() => makeRule('zbox')).toThrow(/zB\/box rule needs bounds: .*--input-range LO,HI.*inputRange in the API.*--low and --high/);
    expect(() => makeRule('zbox', { low: -1 })).toThrow(/needs bounds/);
    expect(makeRule('zbox', { low: -1, high: 2 })).toMatchObject({ rule: 'zbox', low: -1, high: 2 });
  });

  it('a rules-mapping entry: unknown keys and parameters its rule does not take are errors', () => {
    expect(() => parseRuleObject({ rule: 'epsilon', epsilno: 0.1 }, 'rules["x"]')).toThrow(/rules\["x"\]: unknown key "epsilno": did you mean "epsilon"\?/);
    expect(() => parseRuleObject({ rule: 'epsilon', gamma: 0.5 }, 'e')).toThrow(/e: rule "epsilon" takes no "gamma" \(its parameters: epsilon\)/);
    expect(() => parseRuleObject({ rule: 'pass', epsilon: 0.5 }, 'e')).toThrow(/rule "pass" takes no "epsilon" \(it has no parameters\)/);
    expect(() => parseRuleObject({ rule: 'gamma', gamma: -1 }, 'e')).toThrow(/e: gamma must be ≥ 0/);
    expect(() => parseRuleObject({ rule: 'epsilon', epsilon: '0.1' }, 'e')).toThrow(/e: epsilon must be a finite number, got "0.1"/);
    expect(() => parseRuleObject({ rule: 'zbox' }, 'e')).toThrow(/e: the zB\/box rule needs bounds/);
    // The fixtures' informational keys, and Zennit's name of the norm rule's epsilon.
    expect(parseRuleObject({ rule: 'none', op: 'Gather', module: 'emb', note: 'read here' }, 'e')).toEqual({ rule: 'none' });
    expect(parseRuleObject({ rule: 'norm', stabilizer: 1e-3 }, 'e')).toEqual({ rule: 'norm', epsilon: 1e-3 });
    expect(parseRuleObject({ rule: 'zbox' }, 'e', { low: -1, high: 1 })).toMatchObject({ low: -1, high: 1 });
  });
});

describe('unknown names (core)', () => {
  it('a misspelled rule lists only the rules --rule takes and suggests the closest', () => {
    let msg = '';
    try {
      makeRule('epsilonn', {}, '--rule');
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toBe('--rule: unknown rule "epsilonn": did you mean "epsilon"? (known: epsilon, zplus, alphabeta, gamma, zbox, wsquare, flat)');
    for (const name of MAPPING_ONLY) expect(msg).not.toContain(name);
    // In a rules mapping the non-linear rules can be passed, so they are listed there.
    expect(() => parseRuleObject({ rule: 'merge_into_precedin' }, 'e')).toThrow(/did you mean "merge_into_preceding"\?.*known: .*relu_deconvnet/);
  });

  it('methods, composites, method-spec variants and replacements suggest the closest name', async () => {
    await expect(Explainer.create(cnn, { method: 'gradiant' as 'gradient' })).rejects.toThrow(/unknown method "gradiant": did you mean "gradient"\?/);
    await expect(Explainer.create(cnn, { composite: 'epsilon-gama-box' })).rejects.toThrow(
      /unknown composite "epsilon-gama-box": did you mean "epsilon-gamma-box"\?/,
    );
    await expect(Explainer.create(cnn, { rule: 'pass' })).rejects.toThrow(/"pass" is not a rule for dense\/conv layers/);
    expect(() => parseMethodSpec('lrp:epsilon-plus-flta')).toThrow(/did you mean "epsilon-plus-flat"\?/);
    expect(() => parseMethodSpec('gradient-x-inptu')).toThrow(/unknown method "gradient-x-inptu": did you mean "gradient-x-input"\?/);
  });
});

describe('explainer options (core): checked at construction', () => {
  const bytes = new Uint8Array(readFileSync(cnn));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['epsilon', { rule: 'epsilon', params: { epsilon: -1 } }, /epsilon must be ≥ 0/],
    ['steps', { method: 'integrated-gradients', steps: 0 }, /steps must be a positive integer/],
    ['samples', { method: 'smoothgrad', samples: 2.5 }, /samples must be a positive integer/],
    ['noise level', { method: 'smoothgrad', noiseLevel: -0.1 }, /noise level must be a finite number ≥ 0/],
    ['seed', { method: 'smoothgrad', seed: 1.5 }, /seed must be an integer ≥ 0/],
    ['threads', { threads: 0 }, /threads must be a positive integer/],
    ['batch size', { batchSize: -1 }, /batch size must be a positive integer/],
    ['input range reversed', { inputRange: [1, 0] }, /input range must be \[low, high\].*low < high/],
    ['input range NaN', { inputRange: [0, Number.NaN] }, /input range must be/],
    ['rules entry', { rules: { '/conv1/Conv': { rule: 'epsilon', gamma: 1 } } }, /takes no "gamma"/],
    ['unknown node', { rules: { '/conv1/Con': { rule: 'epsilon' } } }, /no node named "\/conv1\/Con"; did you mean "\/conv1\/Conv"\?/],
    ['unknown selector', { rules: { '@frist': { rule: 'epsilon' } } }, /unknown selector "@frist": did you mean "@first"\?/],
    ['box composite without range', { composite: 'epsilon-gamma-box' }, /zB\/box rule needs bounds/],
    ['zbox entry without range', { rules: { '@first': { rule: 'zbox' } } }, /rules\["@first"\]: the zB\/box rule needs bounds/],
  ];
  for (const [what, options, msg] of cases) {
    it(what, async () => {
      await expect(CoreExplainer.create(bytes, options)).rejects.toThrow(msg);
    });
  }

  it('the bounds of a box composite come from inputRange, or from low and high', async () => {
    const x = fixtureInput(loadFixture('cnn').inputs[0]!);
    const a = await CoreExplainer.create(bytes, { composite: 'epsilon-gamma-box', inputRange: [-3, 3] });
    const b = await CoreExplainer.create(bytes, { composite: 'epsilon-gamma-box', params: { low: -3, high: 3 } });
    expect((await a.info(x.dims)).boxBounds).toEqual([-3, 3]);
    expect((await b.info(x.dims)).boxBounds).toBeUndefined(); // given, not carried from a range
    expect(Array.from((await a.explain(x)).relevance.data as Float32Array)).toEqual(Array.from((await b.explain(x)).relevance.data as Float32Array));
    await a.release();
    await b.release();
  });

  it('method specs check the combined options (spec settings over shared flags)', () => {
    const parts = (s: string) => splitMethodSpec(s);
    expect(() => methodSpecOptions(parts('lrp:epsilon@epsilon=-1'), 'lrp')).toThrow(/epsilon needs a number ≥ 0/);
    expect(() => methodSpecOptions(parts('lrp:gamma@gamma=-1'), 'lrp')).toThrow(/gamma needs a number ≥ 0/);
    expect(() => methodSpecOptions(parts('smoothgrad@seed=1.5'), 'smoothgrad')).toThrow(/seed needs an integer/);
    expect(() => methodSpecOptions(parts('lrp:alphabeta@alpha=3'), 'lrp', { params: { beta: 1 } })).toThrow(/alpha - beta = 1/);
    expect(() => methodSpecOptions(parts('lrp:zbox@low=2@high=1'), 'lrp')).toThrow(/low ≤ high/);
  });
});

describe('box bounds from the model card (Node API)', () => {
  it('a box composite on the bundled model takes [0, 1] from its card and conserves the logit', async () => {
    const x = readNpy(readFileSync(SAMPLES));
    const ex = await Explainer.create(MODEL, { composite: 'epsilon-gamma-box', audit: true });
    expect(ex.inputRangeSource).toBe(join(ROOT, 'models', 'fmnist-cnn.json'));
    expect(ex.options.inputRange).toEqual([0, 1]);
    const r = await ex.explain(x);
    expect((await ex.info(x.dims)).boxBounds!.map((v) => +v.toFixed(4))).toEqual([-0.8102, 2.0227]);
    // The box layer passes on what it receives; the rest (2–4 %) is absorbed by the dense biases.
    const K = r.logits.dims[1]!;
    const per = r.relevance.data.length / r.targets.length;
    r.targets.forEach((t, i) => {
      const logit = (r.logits.data as Float32Array)[i * K + t]!;
      let sum = 0;
      for (let k = i * per; k < (i + 1) * per; k++) sum += (r.relevance.data as Float32Array)[k]!;
      expect(Math.abs(sum - logit)).toBeLessThan(0.05 * Math.abs(logit));
    });
    const first = r.audit!.find((a) => a.rule.startsWith('zbox'))!;
    first.relevanceOut.forEach((o, i) => expect(Math.abs(first.relevanceIn[i]! - o)).toBeLessThan(1e-4 * Math.abs(o)));
    // Explicit options override the card; the old silent ±3 gives a different map.
    const wide = await Explainer.create(MODEL, { composite: 'epsilon-gamma-box', params: { low: -3, high: 3 } });
    expect(wide.inputRangeSource).toBe(join(ROOT, 'models', 'fmnist-cnn.json'));
    const rw = await wide.explain(x);
    expect(Array.from(rw.relevance.data as Float32Array)).not.toEqual(Array.from(r.relevance.data as Float32Array));
    const flag = await Explainer.create(MODEL, { composite: 'epsilon-gamma-box', inputRange: [0, 1] });
    expect(flag.inputRangeSource).toBeUndefined();
    expect(Array.from((await flag.explain(x)).relevance.data as Float32Array)).toEqual(Array.from(r.relevance.data as Float32Array));
    for (const e of [ex, wide, flag]) await e.release();
  });

  it('a model without a card and without a range is refused for box rules only', async () => {
    await expect(Explainer.create(NO_CARD, { composite: 'deep-taylor' })).rejects.toThrow(
      /zB\/box rule needs bounds: give .*--input-range.*, or state it in the model card .*no-card\.json \("input": \{"range": \[LO, HI\]\}\)$/,
    );
    await expect(Explainer.create(NO_CARD, { rule: 'zbox' })).rejects.toThrow(/--rule: the zB\/box rule needs bounds/);
    const ok = await Explainer.create(NO_CARD, { composite: 'deep-taylor-wsquare' });
    await ok.release();
  });
});

describe('CLI: bad parameters give one error line and no output', () => {
  const rulesFile = (name: string, rules: unknown) => {
    const p = join(tmp, `${name}.json`);
    writeFileSync(p, JSON.stringify(rules));
    return p;
  };
  const explainCases: [string, string[], RegExp][] = [
    ['negative epsilon', ['--rule', 'epsilon', '--epsilon', '-1'], /^relprop: error: --epsilon must be ≥ 0, got -1$/],
    ['negative gamma', ['--rule', 'gamma', '--gamma', '-0.5'], /--gamma must be ≥ 0/],
    ['negative beta', ['--rule', 'alphabeta', '--alpha', '0', '--beta', '-1'], /--beta must be ≥ 0/],
    ['alpha below 1', ['--rule', 'alphabeta', '--alpha', '0.5'], /--alpha must be ≥ 1/],
    ['low above high', ['--rule', 'zbox', '--low', '2', '--high', '1'], /low ≤ high, got --low 2 and --high 1/],
    ['negative stabilizer', ['--stabilizer', '-1'], /--stabilizer must be ≥ 0/],
    ['IG steps 0', ['--method', 'integrated-gradients', '--steps', '0'], /--steps needs a positive integer/],
    ['smoothgrad samples 1.5', ['--method', 'smoothgrad', '--samples', '1.5'], /--samples needs a positive integer/],
    ['negative noise level', ['--method', 'smoothgrad', '--noise-level', '-0.1'], /--noise-level must be ≥ 0/],
    ['fractional seed', ['--method', 'smoothgrad', '--seed', '0.5'], /--seed needs an integer/],
    ['threads 0', ['--threads', '0'], /--threads needs a positive integer/],
    ['batch size 0', ['--batch-size', '0'], /--batch-size needs a positive integer/],
    ['input range reversed', ['--input-range', '1,0'], /--input-range needs LOW,HIGH with LOW < HIGH/],
    ['input range of three', ['--input-range', '0,1,2'], /--input-range needs LOW,HIGH/],
    ['input range not numbers', ['--input-range', '0,x'], /--input-range needs a number, got "x"/],
    ['rules: unknown key', ['--rules', rulesFile('k', { '/conv1/Conv': { rule: 'epsilon', eps: 0.1 } })], /unknown key "eps"/],
    ['rules: parameter not taken', ['--rules', rulesFile('p', { '/conv1/Conv': { rule: 'zplus', epsilon: 0.1 } })], /rule "zplus" takes no "epsilon"/],
    ['rules: unknown node', ['--rules', rulesFile('n', { '/conv9/Conv': { rule: 'epsilon' } })], /no node named "\/conv9\/Conv"/],
    ['rules: unknown selector', ['--rules', rulesFile('s', { '@dens': { rule: 'epsilon' } })], /did you mean "@dense"\?/],
    ['parameter --rule does not take', ['--rule', 'epsilon', '--gamma', '0.5'], /^relprop: error: --rule epsilon takes no --gamma \(it takes --epsilon\)$/],
    ['misspelled rule', ['--rule', 'epsilonn'], /did you mean "epsilon"\? \(known: epsilon, zplus, alphabeta, gamma, zbox, wsquare, flat\)$/],
    ['box composite, no card, no range', ['--composite', 'epsilon-gamma-box'], /zB\/box rule needs bounds: give .*--input-range LO,HI/],
  ];
  for (const [what, args, msg] of explainCases) {
    it(`explain: ${what}`, async () => {
      const out = join(tmp, `bad-${what.replace(/\W+/g, '-')}.npy`);
      const r = await relprop(['explain', '--model', cnn, '--input', input, '--out', out, ...args]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^relprop: error: /);
      for (const name of MAPPING_ONLY) expect(r.stderr).not.toContain(`, ${name}`);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('inspect and explain-text check the same flags', async () => {
    const i = await relprop(['inspect', cnn, '--gamma', '-1']);
    expect(i.code).not.toBe(0);
    expect(i.stderr.trim()).toBe('relprop: error: --gamma must be ≥ 0, got -1');
    const text = join(ROOT, 'examples', 'text', 'standin', 'textcnn.onnx');
    const html = join(tmp, 'bad.html');
    const t = await relprop(['explain-text', '--model', text, '--epsilon', '-0.001', '--html', html, 'a small text editor']);
    expect(t.code).not.toBe(0);
    expect(t.stderr.trim()).toBe('relprop: error: --epsilon must be ≥ 0, got -0.001');
    expect(existsSync(html)).toBe(false);
    // explain-text has no --input-range: its box message names only what it takes.
    const box = await relprop(['explain-text', '--model', text, '--rule', 'zbox', '--html', html, 'a small text editor']);
    expect(box.code).not.toBe(0);
    expect(box.stderr.trim()).toBe('relprop: error: the zB/box rule needs bounds on the embedding values the first layer reads: give --low and --high');
    expect(existsSync(html)).toBe(false);
  });

  it('evaluate checks the shared flags, the specs and the box range before writing anything', async () => {
    const base = ['evaluate', '--data', SAMPLES, '--threads', '1', '--no-plot', '--limit', '2'];
    const cases: [string[], RegExp][] = [
      [['--model', MODEL, '--epsilon', '-1'], /--epsilon must be ≥ 0/],
      [['--model', MODEL, '--methods', 'lrp:epsilon@epsilon=-1'], /method "lrp:epsilon@epsilon=-1": epsilon needs a number ≥ 0/],
      [['--model', MODEL, '--methods', 'smoothgrad@noise-level=-1'], /noise-level needs a number ≥ 0/],
      [['--model', MODEL, '--methods', 'lrp:zbox@low=1@high=0'], /low ≤ high/],
      [['--model', NO_CARD, '--methods', 'lrp:epsilon-gamma-box'], /method "lrp:epsilon-gamma-box": the zB\/box rule needs bounds: give .*--input-range/],
    ];
    for (const [args, msg] of cases) {
      const out = join(tmp, `eval-bad-${args.join('-').replace(/\W+/g, '-')}`);
      const r = await relprop([...base, '--out', out, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr.trim(), args.join(' ')).toMatch(msg);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(existsSync(out), args.join(' ')).toBe(false);
    }
  });
});

describe('CLI: box bounds from the model card', () => {
  it('explain says where the bounds came from; the card equals --input-range 0,1', async () => {
    const a = join(tmp, 'card.npy');
    const r = await relprop(['explain', '--model', MODEL, '--input', IMAGE, '--out', a, '--composite', 'epsilon-gamma-box', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`relprop: box bounds from input range [0, 1] in ${join(ROOT, 'models', 'fmnist-cnn.json')} (first layer: [-0.8102, 2.023])\n`);
    const b = join(tmp, 'flag.npy');
    const f = await relprop(['explain', '--model', MODEL, '--input', IMAGE, '--out', b, '--composite', 'epsilon-gamma-box', '--input-range', '0,1', '--quiet']);
    expect(f.stderr).toBe(''); // a range the user typed needs no note
    expect(readFileSync(a)).toEqual(readFileSync(b));
  });

  it('explain refuses a box rule on a model without a card unless given a range', async () => {
    const out = join(tmp, 'refused.npy');
    const r = await relprop(['explain', '--model', NO_CARD, '--input', IMAGE, '--out', out, '--composite', 'deep-taylor']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^relprop: error: the zB\/box rule needs bounds: give .*--input-range LO,HI/);
    expect(existsSync(out)).toBe(false);
    const ok = await relprop([
      'explain',
      '--model',
      NO_CARD,
      '--input',
      IMAGE,
      '--out',
      out,
      '--composite',
      'deep-taylor',
      '--low',
      '-1',
      '--high',
      '3',
      '--quiet',
    ]);
    expect(ok.code).toBe(0);
  });

  it('evaluate takes the card range for box methods and says so with its results', async () => {
    const out = join(tmp, 'eval-card');
    const args = ['evaluate', '--data', SAMPLES, '--limit', '2', '--region-size', '7', '--steps', '2', '--threads', '1', '--no-plot', '--heatmap-samples', '0'];
    const r = await relprop([...args, '--model', MODEL, '--out', out, '--methods', 'lrp:epsilon-gamma-box,gradient']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`box bounds of lrp:epsilon-gamma-box from input range [0, 1] in ${join(ROOT, 'models', 'fmnist-cnn.json')}`);
    const flag = await relprop([...args, '--model', MODEL, '--out', join(tmp, 'eval-flag'), '--methods', 'lrp:epsilon-gamma-box', '--input-range', '0,1']);
    expect(flag.stdout).not.toContain('box bounds');
  });

  it('inspect shows the bounds and their source', async () => {
    const card = await relprop(['inspect', MODEL, '--composite', 'epsilon-gamma-box']);
    expect(card.code).toBe(0);
    expect(card.stdout).toMatch(/conv2d_0\s+Conv\s+zbox\(-0\.8102,2\.023\)/);
    expect(card.stdout).toContain(`box bounds [-0.8102, 2.023] at the first layer, from input range [0, 1] in ${join(ROOT, 'models', 'fmnist-cnn.json')}`);
    const flag = await relprop(['inspect', MODEL, '--composite', 'epsilon-gamma-box', '--input-range', '0,255', '--json']);
    expect(JSON.parse(flag.stdout).boxBounds).toEqual({ bounds: [-0.8102, 721.6], source: '--input-range 0,255' });
    const lowHigh = await relprop(['inspect', NO_CARD, '--rule', 'zbox', '--low', '-1', '--high', '2']);
    expect(lowHigh.stdout).toContain('box bounds [-1, 2] at the first layer, from --low and --high');
    const none = await relprop(['inspect', NO_CARD, '--composite', 'epsilon-gamma-box']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/^relprop: error: the zB\/box rule needs bounds/);
  });
});
