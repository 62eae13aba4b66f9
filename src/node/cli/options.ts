/** Parsing and checking of command-line values shared by the commands. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { checkMethod } from '../../core/explain/resolve.js';
import type { ExplainerOptions, Target } from '../../core/explain/explainer.js';

export function num(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isFinite(x)) throw new Error(`${flag} needs a number, got "${v}"`);
    return x;
  };
}

export function posInt(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`${flag} needs a positive integer, got "${v}"`);
    return x;
  };
}

export function numList(flag: string) {
  return (v: string): number[] => v.split(',').map((p) => num(flag)(p));
}

export function parseSize(v: string): [number, number] {
  const m = /^(\d+)[x,](\d+)$/.exec(v.trim());
  if (!m) throw new Error(`--size needs HxW (e.g. 224x224), got "${v}"`);
  return [Number(m[1]), Number(m[2])];
}

export function parseTarget(v: string | undefined): Target {
  if (v === undefined || v === 'predicted') return 'predicted';
  const parts = v.split(',').map((p) => p.trim());
  const nums = parts.map(Number);
  if (parts.some((p) => p === '') || nums.some((x) => !Number.isInteger(x))) throw new Error(`--target needs a class index, a comma-separated list, or "predicted"; got "${v}"`);
  return nums.length === 1 ? nums[0]! : nums;
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
  inputRange?: number[];
  steps?: number;
  samples?: number;
  noiseLevel?: number;
  seed?: number;
  batchSize?: number;
  threads?: number;
}

/** The LRP rule flags every explaining command shares (`epsilonHelp` names the command's default). */
export function ruleOptions(cmd: Command, epsilonHelp = 'epsilon of the epsilon rule'): Command {
  return cmd
    .option('--rules <file>', 'JSON mapping node name (or @first, @conv, @dense) to a rule, overriding the composite')
    .option('--epsilon <e>', epsilonHelp, num('--epsilon'))
    .option('--gamma <g>', 'gamma of the gamma rule', num('--gamma'))
    .option('--alpha <a>', 'alpha of the alpha-beta rule', num('--alpha'))
    .option('--beta <b>', 'beta of the alpha-beta rule', num('--beta'))
    .option('--stabilizer <s>', 'stabiliser of the z+, alpha-beta, gamma, box, w² and flat rules (default 1e-6)', num('--stabilizer'));
}

export function explainerOptions(f: MethodFlags): ExplainerOptions {
  const method = checkMethod(f.method ?? 'lrp');
  if (method !== 'lrp' && (f.composite || f.rule)) throw new Error(`--composite and --rule apply to --method lrp, not ${method}`);
  if (f.composite && f.rule) throw new Error('give either --composite or --rule, not both');
  let rules: Record<string, unknown> | undefined;
  if (f.rules) {
    let text: string;
    try {
      text = readFileSync(f.rules, 'utf8');
    } catch (e) {
      throw new Error(`cannot read rules file ${f.rules}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      rules = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`cannot parse rules file ${f.rules}: ${(e as Error).message}`);
    }
    if (!rules || typeof rules !== 'object' || Array.isArray(rules)) throw new Error(`rules file ${f.rules} must hold a JSON object from node name to rule`);
  }
  if (f.inputRange && (f.inputRange.length !== 2 || !(f.inputRange[0]! < f.inputRange[1]!))) throw new Error('--input-range needs LOW,HIGH with LOW < HIGH');
  return {
    method,
    composite: f.composite,
    rule: f.rule,
    rules,
    params: { epsilon: f.epsilon, gamma: f.gamma, alpha: f.alpha, beta: f.beta, low: f.low, high: f.high, stabilizer: f.stabilizer },
    inputRange: f.inputRange as [number, number] | undefined,
    steps: f.steps,
    samples: f.samples,
    noiseLevel: f.noiseLevel,
    seed: f.seed,
    batchSize: f.batchSize,
    threads: f.threads,
  };
}
