/**
 * A binary deep Boltzmann machine of any depth, optionally centered (Montavon & Müller, "Deep
 * Boltzmann machines and the centering trick", arXiv 1203.3783, §2–3). Layers x⁽⁰⁾ (visible) …
 * x⁽ᴸ⁾, connections only between neighbours:
 *
 *   E(x) = − Σ_{l<L} (x⁽ˡ⁾ − o⁽ˡ⁾)ᵀ W⁽ˡ⁾ (x⁽ˡ⁺¹⁾ − o⁽ˡ⁺¹⁾) − Σ_l (x⁽ˡ⁾ − o⁽ˡ⁾)ᵀ b⁽ˡ⁾.
 *
 * Offsets o only re-parameterise the family: the uncentered biases are
 * a⁽ˡ⁾ = b⁽ˡ⁾ − W⁽ˡ⁾ o⁽ˡ⁺¹⁾ − W⁽ˡ⁻¹⁾ᵀ o⁽ˡ⁻¹⁾ and the energy changes by a constant
 * ({@link uncenteredDbm}). Moving the offsets by δ with b⁽ˡ⁾ += W⁽ˡ⁾ δ⁽ˡ⁺¹⁾ + W⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁻¹⁾ keeps
 * every a⁽ˡ⁾, hence the distribution ({@link moveDbmOffsets}); the training graph does the same.
 * A DBM with one hidden layer is an RBM.
 */

export interface DbmParams {
  /** Units per layer, visible first: [n₀, n₁, …, n_L], L ≥ 1. */
  sizes: number[];
  /** W[l] is [n_l, n_{l+1}] row-major: W[l][i * n_{l+1} + j] couples unit i of layer l and unit j of layer l+1. */
  W: Float32Array[];
  /** Centered-form biases, one per layer. */
  b: Float32Array[];
  /** Offsets, one per layer (zeros: uncentered). */
  o: Float32Array[];
}

/** The same model in the usual form E = −Σ x⁽ˡ⁾ᵀW⁽ˡ⁾x⁽ˡ⁺¹⁾ − Σ a⁽ˡ⁾ᵀx⁽ˡ⁾ (float64). */
export interface UncenteredDbm {
  sizes: number[];
  W: Float64Array[];
  a: Float64Array[];
  /** E_centered(x) = E_uncentered(x) + shift, so log Z_centered = log Z_uncentered − shift. */
  shift: number;
}

/** W⁽ˡ⁾ v (v over layer l+1), float64. */
function matVec(W: ArrayLike<number>, rows: number, cols: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += W[i * cols + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

/** W⁽ˡ⁾ᵀ v (v over layer l), float64. */
function matTVec(W: ArrayLike<number>, rows: number, cols: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j]! += W[i * cols + j]! * v[i]!;
  return out;
}

export function checkDbmSizes(sizes: number[]): void {
  if (sizes.length < 2) throw new Error(`a DBM needs a visible and at least one hidden layer, got sizes ${JSON.stringify(sizes)}`);
  for (const n of sizes) if (!Number.isInteger(n) || n < 1) throw new Error(`layer sizes must be integers ≥ 1, got ${JSON.stringify(sizes)}`);
}

/** The uncentered biases and the energy's constant (float64). */
export function uncenteredDbm(p: DbmParams): UncenteredDbm {
  const { sizes } = p;
  const L = sizes.length - 1;
  const a = p.b.map((b) => Float64Array.from(b));
  let shift = 0;
  for (let l = 0; l <= L; l++) for (let i = 0; i < sizes[l]!; i++) shift += p.o[l]![i]! * p.b[l]![i]!;
  for (let l = 0; l < L; l++) {
    const Wo = matVec(p.W[l]!, sizes[l]!, sizes[l + 1]!, p.o[l + 1]!);
    const WTo = matTVec(p.W[l]!, sizes[l]!, sizes[l + 1]!, p.o[l]!);
    for (let i = 0; i < sizes[l]!; i++) {
      a[l]![i]! -= Wo[i]!;
      shift -= p.o[l]![i]! * Wo[i]!;
    }
    for (let j = 0; j < sizes[l + 1]!; j++) a[l + 1]![j]! -= WTo[j]!;
  }
  return { sizes: [...sizes], W: p.W.map((w) => Float64Array.from(w)), a, shift };
}

/**
 * Move the offsets to `o` and shift the biases, b⁽ˡ⁾ += W⁽ˡ⁾ δ⁽ˡ⁺¹⁾ + W⁽ˡ⁻¹⁾ᵀ δ⁽ˡ⁻¹⁾ with δ = o_new − o_old
 * (arXiv 1203.3783, the reparameterisation of §3), so that the distribution is unchanged.
 */
export function moveDbmOffsets(p: DbmParams, o: ArrayLike<number>[]): DbmParams {
  const { sizes } = p;
  const L = sizes.length - 1;
  if (o.length !== L + 1 || o.some((ol, l) => ol.length !== sizes[l])) throw new Error('offsets do not match the layer sizes');
  const delta = o.map((ol, l) => Float64Array.from(ol, (v, i) => v - p.o[l]![i]!));
  const b = p.b.map((bl) => Float64Array.from(bl));
  for (let l = 0; l < L; l++) {
    const Wd = matVec(p.W[l]!, sizes[l]!, sizes[l + 1]!, delta[l + 1]!);
    const WTd = matTVec(p.W[l]!, sizes[l]!, sizes[l + 1]!, delta[l]!);
    for (let i = 0; i < sizes[l]!; i++) b[l]![i]! += Wd[i]!;
    for (let j = 0; j < sizes[l + 1]!; j++) b[l + 1]![j]! += WTd[j]!;
  }
  return { sizes: [...sizes], W: p.W.map((w) => w.slice()), b: b.map((x) => Float32Array.from(x)), o: o.map((x) => Float32Array.from(x)) };
}

export interface DbmInit {
  /** Per-visible-unit data mean. */
  dataMean: ArrayLike<number>;
  centered: boolean;
  /** Initial hidden biases (default −1, as in the reference code). */
  hiddenBias?: number;
  /** Standard deviation of the initial weights (default 0: the reference code; sampling noise breaks symmetry). */
  weightStd?: number;
  /** Gaussian draws for the weights (only used when weightStd > 0). */
  gaussian?: () => number;
}

const logit = (m: number) => Math.log(m / (1 - m));
const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

/**
 * The reference code's initialisation (arXiv 1203.3783, §5.3 of the digest): W = 0 (or small
 * Gaussian), b⁽⁰⁾ = logit(clip(data mean, 0.01, 0.99)), hidden b = −1; centered offsets
 * o⁽⁰⁾ = data mean, hidden o = σ(b) (= σ(−1) ≈ 0.269); uncentered offsets 0.
 */
export function initDbm(sizes: number[], init: DbmInit): DbmParams {
  checkDbmSizes(sizes);
  if (init.dataMean.length !== sizes[0]) throw new Error(`data mean has ${init.dataMean.length} values for ${sizes[0]} visible units`);
  const L = sizes.length - 1;
  const std = init.weightStd ?? 0;
  const W = Array.from({ length: L }, (_, l) => {
    const w = new Float32Array(sizes[l]! * sizes[l + 1]!);
    if (std > 0) {
      if (!init.gaussian) throw new Error('internal: weightStd > 0 needs a Gaussian stream');
      for (let k = 0; k < w.length; k++) w[k] = std * init.gaussian();
    }
    return w;
  });
  const hb = init.hiddenBias ?? -1;
  const b = sizes.map((n, l) => (l === 0 ? Float32Array.from(init.dataMean, (m) => logit(Math.min(0.99, Math.max(0.01, m)))) : new Float32Array(n).fill(hb)));
  const o = sizes.map((n, l) => {
    if (!init.centered) return new Float32Array(n);
    return l === 0 ? Float32Array.from(init.dataMean) : new Float32Array(n).fill(sigmoid(hb));
  });
  return { sizes: [...sizes], W, b, o };
}

export function cloneDbm(p: DbmParams): DbmParams {
  return { sizes: [...p.sizes], W: p.W.map((w) => w.slice()), b: p.b.map((x) => x.slice()), o: p.o.map((x) => x.slice()) };
}

/** Indices of the layers of one parity: 'odd' = 1, 3, …; 'even' = 0, 2, … (the visible layer is even). */
export function layersOfParity(L: number, parity: 'odd' | 'even'): number[] {
  const out: number[] = [];
  for (let l = parity === 'odd' ? 1 : 0; l <= L; l += 2) out.push(l);
  return out;
}
