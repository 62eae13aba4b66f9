/** Method specs NAME[:VARIANT][@key=value…]: the one syntax of evaluate's and text-experiments' --methods. */
import { describe, expect, it } from 'vitest';
import { methodSpecOptions, splitMethodList, splitMethodSpec } from '../src/core/explain/method-spec.js';
import { parseMethodSpec } from '../src/core/evaluate/methods.js';
import { DEFAULT_TEXT_METHODS, parseTextMethodSpec } from '../src/node/text/experiments.js';

describe('splitMethodSpec', () => {
  it('splits name, variant and settings in order, keeping the label as written', () => {
    expect(splitMethodSpec(' lrp:epsilon@epsilon=0.01@stabilizer=1e-9 ')).toEqual({
      label: 'lrp:epsilon@epsilon=0.01@stabilizer=1e-9',
      name: 'lrp',
      variant: 'epsilon',
      settings: [
        ['epsilon', '0.01'],
        ['stabilizer', '1e-9'],
      ],
    });
    expect(splitMethodSpec('smoothgrad@samples=8')).toEqual({
      label: 'smoothgrad@samples=8',
      name: 'smoothgrad',
      variant: undefined,
      settings: [['samples', '8']],
    });
  });

  it('refuses malformed specs with a message that says what is wrong', () => {
    expect(() => splitMethodSpec('lrp:a:b')).toThrow(/expected NAME\[:VARIANT\]\[@key=value…\]/);
    expect(() => splitMethodSpec('@epsilon=1')).toThrow(/missing method name/);
    expect(() => splitMethodSpec('lrp:')).toThrow(/empty variant/);
    expect(() => splitMethodSpec('lrp@epsilon')).toThrow(/"epsilon" is not key=value/);
    // The text experiments' old spelling is no general syntax: the error shows the new one.
    expect(() => splitMethodSpec('lrp:epsilon=0.01')).toThrow(/settings follow "@", as in lrp:epsilon@epsilon=0\.01/);
    expect(splitMethodList('lrp, sa ,random')).toEqual(['lrp', 'sa', 'random']);
    expect(() => splitMethodList('lrp,,sa')).toThrow(/--methods: empty entry/);
  });
});

describe('methodSpecOptions', () => {
  it('turns the variant into a composite or a rule and the settings into options, over the shared flags', () => {
    const base = { params: { epsilon: 0.5, gamma: 0.1 }, composite: 'epsilon-plus-flat', inputRange: [0, 1] as [number, number], threads: 2 };
    const a = methodSpecOptions(splitMethodSpec('lrp:epsilon@epsilon=0.01'), 'lrp', base).options;
    expect(a).toMatchObject({ method: 'lrp', rule: 'epsilon', composite: undefined, params: { epsilon: 0.01, gamma: 0.1 }, inputRange: [0, 1], threads: 2 });
    expect(base.params.epsilon).toBe(0.5); // the shared options are not modified
    const b = methodSpecOptions(splitMethodSpec('lrp:epsilon-gamma-box'), 'lrp', base).options;
    expect(b).toMatchObject({ composite: 'epsilon-gamma-box', rule: undefined, params: { epsilon: 0.5 } });
    const c = methodSpecOptions(splitMethodSpec('smoothgrad@samples=8@noise-level=0.2@seed=3'), 'smoothgrad').options;
    expect(c).toMatchObject({ method: 'smoothgrad', samples: 8, noiseLevel: 0.2, seed: 3 });
    expect(methodSpecOptions(splitMethodSpec('integrated-gradients@steps=64'), 'integrated-gradients').options.steps).toBe(64);
    const d = methodSpecOptions(splitMethodSpec('gradient@pool=abs'), 'gradient', {}, ['pool']);
    expect(d.own.get('pool')).toBe('abs');
  });

  it('refuses unknown settings, bad values and variants of other methods', () => {
    const opts = (s: string, own: string[] = []) => methodSpecOptions(splitMethodSpec(s), s.startsWith('lrp') ? 'lrp' : 'gradient', {}, own);
    expect(() => opts('gradient@pool=abs')).toThrow(/unknown setting "pool" \(known: epsilon, .*seed\)/);
    expect(() => opts('gradient@colour=1', ['pool'])).toThrow(/known: .*seed, pool/);
    expect(() => opts('lrp@epsilon=small')).toThrow(/epsilon needs a number, got "small"/);
    expect(() => opts('lrp@epsilon=-1')).toThrow(/epsilon needs a number ≥ 0/);
    expect(() => opts('lrp@steps=2.5')).toThrow(/steps needs a positive integer/);
    expect(() => opts('gradient:epsilon')).toThrow(/only lrp takes a variant/);
    expect(() => opts('lrp:nonsense')).toThrow(/neither a composite .* nor a rule/);
  });
});

describe('evaluate: parseMethodSpec', () => {
  it('adds random and channel pooling to the common syntax', () => {
    expect(parseMethodSpec('random')).toEqual({ label: 'random', method: 'random', pooling: 'sum' });
    expect(() => parseMethodSpec('random@seed=1')).toThrow(/random takes no variant or settings/);
    expect(parseMethodSpec('gradient').pooling).toBe('l2');
    expect(parseMethodSpec('gradient@pool=max-abs').pooling).toBe('max-abs');
    expect(parseMethodSpec('lrp:epsilon@epsilon=0.01').options).toMatchObject({ method: 'lrp', rule: 'epsilon', params: { epsilon: 0.01 } });
    expect(() => parseMethodSpec('sa')).toThrow(/unknown method "sa"/);
  });
});

describe('text experiments: parseTextMethodSpec', () => {
  it("reads the same syntax plus sa, and names the paper's methods as its figures do", () => {
    const lrp = parseTextMethodSpec('lrp');
    expect(lrp.label).toBe('LRP-ε (paper)');
    // A bare lrp names no rule: TextExplainer applies the paper's ε rule.
    expect(lrp.options).toMatchObject({ method: 'lrp', composite: undefined, rule: undefined });
    expect(parseTextMethodSpec('sa')).toMatchObject({ label: 'SA', options: { method: 'sa' } });
    expect(parseTextMethodSpec('lrp:epsilon@epsilon=0.25')).toMatchObject({
      label: 'LRP-ε (ε=0.25)',
      options: { method: 'lrp', rule: 'epsilon', params: { epsilon: 0.25 } },
    });
    expect(parseTextMethodSpec('lrp:epsilon-plus')).toMatchObject({ label: 'LRP epsilon-plus', options: { composite: 'epsilon-plus' } });
    expect(parseTextMethodSpec('integrated-gradients@steps=8')).toMatchObject({
      label: 'integrated-gradients@steps=8',
      options: { method: 'integrated-gradients', steps: 8 },
    });
    expect(DEFAULT_TEXT_METHODS.map((s) => parseTextMethodSpec(s).label)).toEqual([
      'LRP-ε (paper)',
      'SA',
      'gradient-x-input',
      'LRP-ε (ε=0.25)',
      'LRP epsilon-plus',
    ]);
  });

  it('still reads the old spelling lrp:epsilon=E as the same method, and refuses what it cannot mean', () => {
    expect(parseTextMethodSpec('lrp:epsilon=0.25')).toEqual(parseTextMethodSpec('lrp:epsilon@epsilon=0.25'));
    expect(() => parseTextMethodSpec('lrp:epsilon=-1')).toThrow(/epsilon needs a number ≥ 0/);
    expect(() => parseTextMethodSpec('lrp:epsilon=0.25@gamma=1')).toThrow(/settings follow "@"/);
    expect(() => parseTextMethodSpec('random')).toThrow(/always included/);
    expect(() => parseTextMethodSpec('saliency')).toThrow(/unknown method "saliency"/);
    expect(() => parseTextMethodSpec('sa:epsilon')).toThrow(/only lrp takes a variant/);
  });
});
