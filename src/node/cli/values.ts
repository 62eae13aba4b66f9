/** Parsers and checks of single command-line values (numbers, sizes, targets), shared by the commands. */
import type { Target } from '../../core/explain/explainer.js';

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

export function nonNegInt(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !Number.isInteger(x) || x < 0) throw new Error(`${flag} needs an integer ≥ 0, got "${v}"`);
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
  if (parts.some((p) => p === '') || nums.some((x) => !Number.isInteger(x)))
    throw new Error(`--target needs a class index, a comma-separated list, or "predicted"; got "${v}"`);
  return nums.length === 1 ? nums[0]! : nums;
}
