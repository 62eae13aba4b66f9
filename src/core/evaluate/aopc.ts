/**
 * AOPC, "area over the MoRF perturbation curve" (Samek et al., arXiv 1509.06321; papers digest
 * §4.3 item 6):
 *
 *   AOPC = 1/(L+1) · ⟨ Σ_{k=0}^{L} ( f(x^(0)) − f(x^(k)) ) ⟩_{p(x)}
 *
 * with L perturbation steps; the k = 0 term is zero but counts in the 1/(L+1). Higher MoRF AOPC
 * = the heatmap found the regions whose removal hurts the score most. The same formula on the
 * LeRF curve should be small (ideally ≤ 0); ABPC = AOPC_MoRF − AOPC_LeRF is the area between
 * the two curves.
 */

/** AOPC of one curve `scores[k] = f(x^(k))`, k = 0..L. */
export function aopc(scores: ArrayLike<number>): number {
  const n = scores.length;
  if (n < 1) throw new Error('aopc: empty curve');
  const f0 = scores[0]!;
  let s = 0;
  for (let k = 0; k < n; k++) s += f0 - scores[k]!;
  return s / n;
}

/** AOPC with the sum truncated at each k (normalised by k + 1), as the paper plots it against the number of steps; the last value equals aopc(scores). */
export function aopcCurve(scores: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scores.length);
  const f0 = scores[0]!;
  let s = 0;
  for (let k = 0; k < scores.length; k++) {
    s += f0 - scores[k]!;
    out[k] = s / (k + 1);
  }
  return out;
}

export interface MeanSe {
  mean: number;
  /** Standard error of the mean: sample standard deviation (n − 1) / √n; 0 for one value. */
  se: number;
  n: number;
}

export function meanSe(values: ArrayLike<number>): MeanSe {
  const n = values.length;
  if (n === 0) return { mean: NaN, se: NaN, n: 0 };
  let m = 0;
  for (let i = 0; i < n; i++) m += values[i]!;
  m /= n;
  if (n === 1) return { mean: m, se: 0, n };
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i]! - m) ** 2;
  return { mean: m, se: Math.sqrt(v / (n - 1) / n), n };
}

/** Mean and standard error at every step over many curves of equal length. */
export function meanSeCurves(curves: ArrayLike<number>[]): { mean: number[]; se: number[] } {
  if (curves.length === 0) return { mean: [], se: [] };
  const L = curves[0]!.length;
  const mean: number[] = [];
  const se: number[] = [];
  const col = new Float64Array(curves.length);
  for (let k = 0; k < L; k++) {
    curves.forEach((c, i) => (col[i] = c[k]!));
    const r = meanSe(col);
    mean.push(r.mean);
    se.push(r.se);
  }
  return { mean, se };
}
