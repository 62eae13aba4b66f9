/**
 * Float64 references for tiny DBMs: the centered energy evaluated term by term as written in
 * arXiv 1203.3783, every joint state enumerated, no analytic sums, no ONNX; and one training
 * update written as the reference algorithm reads, fed the same uniforms as the trainer.
 */
import type { DbmParams } from '../../src/core/boltzmann/dbm.js';
import { rngFor } from '../../src/core/math/rng.js';

export const bits = (index: number, n: number) => Array.from({ length: n }, (_, j) => Math.floor(index / 2 ** j) % 2);

/** E(x) = −Σ_l (x⁽ˡ⁾ − o⁽ˡ⁾)ᵀ W⁽ˡ⁾ (x⁽ˡ⁺¹⁾ − o⁽ˡ⁺¹⁾) − Σ_l (x⁽ˡ⁾ − o⁽ˡ⁾)ᵀ b⁽ˡ⁾. */
export function dbmEnergy64(p: DbmParams, x: number[][]): number {
  const { sizes } = p;
  let e = 0;
  for (let l = 0; l < sizes.length; l++) for (let i = 0; i < sizes[l]!; i++) e -= (x[l]![i]! - p.o[l]![i]!) * p.b[l]![i]!;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const n = sizes[l + 1]!;
    for (let i = 0; i < sizes[l]!; i++) for (let j = 0; j < n; j++) e -= (x[l]![i]! - p.o[l]![i]!) * p.W[l]![i * n + j]! * (x[l + 1]![j]! - p.o[l + 1]![j]!);
  }
  return e;
}

/** Every joint state as layers, in a fixed order (index = Σ bits over all units, visible first). */
export function allStates(sizes: number[]): number[][][] {
  const total = sizes.reduce((s, n) => s + n, 0);
  const out: number[][][] = [];
  for (let k = 0; k < 2 ** total; k++) {
    const flat = bits(k, total);
    let at = 0;
    out.push(sizes.map((n) => flat.slice(at, (at += n))));
  }
  return out;
}

export function lse64(x: number[]): number {
  const m = Math.max(...x);
  return m + Math.log(x.reduce((s, t) => s + Math.exp(t - m), 0));
}

/** −E of every joint state (unnormalised log-probabilities). */
export function negEnergies64(p: DbmParams): number[] {
  return allStates(p.sizes).map((x) => -dbmEnergy64(p, x));
}

/** log Z of the centered energy as written. */
export function dbmLogZ64(p: DbmParams): number {
  return lse64(negEnergies64(p));
}

/** log p(v) for every visible state v (index = Σ v_i 2^i). */
export function dbmVisibleLogProbs64(p: DbmParams): number[] {
  const nv = p.sizes[0]!;
  const byV: number[][] = Array.from({ length: 2 ** nv }, () => []);
  for (const x of allStates(p.sizes)) byV[x[0]!.reduce((s, b, i) => s + b * 2 ** i, 0)]!.push(-dbmEnergy64(p, x));
  const m = byV.map(lse64);
  const z = lse64(m);
  return m.map((t) => t - z);
}

export interface StepSettings {
  positive: 'meanfield' | 'sample';
  P: number;
  K: number;
  lr: number;
  nu: number;
  decay: number;
  seed: number;
  step: number;
}

/** One update as the reference algorithm reads, float64, the uniforms drawn as DbmTrainer.step draws them. */
export function dbmStep64(p: DbmParams, x: number[][], chains: number[][][], s: StepSettings) {
  const { sizes } = p;
  const L = sizes.length - 1;
  const sig = (t: number) => 1 / (1 + Math.exp(-t));
  const total = sizes.reduce((a, n) => a + n, 0);
  const hidden = total - sizes[0]!;
  const B = x.length;
  const C = chains[0]!.length;
  const rng = rngFor(s.seed, 'dbm-step', s.step);
  const uNeg = Array.from({ length: s.K * C * total }, rng);
  const uPos = s.positive === 'sample' ? Array.from({ length: s.P * B * hidden }, rng) : [];
  const start = (l: number, from: number) => sizes.slice(from, l).reduce((a, n) => a + n, 0);
  // Input to unit i of layer l given rows of neighbouring layers (states per layer, null = at offset).
  const input = (l: number, i: number, below: number[] | null, above: number[] | null) => {
    let t = p.b[l]![i]!;
    if (below) for (let k = 0; k < sizes[l - 1]!; k++) t += (below[k]! - p.o[l - 1]![k]!) * p.W[l - 1]![k * sizes[l]! + i]!;
    if (above) for (let j = 0; j < sizes[l + 1]!; j++) t += p.W[l]![i * sizes[l + 1]! + j]! * (above[j]! - p.o[l + 1]![j]!);
    return t;
  };
  const order = [...sizes.keys()].filter((l) => l % 2 === 1).concat([...sizes.keys()].filter((l) => l % 2 === 0));
  // Positive phase per sample.
  const data = x.map((row, r) => {
    const xs: (number[] | null)[] = sizes.map(() => null);
    xs[0] = row;
    for (let round = 0; round < s.P; round++)
      for (const l of order.filter((l) => l > 0))
        xs[l] = Array.from({ length: sizes[l]! }, (_, i) => {
          const q = sig(input(l, i, xs[l - 1]!, l < L ? xs[l + 1]! : null));
          return s.positive === 'sample' ? (uPos[(round * B + r) * hidden + start(l, 1) + i]! < q ? 1 : 0) : q;
        });
    return xs as number[][];
  });
  const model = Array.from({ length: C }, (_, c) => chains.map((layer) => [...layer[c]!]));
  for (let k = 0; k < s.K; k++)
    for (const l of order)
      for (let c = 0; c < C; c++) {
        const xs = model[c]!;
        xs[l] = Array.from({ length: sizes[l]! }, (_, i) => {
          const q = sig(input(l, i, l > 0 ? xs[l - 1]! : null, l < L ? xs[l + 1]! : null));
          return uNeg[(k * C + c) * total + start(l, 0) + i]! < q ? 1 : 0;
        });
      }
  const W = p.W.map((w, l) => {
    const n = sizes[l + 1]!;
    return Array.from(w, (wij, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      const cov = (rows: number[][][]) => rows.reduce((acc, xs) => acc + (xs[l]![i]! - p.o[l]![i]!) * (xs[l + 1]![j]! - p.o[l + 1]![j]!), 0) / rows.length;
      return wij + s.lr * (cov(data) - cov(model) - s.decay * wij);
    });
  });
  const mean = (rows: number[][][], l: number, i: number) => rows.reduce((acc, xs) => acc + xs[l]![i]!, 0) / rows.length;
  const delta = sizes.map((n, l) => Array.from({ length: n }, (_, i) => (l === 0 ? 0 : s.nu * (mean(data, l, i) - p.o[l]![i]!))));
  const b = sizes.map((n, l) =>
    Array.from({ length: n }, (_, i) => {
      let t = p.b[l]![i]! + s.lr * (mean(data, l, i) - mean(model, l, i));
      if (l < L) for (let j = 0; j < sizes[l + 1]!; j++) t += W[l]![i * sizes[l + 1]! + j]! * delta[l + 1]![j]!;
      if (l > 0) for (let k = 0; k < sizes[l - 1]!; k++) t += delta[l - 1]![k]! * W[l - 1]![k * n + i]!;
      return t;
    }),
  );
  const o = sizes.map((n, l) => Array.from({ length: n }, (_, i) => p.o[l]![i]! + delta[l]![i]!));
  return { W, b, o, chains: sizes.map((_, l) => model.map((xs) => xs[l]!)) };
}
