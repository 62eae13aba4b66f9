/**
 * The input expansion of the NIPS 2012 network (the reference code's "binarisation"): each input
 * dimension x_i becomes the smooth thermometer code [tanh((x_i − t)/θ) for t = 0, θ, 2θ, …,
 * while t < max_i + θ], then every feature is centred by its own mean and all are divided by one
 * global standard deviation. max_i, the means and the scale are statistics of training data only
 * (max_i over several random realisations of every training molecule), so test molecules may
 * exceed max_i; tanh saturates there.
 */

export interface Expansion {
  /** θ, in the units of the inputs (atomic units for Coulomb matrices). */
  step: number;
  /** Per input dimension: the largest training value seen. */
  max: Float64Array;
  /** Per input dimension: the index of its first feature (length D + 1; the last entry is the width). */
  offsets: Int32Array;
  /** Per feature: its training mean. */
  mean: Float64Array;
  /** One global standard deviation of the centred features. */
  std: number;
}

/** Thresholds for a maximum m: numpy's arange(0, m + θ, θ), i.e. ceil((m + θ)/θ) of them (at least 1). */
function thresholds(max: number, step: number): number {
  return Math.max(1, Math.ceil((Math.max(max, 0) + step) / step - 1e-12));
}

/**
 * Fit the expansion: `maxRows` are realisations of the training inputs (each N×D, row-major) whose
 * per-dimension maxima fix the thresholds; `statRows` is one realisation for the means and the scale.
 */
export function fitExpansion(maxRows: Float64Array[], statRows: Float64Array, D: number, step = 1): Expansion {
  if (!(step > 0)) throw new Error(`expansion step must be positive, got ${step}`);
  const max = new Float64Array(D).fill(-Infinity);
  for (const rows of maxRows) for (let k = 0; k < rows.length; k++) if (rows[k]! > max[k % D]!) max[k % D] = rows[k]!;
  const offsets = new Int32Array(D + 1);
  for (let i = 0; i < D; i++) offsets[i + 1] = offsets[i]! + thresholds(max[i]!, step);
  const W = offsets[D]!;
  const e: Expansion = { step, max, offsets, mean: new Float64Array(W), std: 1 };
  const N = statRows.length / D;
  if (!Number.isInteger(N) || N < 1) throw new Error(`expansion statistics need whole rows of ${D} values`);
  const feat = new Float64Array(W);
  const sum = new Float64Array(W);
  const sumSq = new Float64Array(W);
  for (let n = 0; n < N; n++) {
    rawFeatures(e, statRows.subarray(n * D, (n + 1) * D), feat);
    for (let f = 0; f < W; f++) {
      sum[f] = sum[f]! + feat[f]!;
      sumSq[f] = sumSq[f]! + feat[f]! ** 2;
    }
  }
  // The reference code's (X − mean).std(): one scale over all centred features.
  let ss = 0;
  for (let f = 0; f < W; f++) {
    e.mean[f] = sum[f]! / N;
    ss += sumSq[f]! / N - e.mean[f]! ** 2;
  }
  e.std = Math.sqrt(Math.max(ss, 0) / W) || 1;
  return e;
}

export const expansionWidth = (e: Expansion) => e.offsets[e.offsets.length - 1]!;

/** The thermometer features of one input row, before standardisation. */
function rawFeatures(e: Expansion, x: ArrayLike<number>, out: Float64Array | Float32Array, at = 0): void {
  const D = e.max.length;
  for (let i = 0; i < D; i++) {
    const xi = x[i]!;
    for (let f = e.offsets[i]!, k = 0; f < e.offsets[i + 1]!; f++, k++) out[at + f] = Math.tanh((xi - k * e.step) / e.step);
  }
}

/**
 * Per feature, the standardised value of a saturated code, (±1 − mean)/std as float32: what
 * expandRows writes without calling tanh where the argument is at least 10 in magnitude. The codes
 * are rounded to float32, and there tanh is within 4·10⁻⁹ of ±1, less than half float32's spacing
 * below 1 (3·10⁻⁸): the rounded code is exactly ±1, so the rows are the same.
 */
const saturated = new WeakMap<Expansion, { hi: Float32Array; lo: Float32Array; zero: Float32Array }>();
function saturatedValues(e: Expansion): { hi: Float32Array; lo: Float32Array; zero: Float32Array } {
  let s = saturated.get(e);
  if (!s) {
    const W = expansionWidth(e);
    s = { hi: new Float32Array(W), lo: new Float32Array(W), zero: new Float32Array(W) };
    for (let f = 0; f < W; f++) {
      s.hi[f] = (1 - e.mean[f]!) / e.std;
      s.lo[f] = (-1 - e.mean[f]!) / e.std;
    }
    // Inputs that are exactly 0 (the padding rows and columns of small molecules): one fixed code per dimension.
    const D = e.max.length;
    const zeros = new Float64Array(D);
    expandInto(e, zeros, 0, s.zero, 0, s.hi, s.lo);
    saturated.set(e, s);
  }
  return s;
}
const TANH_SATURATES = 10;

/**
 * Expanded, standardised features of N rows (x: N×D) as float32 N×width, ready to feed; into
 * `out` when given (it must hold N×width values), so a caller may reuse one buffer.
 */
export function expandRows(e: Expansion, x: Float64Array, out?: Float32Array): Float32Array {
  const D = e.max.length;
  const W = expansionWidth(e);
  const N = x.length / D;
  if (out && out.length < N * W) throw new Error(`expandRows: the output holds ${out.length} values, ${N * W} are needed`);
  const res = out ?? new Float32Array(N * W);
  const { hi, lo, zero } = saturatedValues(e);
  for (let n = 0; n < N; n++) expandInto(e, x, n * D, res, n * W, hi, lo, zero);
  return res;
}

/** One row: x[from … from + D) expanded into out[at …]. */
function expandInto(e: Expansion, x: Float64Array, from: number, out: Float32Array, at: number, hi: Float32Array, lo: Float32Array, zero?: Float32Array) {
  const { offsets, mean, std, step } = e;
  const D = e.max.length;
  // Thresholds rise along a dimension's features, so its codes run +1 …, tanh …, −1 …: only the middle needs tanh.
  for (let i = 0; i < D; i++) {
    const xi = x[from + i]!;
    const end = offsets[i + 1]!;
    if (xi === 0 && zero) {
      for (let f = offsets[i]!; f < end; f++) out[at + f] = zero[f]!;
      continue;
    }
    for (let f = offsets[i]!, k = 0; f < end; f++, k++) {
      const y = (xi - k * step) / step;
      if (y >= TANH_SATURATES) out[at + f] = hi[f]!;
      else if (y <= -TANH_SATURATES) {
        for (; f < end; f++) out[at + f] = lo[f]!;
        break;
      }
      // Rounded to float32 before standardising, as the reference does (it stores the codes in the float32 output first).
      else out[at + f] = (Math.fround(Math.tanh(y)) - mean[f]!) / std;
    }
  }
}

/** expandRows as first written, feature by feature (tests compare the two). */
export function expandRowsReference(e: Expansion, x: Float64Array): Float32Array {
  const D = e.max.length;
  const W = expansionWidth(e);
  const N = x.length / D;
  const out = new Float32Array(N * W);
  for (let n = 0; n < N; n++) {
    rawFeatures(e, x.subarray(n * D, (n + 1) * D), out, n * W);
    for (let f = 0; f < W; f++) out[n * W + f] = (out[n * W + f]! - e.mean[f]!) / e.std;
  }
  return out;
}

/** The expansion as JSON (typed arrays as lists), and back. */
export function expansionToJson(e: Expansion): object {
  return { step: e.step, max: Array.from(e.max), offsets: Array.from(e.offsets), mean: Array.from(e.mean), std: e.std };
}

export function expansionFromJson(j: { step: number; max: number[]; offsets: number[]; mean: number[]; std: number }): Expansion {
  return { step: j.step, max: Float64Array.from(j.max), offsets: Int32Array.from(j.offsets), mean: Float64Array.from(j.mean), std: j.std };
}
