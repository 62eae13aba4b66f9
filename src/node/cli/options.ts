/**
 * The options several commands share, each defined once: a function adds a group of options to a
 * commander Command (so a flag has one spelling, one parser and one help text everywhere), and
 * explainerOptions turns the method flags into explainer options.
 */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { COMPOSITES } from '../../core/composites/index.js';
import { FITS, parseColour } from '../io/image.js';
import { checkMethod, METHODS, type Method } from '../../core/explain/resolve.js';
import type { ExplainerOptions } from '../../core/explain/explainer.js';
import { checkRuleParams, ruleName, ruleParams } from '../../core/rules/spec.js';
import { nonNegInt, num, numList, parseSize, posInt } from './values.js';

/** --threads: every command that runs ONNX Runtime (0 threads asks it for all cores). */
export function threadsOption(cmd: Command): Command {
  return cmd.option('--threads <n>', 'ONNX Runtime threads (default: all cores)', posInt('--threads'));
}

/** --quiet; `help` says what is still printed where it is more than nothing. */
export function quietOption(cmd: Command, help = 'print nothing on success'): Command {
  return cmd.option('--quiet', help);
}

/** --seed; `what` names the randomness it seeds. */
export function seedOption(cmd: Command, what: string, defaultValue?: number): Command {
  return cmd.option('--seed <n>', `random seed (${what})`, nonNegInt('--seed'), defaultValue);
}

/** --batch-size of the commands that run a model in batches (train's --batch-size is its mini-batch). */
export function batchSizeOption(cmd: Command, defaultSize: number, what = 'samples per runtime call'): Command {
  return cmd.option('--batch-size <n>', `${what} (default ${defaultSize})`, posInt('--batch-size'));
}

/** --input-range; `also` adds what else the command uses the range for. */
export function inputRangeOption(cmd: Command, also = ''): Command {
  return cmd.option(
    '--input-range <lo,hi>',
    `range of raw input values: the zB/box bounds of LRP's first layer, carried through in-model normalisation (default: the model card's input.range)${also}`,
    numList('--input-range'),
  );
}

/** The LRP rule parameters (for evaluate: the defaults of every method, which a spec's @key=value overrides). */
export function ruleParamOptions(cmd: Command, epsilonDefault = '1e-6'): Command {
  return cmd
    .option('--epsilon <e>', `epsilon of the epsilon rule (default ${epsilonDefault})`, num('--epsilon'))
    .option('--gamma <g>', 'gamma of the gamma rule (default 0.25)', num('--gamma'))
    .option('--alpha <a>', 'alpha of the alpha-beta rule (default 2)', num('--alpha'))
    .option('--beta <b>', 'beta of the alpha-beta rule (default alpha - 1)', num('--beta'))
    .option('--low <l>', 'lower bound of the zB/box rule, in the values the first layer sees (default: from --input-range or the model card)', num('--low'))
    .option('--high <h>', 'upper bound of the zB/box rule (default: from --input-range or the model card)', num('--high'))
    .option('--stabilizer <s>', 'stabiliser of the z+, alpha-beta, gamma, box, w² and flat rules (default 1e-6)', num('--stabilizer'))
    .addOption(new Option('--lrn <treatment>', 'LRP on every LRN layer: taylor (Binder et al., default) or identity').choices(['taylor', 'identity']))
    .option('--lrn-epsilon <e>', 'epsilon of the Taylor LRN rule, > 0 (default 1e-6)', num('--lrn-epsilon'))
    .option('--lrn-beta <b>', 'use the beta variant of the Taylor LRN rule with this beta ≥ 0 instead of the epsilon variant', num('--lrn-beta'));
}

/** The LRN treatment from --lrn, --lrn-epsilon and --lrn-beta (undefined: the default). */
function lrnChoice(f: MethodFlags): ExplainerOptions['lrn'] {
  if (f.lrn === undefined && f.lrnEpsilon === undefined && f.lrnBeta === undefined) return undefined;
  if (f.lrn === 'identity') {
    if (f.lrnEpsilon !== undefined || f.lrnBeta !== undefined)
      throw new Error(`--lrn identity takes no ${f.lrnEpsilon !== undefined ? '--lrn-epsilon' : '--lrn-beta'}`);
    return 'identity';
  }
  if (f.lrnEpsilon !== undefined && f.lrnBeta !== undefined)
    throw new Error('give either --lrn-epsilon (epsilon variant) or --lrn-beta (beta variant), not both');
  if (f.lrnEpsilon !== undefined && !(f.lrnEpsilon > 0)) throw new Error(`--lrn-epsilon must be > 0, got ${f.lrnEpsilon}`);
  if (f.lrnBeta !== undefined && !(f.lrnBeta >= 0)) throw new Error(`--lrn-beta must be ≥ 0, got ${f.lrnBeta}`);
  if (f.lrnBeta !== undefined) return { rule: 'lrn-taylor', beta: f.lrnBeta };
  return f.lrnEpsilon !== undefined ? { rule: 'lrn-taylor', epsilon: f.lrnEpsilon } : { rule: 'lrn-taylor' };
}

/** --composite, --rule and --rules: which LRP rule each layer gets; `compositeDefault` says what applies without them. */
export function lrpRuleChoiceOptions(cmd: Command, compositeDefault: string): Command {
  return cmd
    .option('--composite <name>', `LRP composite: ${Object.keys(COMPOSITES).join(', ')} (default: ${compositeDefault})`)
    .option('--rule <name>', 'one LRP rule on every dense/conv layer: epsilon, zplus, alphabeta, gamma, zbox, wsquare, flat')
    .option('--rules <file>', 'JSON mapping node name (or @first, @conv, @dense) to a rule, overriding the composite');
}

/** Integrated gradients' steps and SmoothGrad's samples and noise (`stepsFlag`: evaluate's --steps are its perturbation steps). */
export function samplingOptions(cmd: Command, stepsFlag: '--steps' | '--ig-steps' = '--steps'): Command {
  return cmd
    .option(`${stepsFlag} <n>`, 'integrated gradients: steps of the Riemann sum (default 32)', posInt(stepsFlag))
    .option('--samples <n>', 'smoothgrad: noisy samples (default 16)', posInt('--samples'))
    .option('--noise-level <s>', "smoothgrad: noise sigma as a fraction of each input's value range (default 0.1)", num('--noise-level'));
}

/** How images are decoded into the model's input; `scope` says which inputs are images (explain: the input file; evaluate: image folders). */
export function imageOptions(cmd: Command, scope: string, withOrder = false): Command {
  cmd
    .option('--size <HxW>', `${scope}: resize to this size (default: the model input size)`, parseSize)
    .addOption(new Option('--channels <n>', `${scope}: 1 (grayscale) or 3 (RGB)`).choices(['1', '3']).argParser((v) => Number(v) as 1 | 3))
    .addOption(new Option('--layout <l>', 'tensor layout of the images (default: the axis of size 1 or 3 is the channel axis)').choices(['nchw', 'nhwc']));
  if (withOrder) cmd.addOption(new Option('--order <o>', `${scope}: channel order`).choices(['rgb', 'bgr']));
  return imageFitOptions(cmd, scope)
    .option('--scale <s>', `${scope}: pixel multiplier (default 1/255)`, num('--scale'))
    .option('--mean <m>', `${scope}: per-channel mean subtracted after scaling, e.g. 0.485,0.456,0.406`, numList('--mean'))
    .option('--std <s>', `${scope}: per-channel std, e.g. 0.229,0.224,0.225`, numList('--std'));
}

/** --fit and --background: how images of another aspect ratio, or with transparency, become the model's input. */
export function imageFitOptions(cmd: Command, scope: string): Command {
  return cmd
    .addOption(
      new Option('--fit <how>', `${scope}: another aspect ratio than the model's: squash (default), crop (the centre), pad (with --background)`).choices([
        ...FITS,
      ]),
    )
    .option('--background <colour>', `${scope}: what transparent pixels (and --fit pad) become: white (default), black or #rrggbb`, parseColour);
}

/** The method flags of `explain` and `inspect`. */
export function explainMethodOptions(cmd: Command, more: readonly string[] = []): Command {
  cmd.option('--method <name>', `attribution method: ${[...METHODS, ...more].join(', ')}`, 'lrp');
  lrpRuleChoiceOptions(cmd, 'epsilon-plus-flat');
  ruleParamOptions(cmd);
  inputRangeOption(cmd);
  samplingOptions(cmd);
  seedOption(cmd, 'smoothgrad');
  batchSizeOption(cmd, 32);
  return threadsOption(cmd);
}

export interface MethodFlags {
  method?: string;
  composite?: string;
  rule?: string;
  rules?: string;
  epsilon?: number;
  gamma?: number;
  alpha?: number;
  beta?: number;
  low?: number;
  high?: number;
  stabilizer?: number;
  lrn?: string;
  lrnEpsilon?: number;
  lrnBeta?: number;
  inputRange?: number[];
  steps?: number;
  samples?: number;
  noiseLevel?: number;
  seed?: number;
  batchSize?: number;
  threads?: number;
}

/** A --rules file: a JSON object from node name (or selector) to rule. */
export function readRulesFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read rules file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let rules: unknown;
  try {
    rules = JSON.parse(text);
  } catch (e) {
    throw new Error(`cannot parse rules file ${path}: ${(e as Error).message}`);
  }
  if (!rules || typeof rules !== 'object' || Array.isArray(rules)) throw new Error(`rules file ${path} must hold a JSON object from node name to rule`);
  return rules as Record<string, unknown>;
}

/** Explainer options from the method flags; `method` is resolved by the caller where it knows more methods (explain-text's sa). */
export function explainerOptions(f: MethodFlags, method: Method = checkMethod(f.method ?? 'lrp')): ExplainerOptions {
  if (method !== 'lrp' && (f.composite || f.rule)) throw new Error(`--composite and --rule apply to --method lrp, not ${f.method ?? method}`);
  if (f.composite && f.rule) throw new Error('give either --composite or --rule, not both');
  if (f.inputRange && (f.inputRange.length !== 2 || !(f.inputRange[0]! < f.inputRange[1]!)))
    throw new Error(`--input-range needs LOW,HIGH with LOW < HIGH, got ${f.inputRange.join(',')}`);
  // Domains are checked here to name the flags; the explainer checks the same for API users.
  const params = { epsilon: f.epsilon, gamma: f.gamma, alpha: f.alpha, beta: f.beta, low: f.low, high: f.high, stabilizer: f.stabilizer };
  checkRuleParams(params, (k) => `--${k}`);
  if (f.rule) {
    // One rule everywhere: a parameter it does not take would be silently ignored.
    const takes = ruleParams(f.rule);
    const extra = (Object.keys(params) as (keyof typeof params)[]).find((k) => params[k] !== undefined && !takes.includes(k));
    if (extra && ruleName(f.rule))
      throw new Error(`--rule ${f.rule} takes no --${extra}${takes.length ? ` (it takes ${takes.map((k) => `--${k}`).join(', ')})` : ''}`);
  }
  const lrn = lrnChoice(f);
  if (lrn !== undefined && method !== 'lrp') throw new Error(`--lrn, --lrn-epsilon and --lrn-beta apply to --method lrp, not ${f.method ?? method}`);
  if (f.noiseLevel !== undefined && f.noiseLevel < 0) throw new Error(`--noise-level must be ≥ 0, got ${f.noiseLevel}`);
  return {
    method,
    composite: f.composite,
    rule: f.rule,
    rules: f.rules ? readRulesFile(f.rules) : undefined,
    lrn,
    params,
    inputRange: f.inputRange as [number, number] | undefined,
    steps: f.steps,
    samples: f.samples,
    noiseLevel: f.noiseLevel,
    seed: f.seed,
    batchSize: f.batchSize,
    threads: f.threads,
  };
}
