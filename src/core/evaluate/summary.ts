/**
 * The summary of a region-perturbation run: per-sample records (as chunks produce them, or as a
 * progress store gives them back) aggregated per method into AOPC, mean curves, ABPC, the paired
 * difference to the random baseline and heatmap complexity.
 */
import { aopc, aopcCurve, meanSe, meanSeCurves, type MeanSe } from './aopc.js';
import type { MethodSpec } from './methods.js';
import type { SampleRecord } from './progress.js';

export interface CurveSummary {
  /** AOPC per the paper (1/(L+1) Σ_k (f(x0) − f(xk))), mean and standard error over samples. */
  aopc: MeanSe;
  /** Per step k = 0..L: mean and s.e. of f(x^(k)). */
  score: { mean: number[]; se: number[] };
  /** Per step: mean and s.e. of f(x^(0)) − f(x^(k)). */
  drop: { mean: number[]; se: number[] };
  /** Per step: AOPC with the sum truncated at k (normalised by k + 1). */
  aopcCurve: { mean: number[]; se: number[] };
}

export interface MethodResult {
  label: string;
  method: string;
  composite?: string;
  rule?: string;
  params?: Record<string, number>;
  pooling: string;
  n: number;
  morf: CurveSummary;
  lerf: CurveSummary;
  /** AOPC_MoRF − AOPC_LeRF per sample (area between the curves). */
  abpc: MeanSe;
  /** MoRF AOPC minus the random baseline's, paired per sample (when a random baseline was run). */
  morfVsRandom?: MeanSe;
  complexity?: { png: MeanSe; entropy: MeanSe };
}

function summariseCurves(curves: number[][]): CurveSummary {
  const drops = curves.map((c) => c.map((v) => c[0]! - v));
  return {
    aopc: meanSe(curves.map((c) => aopc(c))),
    score: meanSeCurves(curves),
    drop: meanSeCurves(drops),
    aopcCurve: meanSeCurves(curves.map((c) => aopcCurve(c))),
  };
}

/** Aggregate per-sample records into per-method results. */
export function summarise(methods: MethodSpec[], records: SampleRecord[]): MethodResult[] {
  const byMethod = new Map<string, SampleRecord[]>();
  for (const r of records) {
    const l = byMethod.get(r.method) ?? [];
    l.push(r);
    byMethod.set(r.method, l);
  }
  for (const l of byMethod.values()) l.sort((a, b) => a.i - b.i);
  const random = methods.find((m) => m.method === 'random');
  const randomAopc = new Map<number, number>();
  if (random) for (const r of byMethod.get(random.label) ?? []) randomAopc.set(r.i, aopc(r.morf));
  return methods.map((m) => {
    const recs = byMethod.get(m.label) ?? [];
    const o = m.options;
    const out: MethodResult = {
      label: m.label,
      method: m.method,
      composite: m.method === 'lrp' && !o?.rule ? (o?.composite ?? 'epsilon-plus-flat') : undefined,
      rule: o?.rule,
      pooling: m.pooling,
      n: recs.length,
      morf: summariseCurves(recs.map((r) => r.morf)),
      lerf: summariseCurves(recs.map((r) => r.lerf)),
      abpc: meanSe(recs.map((r) => aopc(r.morf) - aopc(r.lerf))),
    };
    const params = Object.fromEntries(
      Object.entries({ ...(o?.params ?? {}), steps: o?.steps, samples: o?.samples, noiseLevel: o?.noiseLevel }).filter(([, v]) => v !== undefined),
    ) as Record<string, number>;
    if (Object.keys(params).length > 0) out.params = params;
    if (random && m !== random) {
      const paired = recs.filter((r) => randomAopc.has(r.i)).map((r) => aopc(r.morf) - randomAopc.get(r.i)!);
      if (paired.length > 0) out.morfVsRandom = meanSe(paired);
    }
    if (recs.length > 0 && recs[0]!.png !== undefined) {
      out.complexity = { png: meanSe(recs.map((r) => r.png!)), entropy: meanSe(recs.map((r) => r.entropy!)) };
    }
    return out;
  });
}
