/**
 * Float64 reference of the LRP rules, one layer at a time, written with plain loops and no ONNX,
 * following test/fixtures/lrp/README.md ("LRP rules") formula by formula. Its purpose is
 * to check the compiled explainer graphs: run a layer's rule fragment in ONNX Runtime and compare
 * with the function here.
 *
 * Shapes are row-major. Dense layers take W as [in, out] (W[i*out + j] = w_ij); an ONNX Gemm with
 * transB=1 stores [out, in], see {@link transpose2d64}. Conv and pool functions take 2-D inputs
 * [N, C, H, W] or 1-D inputs [N, C, L] (treated as H = 1).
 *
 * Every Gemm/Conv rule is evaluated on an explicit list of connections (input element i → output
 * element j with weight w_ij). For a convolution the list holds only connections to real input
 * positions, so zero padding "is not an input" exactly as the README demands: it contributes to
 * no sum, and flat/wsquare count only the inputs that exist.
 */

/** A float64 tensor: row-major data with its dims. */
export interface Tensor64 {
  dims: number[];
  data: Float64Array;
}

/** The rule of one Gemm/Conv layer. `stabilizer` defaults to 1e-6, as in Zennit. */
export type LinearRule64 =
  | { rule: 'epsilon'; epsilon: number }
  | { rule: 'zplus'; stabilizer?: number }
  | { rule: 'alphabeta'; alpha: number; beta: number; stabilizer?: number }
  | { rule: 'gamma'; gamma: number; stabilizer?: number }
  | { rule: 'zbox'; low: number; high: number; stabilizer?: number }
  | { rule: 'wsquare'; stabilizer?: number }
  | { rule: 'flat'; stabilizer?: number };

export const DEFAULT_STABILIZER = 1e-6;

/** stab(d) = d + ε·sgn(d) with sgn(0) = +1, so a denominator is never 0. */
export function stab(d: number, eps: number): number {
  return d + (d >= 0 ? eps : -eps);
}

const pos = (a: number): number => (a > 0 ? a : 0);
const neg = (a: number): number => (a < 0 ? a : 0);

function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(`lrp64: ${msg}`);
}

/**
 * The connections of a linear layer for one sample: output j = Σ_e x[from[e]] · weight[e] + bias[j]
 * over the connections e with to[e] = j.
 */
export interface Connections64 {
  nIn: number;
  nOut: number;
  from: Int32Array;
  to: Int32Array;
  weight: Float64Array;
  bias: Float64Array;
}

/** Forward pass of a connection list for one sample (z_j, bias included). */
export function connectionsForward64(c: Connections64, x: Float64Array): Float64Array {
  const z = Float64Array.from(c.bias);
  for (let e = 0; e < c.from.length; e++) z[c.to[e]!]! += x[c.from[e]!]! * c.weight[e]!;
  return z;
}

/**
 * Relevance at the inputs of one sample of a linear layer, by `rule`. `x` is the layer's actual
 * input (nIn values), `R` the relevance at its output (nOut values). The formulas are the
 * README's, term for term.
 */
export function connectionsRule64(c: Connections64, x: Float64Array, R: Float64Array, rule: LinearRule64): Float64Array {
  check(x.length === c.nIn && R.length === c.nOut, `x has ${x.length} (want ${c.nIn}), R has ${R.length} (want ${c.nOut}) values`);
  const { from, to, weight: w, bias: b } = c;
  const E = from.length;
  const Rin = new Float64Array(c.nIn);
  const sEps = rule.rule === 'epsilon' ? rule.epsilon : (rule.stabilizer ?? DEFAULT_STABILIZER);

  switch (rule.rule) {
    case 'epsilon': {
      // z_j = Σ_i x_i w_ij + b_j;  R_i = x_i Σ_j w_ij R_j / stab(z_j)
      const z = connectionsForward64(c, x);
      for (let e = 0; e < E; e++) {
        const i = from[e]!;
        const j = to[e]!;
        Rin[i]! += (x[i]! * w[e]! * R[j]!) / stab(z[j]!, sEps);
      }
      return Rin;
    }
    case 'zplus': {
      // alphabeta(1, 0): p_j = Σ_i (x⁺_i w⁺_ij + x⁻_i w⁻_ij) + b⁺_j;  R_i = Σ_j (x⁺ w⁺ + x⁻ w⁻) R_j / stab(p_j)
      const p = Float64Array.from(b, pos);
      for (let e = 0; e < E; e++) {
        const xi = x[from[e]!]!;
        p[to[e]!]! += pos(xi) * pos(w[e]!) + neg(xi) * neg(w[e]!);
      }
      for (let e = 0; e < E; e++) {
        const i = from[e]!;
        const j = to[e]!;
        const xi = x[i]!;
        Rin[i]! += ((pos(xi) * pos(w[e]!) + neg(xi) * neg(w[e]!)) * R[j]!) / stab(p[j]!, sEps);
      }
      return Rin;
    }
    case 'alphabeta': {
      // p_j = Σ x⁺w⁺ + Σ x⁻w⁻ + b⁺_j;  n_j = Σ x⁺w⁻ + Σ x⁻w⁺ + b⁻_j
      // R_i = α [x⁺_i Σ_j w⁺ R_j/stab(p_j) + x⁻_i Σ_j w⁻ R_j/stab(p_j)] − β [x⁺_i Σ_j w⁻ R_j/stab(n_j) + x⁻_i Σ_j w⁺ R_j/stab(n_j)]
      const { alpha, beta } = rule;
      const p = Float64Array.from(b, pos);
      const n = Float64Array.from(b, neg);
      for (let e = 0; e < E; e++) {
        const xi = x[from[e]!]!;
        const we = w[e]!;
        p[to[e]!]! += pos(xi) * pos(we) + neg(xi) * neg(we);
        n[to[e]!]! += pos(xi) * neg(we) + neg(xi) * pos(we);
      }
      for (let e = 0; e < E; e++) {
        const i = from[e]!;
        const j = to[e]!;
        const xi = x[i]!;
        const we = w[e]!;
        const positive = ((pos(xi) * pos(we) + neg(xi) * neg(we)) * R[j]!) / stab(p[j]!, sEps);
        const negative = ((pos(xi) * neg(we) + neg(xi) * pos(we)) * R[j]!) / stab(n[j]!, sEps);
        Rin[i]! += alpha * positive - beta * negative;
      }
      return Rin;
    }
    case 'gamma': {
      // the sign of the unmodified z_j chooses which weight part is amplified:
      // z_j > 0: u = w + γw⁺ (for x⁺), v = w + γw⁻ (for x⁻), c = b + γb⁺
      // z_j < 0: u = w + γw⁻ (for x⁺), v = w + γw⁺ (for x⁻), c = b + γb⁻
      // d_j = Σ x⁺u + Σ x⁻v + c_j;  R_i = Σ_j (x⁺_i u_ij + x⁻_i v_ij) R_j / stab(d_j), over j with z_j ≠ 0
      const g = rule.gamma;
      const z = connectionsForward64(c, x);
      const uOf = (we: number, zj: number): number => (zj > 0 ? we + g * pos(we) : we + g * neg(we));
      const vOf = (we: number, zj: number): number => (zj > 0 ? we + g * neg(we) : we + g * pos(we));
      const d = new Float64Array(c.nOut);
      for (let j = 0; j < c.nOut; j++) d[j] = z[j]! > 0 ? b[j]! + g * pos(b[j]!) : b[j]! + g * neg(b[j]!);
      for (let e = 0; e < E; e++) {
        const j = to[e]!;
        const xi = x[from[e]!]!;
        d[j]! += pos(xi) * uOf(w[e]!, z[j]!) + neg(xi) * vOf(w[e]!, z[j]!);
      }
      for (let e = 0; e < E; e++) {
        const i = from[e]!;
        const j = to[e]!;
        if (z[j] === 0) continue; // z_j = 0 drops R_j
        const xi = x[i]!;
        Rin[i]! += ((pos(xi) * uOf(w[e]!, z[j]!) + neg(xi) * vOf(w[e]!, z[j]!)) * R[j]!) / stab(d[j]!, sEps);
      }
      return Rin;
    }
    case 'zbox': {
      // t_ij = x_i w_ij − l w⁺_ij − h w⁻_ij (no bias);  d_j = Σ_i t_ij;  R_i = Σ_j t_ij R_j / stab(d_j)
      const { low, high } = rule;
      const t = new Float64Array(E);
      const d = new Float64Array(c.nOut);
      for (let e = 0; e < E; e++) {
        t[e] = x[from[e]!]! * w[e]! - low * pos(w[e]!) - high * neg(w[e]!);
        d[to[e]!]! += t[e]!;
      }
      for (let e = 0; e < E; e++) Rin[from[e]!]! += (t[e]! * R[to[e]!]!) / stab(d[to[e]!]!, sEps);
      return Rin;
    }
    case 'wsquare': {
      // d_j = Σ_i w_ij² + b_j² (squared bias in the denominator);  R_i = Σ_j w_ij² R_j / stab(d_j)
      const d = Float64Array.from(b, (bj) => bj * bj);
      for (let e = 0; e < E; e++) d[to[e]!]! += w[e]! * w[e]!;
      for (let e = 0; e < E; e++) Rin[from[e]!]! += (w[e]! * w[e]! * R[to[e]!]!) / stab(d[to[e]!]!, sEps);
      return Rin;
    }
    case 'flat': {
      // all weights 1, bias 0: d_j = number of (real, non-padding) inputs connected to j;  R_i = Σ_j R_j / stab(d_j)
      const d = new Float64Array(c.nOut);
      for (let e = 0; e < E; e++) d[to[e]!]! += 1;
      for (let e = 0; e < E; e++) Rin[from[e]!]! += R[to[e]!]! / stab(d[to[e]!]!, sEps);
      return Rin;
    }
    default: {
      const never: never = rule;
      throw new Error(`lrp64: unknown rule ${JSON.stringify(never)}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dense (Gemm / MatMul + Add)

export interface DenseLayer64 {
  /** [N, in] */
  x: Float64Array;
  /** [in, out], W[i*out + j] = w_ij */
  W: Float64Array;
  /** [out]; zeros for a layer without bias. Its length fixes `out`. */
  b: Float64Array;
}

function denseShape(layer: DenseLayer64): { N: number; nIn: number; nOut: number } {
  const nOut = layer.b.length;
  check(nOut > 0, 'dense: b must have one entry per output (use zeros for no bias)');
  const nIn = layer.W.length / nOut;
  check(Number.isInteger(nIn) && nIn > 0, `dense: W has ${layer.W.length} values, not a multiple of out=${nOut}`);
  const N = layer.x.length / nIn;
  check(Number.isInteger(N), `dense: x has ${layer.x.length} values, not a multiple of in=${nIn}`);
  return { N, nIn, nOut };
}

/** The connection list of a dense layer: every input to every output. */
export function denseConnections64(W: Float64Array, b: Float64Array): Connections64 {
  const nOut = b.length;
  const nIn = W.length / nOut;
  check(Number.isInteger(nIn), `dense: W has ${W.length} values, not a multiple of out=${nOut}`);
  const E = nIn * nOut;
  const from = new Int32Array(E);
  const to = new Int32Array(E);
  const weight = new Float64Array(E);
  for (let i = 0; i < nIn; i++) {
    for (let j = 0; j < nOut; j++) {
      const e = i * nOut + j;
      from[e] = i;
      to[e] = j;
      weight[e] = W[e]!;
    }
  }
  return { nIn, nOut, from, to, weight, bias: Float64Array.from(b) };
}

/** y = x W + b, [N, out]. Written directly (not via connections) so tests can cross-check the two. */
export function denseForward64(layer: DenseLayer64): Float64Array {
  const { N, nIn, nOut } = denseShape(layer);
  const y = new Float64Array(N * nOut);
  for (let n = 0; n < N; n++) {
    for (let j = 0; j < nOut; j++) {
      let s = layer.b[j]!;
      for (let i = 0; i < nIn; i++) s += layer.x[n * nIn + i]! * layer.W[i * nOut + j]!;
      y[n * nOut + j] = s;
    }
  }
  return y;
}

/** LRP through a dense layer: R [N, out] → R_in [N, in], sample by sample. */
export function dense64(layer: DenseLayer64 & { R: Float64Array }, rule: LinearRule64): Float64Array {
  const { N, nIn, nOut } = denseShape(layer);
  check(layer.R.length === N * nOut, `dense: R has ${layer.R.length} values, want N*out = ${N * nOut}`);
  const conn = denseConnections64(layer.W, layer.b);
  const out = new Float64Array(N * nIn);
  for (let n = 0; n < N; n++) {
    const r = connectionsRule64(conn, layer.x.subarray(n * nIn, (n + 1) * nIn), layer.R.subarray(n * nOut, (n + 1) * nOut), rule);
    out.set(r, n * nIn);
  }
  return out;
}

/** [rows, cols] → [cols, rows]; e.g. a Gemm's transB=1 weight [out, in] → [in, out]. */
export function transpose2d64(a: Float64Array, rows: number, cols: number): Float64Array {
  check(a.length === rows * cols, `transpose: ${a.length} values is not ${rows}×${cols}`);
  const t = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c]!;
  return t;
}

// ---------------------------------------------------------------------------------------------
// Convolution (ONNX Conv semantics: cross-correlation, explicit pads, dilations, groups)

export interface ConvLayer64 {
  /** [N, C, H, W] or [N, C, L] */
  x: Tensor64;
  /** [O, C/groups, kh, kw] or [O, C/groups, k] */
  W: Tensor64;
  /** [O]; omitted = no bias */
  b?: Float64Array;
  /** [sh, sw] (or [s]); default 1 */
  strides?: number[];
  /** [top, left, bottom, right] (or [begin, end] in 1-D), ONNX order; default 0 */
  pads?: number[];
  /** [dh, dw] (or [d]); default 1 */
  dilations?: number[];
  /** default 1 */
  groups?: number;
}

interface ConvGeom {
  N: number;
  C: number;
  H: number;
  Wd: number;
  O: number;
  Cg: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  dh: number;
  dw: number;
  groups: number;
  OH: number;
  OW: number;
  oneD: boolean;
}

/** Normalise 1-D/2-D parameters to 2-D geometry (1-D = height 1) and validate them. */
function convGeometry(layer: ConvLayer64): ConvGeom {
  const xd = layer.x.dims;
  const wd = layer.W.dims;
  const oneD = xd.length === 3;
  check(xd.length === 4 || oneD, `conv: x must be [N,C,H,W] or [N,C,L], got ${JSON.stringify(xd)}`);
  check(wd.length === xd.length, `conv: W ${JSON.stringify(wd)} does not match x ${JSON.stringify(xd)}`);
  check(layer.x.data.length === numel(xd) && layer.W.data.length === numel(wd), 'conv: data length does not match dims');
  const [N, C, H, Wd] = oneD ? [xd[0]!, xd[1]!, 1, xd[2]!] : (xd as [number, number, number, number]);
  const [O, Cg, kh, kw] = oneD ? [wd[0]!, wd[1]!, 1, wd[2]!] : (wd as [number, number, number, number]);
  const lift = (v: number[] | undefined, def: number, len: number): number[] => {
    if (v === undefined) return new Array<number>(len).fill(def);
    check(v.length === (oneD ? len / 2 : len), `conv: ${JSON.stringify(v)} has the wrong length for ${oneD ? '1-D' : '2-D'}`);
    if (!oneD) return v;
    // height axis of a 1-D layer: stride/dilation 1, no padding
    return len === 2 ? [1, v[0]!] : [0, v[0]!, 0, v[1]!];
  };
  const [sh, sw] = lift(layer.strides, 1, 2) as [number, number];
  const [pt, pl, pb, pr] = lift(layer.pads, 0, 4) as [number, number, number, number];
  const [dh, dw] = lift(layer.dilations, 1, 2) as [number, number];
  const groups = layer.groups ?? 1;
  check(C % groups === 0 && O % groups === 0, `conv: C=${C} and O=${O} must be divisible by groups=${groups}`);
  check(Cg === C / groups, `conv: W has ${Cg} input channels per group, x has C/groups = ${C / groups}`);
  const OH = Math.floor((H + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const OW = Math.floor((Wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  check(OH > 0 && OW > 0, `conv: empty output ${OH}×${OW}`);
  if (layer.b) check(layer.b.length === O, `conv: b has ${layer.b.length} values, want O=${O}`);
  return { N, C, H, Wd, O, Cg, kh, kw, sh, sw, pt, pl, dh, dw, groups, OH, OW, oneD };
}

function convOutDims(g: ConvGeom): number[] {
  return g.oneD ? [g.N, g.O, g.OW] : [g.N, g.O, g.OH, g.OW];
}

/** The connection list of a convolution for one sample; only in-bounds inputs (padding is not an input). */
export function convConnections64(layer: Omit<ConvLayer64, 'x'> & { x: Tensor64 }): Connections64 {
  const g = convGeometry(layer);
  const from: number[] = [];
  const to: number[] = [];
  const weight: number[] = [];
  const Og = g.O / g.groups;
  for (let o = 0; o < g.O; o++) {
    const grp = Math.floor(o / Og);
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        const j = (o * g.OH + oh) * g.OW + ow;
        for (let cl = 0; cl < g.Cg; cl++) {
          const c = grp * g.Cg + cl;
          for (let ky = 0; ky < g.kh; ky++) {
            const ih = oh * g.sh - g.pt + ky * g.dh;
            if (ih < 0 || ih >= g.H) continue;
            for (let kx = 0; kx < g.kw; kx++) {
              const iw = ow * g.sw - g.pl + kx * g.dw;
              if (iw < 0 || iw >= g.Wd) continue;
              from.push((c * g.H + ih) * g.Wd + iw);
              to.push(j);
              weight.push(layer.W.data[((o * g.Cg + cl) * g.kh + ky) * g.kw + kx]!);
            }
          }
        }
      }
    }
  }
  const bias = new Float64Array(g.O * g.OH * g.OW);
  if (layer.b) for (let o = 0; o < g.O; o++) bias.fill(layer.b[o]!, o * g.OH * g.OW, (o + 1) * g.OH * g.OW);
  return {
    nIn: g.C * g.H * g.Wd,
    nOut: g.O * g.OH * g.OW,
    from: Int32Array.from(from),
    to: Int32Array.from(to),
    weight: Float64Array.from(weight),
    bias,
  };
}

/** ONNX Conv forward, [N, O, OH, OW] (or [N, O, OL]); direct loops, independent of the connection list. */
export function conv2dForward64(layer: ConvLayer64): Tensor64 {
  const g = convGeometry(layer);
  const { x, W, b } = layer;
  const y = new Float64Array(g.N * g.O * g.OH * g.OW);
  const Og = g.O / g.groups;
  for (let n = 0; n < g.N; n++) {
    for (let o = 0; o < g.O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < g.OH; oh++) {
        for (let ow = 0; ow < g.OW; ow++) {
          let s = b ? b[o]! : 0;
          for (let cl = 0; cl < g.Cg; cl++) {
            const c = grp * g.Cg + cl;
            for (let ky = 0; ky < g.kh; ky++) {
              for (let kx = 0; kx < g.kw; kx++) {
                const ih = oh * g.sh - g.pt + ky * g.dh;
                const iw = ow * g.sw - g.pl + kx * g.dw;
                // zero padding: out-of-range positions read 0
                const xv = ih >= 0 && ih < g.H && iw >= 0 && iw < g.Wd ? x.data[((n * g.C + c) * g.H + ih) * g.Wd + iw]! : 0;
                s += xv * W.data[((o * g.Cg + cl) * g.kh + ky) * g.kw + kx]!;
              }
            }
          }
          y[((n * g.O + o) * g.OH + oh) * g.OW + ow] = s;
        }
      }
    }
  }
  return { dims: convOutDims(g), data: y };
}

/** LRP through a convolution: R [N, O, OH, OW] → R_in with the dims of x. */
export function conv2d64(layer: ConvLayer64 & { R: Tensor64 }, rule: LinearRule64): Tensor64 {
  const g = convGeometry(layer);
  const outDims = convOutDims(g);
  check(JSON.stringify(layer.R.dims) === JSON.stringify(outDims), `conv: R dims ${JSON.stringify(layer.R.dims)}, output dims are ${JSON.stringify(outDims)}`);
  check(layer.R.data.length === numel(outDims), 'conv: R data length does not match its dims');
  const conn = convConnections64(layer);
  const out = new Float64Array(layer.x.data.length);
  for (let n = 0; n < g.N; n++) {
    const xs = layer.x.data.subarray(n * conn.nIn, (n + 1) * conn.nIn);
    const rs = layer.R.data.subarray(n * conn.nOut, (n + 1) * conn.nOut);
    out.set(connectionsRule64(conn, xs, rs, rule), n * conn.nIn);
  }
  return { dims: [...layer.x.dims], data: out };
}

// ---------------------------------------------------------------------------------------------
// Pooling and residual Add

/** ONNX pool attributes; output sizes use floor (ceil_mode = 0, the ONNX default). */
export interface PoolLayer64 {
  /** [N, C, H, W] or [N, C, L] */
  x: Tensor64;
  /** [kh, kw] or [k] */
  kernel: number[];
  /** default 1 (the ONNX default; exporters usually set it to the kernel size) */
  strides?: number[];
  /** [top, left, bottom, right] or [begin, end]; default 0 */
  pads?: number[];
  /** MaxPool only; default 1 */
  dilations?: number[];
}

/** Pool windows as (input index | -1 for padding) per output position; shared by max and average pool. */
function poolWindows(layer: PoolLayer64): { g: ConvGeom; windows: Int32Array; K: number } {
  const xd = layer.x.dims;
  const C = xd[1]!;
  const kernelDims = [C, 1, ...layer.kernel];
  // a pool is a depthwise "convolution" with a kC×1 kernel: reuse the conv geometry and its checks
  const g = convGeometry({
    x: layer.x,
    W: { dims: kernelDims, data: new Float64Array(numel(kernelDims)) },
    strides: layer.strides,
    pads: layer.pads,
    dilations: layer.dilations,
    groups: C,
  });
  const K = g.kh * g.kw;
  const windows = new Int32Array(g.C * g.OH * g.OW * K);
  for (let c = 0; c < g.C; c++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        const base = ((c * g.OH + oh) * g.OW + ow) * K;
        for (let ky = 0; ky < g.kh; ky++) {
          for (let kx = 0; kx < g.kw; kx++) {
            const ih = oh * g.sh - g.pt + ky * g.dh;
            const iw = ow * g.sw - g.pl + kx * g.dw;
            windows[base + ky * g.kw + kx] = ih >= 0 && ih < g.H && iw >= 0 && iw < g.Wd ? (c * g.H + ih) * g.Wd + iw : -1;
          }
        }
      }
    }
  }
  return { g, windows, K };
}

function poolOutDims(g: ConvGeom): number[] {
  return g.oneD ? [g.N, g.C, g.OW] : [g.N, g.C, g.OH, g.OW];
}

function checkR(R: Tensor64, dims: number[], what: string): void {
  check(JSON.stringify(R.dims) === JSON.stringify(dims), `${what}: R dims ${JSON.stringify(R.dims)}, output dims are ${JSON.stringify(dims)}`);
  check(R.data.length === numel(dims), `${what}: R data length does not match its dims`);
}

/** ONNX MaxPool forward (padding never wins: it acts as -∞). */
export function maxpoolForward64(layer: PoolLayer64): Tensor64 {
  const { g, windows, K } = poolWindows(layer);
  const per = g.C * g.OH * g.OW;
  const y = new Float64Array(g.N * per);
  for (let n = 0; n < g.N; n++) {
    const off = n * g.C * g.H * g.Wd;
    for (let j = 0; j < per; j++) {
      let m = -Infinity;
      for (let k = 0; k < K; k++) {
        const i = windows[j * K + k]!;
        if (i >= 0) m = Math.max(m, layer.x.data[off + i]!);
      }
      y[n * per + j] = m;
    }
  }
  return { dims: poolOutDims(g), data: y };
}

/**
 * MaxPool, winner takes all: each output's relevance goes to the FIRST maximal input of its window
 * (row-major order inside the window); where windows overlap the contributions add up.
 */
export function maxpoolWta64(layer: PoolLayer64 & { R: Tensor64 }): Tensor64 {
  const { g, windows, K } = poolWindows(layer);
  checkR(layer.R, poolOutDims(g), 'maxpool');
  const per = g.C * g.OH * g.OW;
  const nIn = g.C * g.H * g.Wd;
  const out = new Float64Array(layer.x.data.length);
  for (let n = 0; n < g.N; n++) {
    for (let j = 0; j < per; j++) {
      let best = -1;
      let m = -Infinity;
      for (let k = 0; k < K; k++) {
        const i = windows[j * K + k]!;
        // strict '>' keeps the first of equal maxima
        if (i >= 0 && (best < 0 || layer.x.data[n * nIn + i]! > m)) {
          best = i;
          m = layer.x.data[n * nIn + i]!;
        }
      }
      if (best >= 0) out[n * nIn + best]! += layer.R.data[n * per + j]!;
    }
  }
  return { dims: [...layer.x.dims], data: out };
}

/** Number of values averaged per window: K = window size, or only the real inputs when padding is excluded. */
function avgDivisor(windows: Int32Array, j: number, K: number, countIncludePad: boolean): number {
  if (countIncludePad) return K;
  let k = 0;
  for (let t = 0; t < K; t++) if (windows[j * K + t]! >= 0) k++;
  return k;
}

/** ONNX AveragePool forward. `countIncludePad` as the ONNX attribute count_include_pad (default false). */
export function avgpoolForward64(layer: PoolLayer64 & { countIncludePad?: boolean }): Tensor64 {
  check(layer.dilations === undefined, 'avgpool: dilations are not supported');
  const { g, windows, K } = poolWindows(layer);
  const per = g.C * g.OH * g.OW;
  const nIn = g.C * g.H * g.Wd;
  const y = new Float64Array(g.N * per);
  for (let n = 0; n < g.N; n++) {
    for (let j = 0; j < per; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const i = windows[j * K + k]!;
        if (i >= 0) s += layer.x.data[n * nIn + i]!;
      }
      y[n * per + j] = s / avgDivisor(windows, j, K, layer.countIncludePad ?? false);
    }
  }
  return { dims: poolOutDims(g), data: y };
}

/**
 * AveragePool, norm rule (epsilon rule on the pool as a linear layer with weights 1/K):
 * y_j = (1/K) Σ_{i∈win(j)} x_i,  R_i = x_i Σ_{j: i∈win(j)} (1/K) R_j / stab(y_j), with ε added to
 * the MEAN y_j (not to the sum).
 */
export function avgpoolNorm64(layer: PoolLayer64 & { R: Tensor64; countIncludePad?: boolean }, epsilon = DEFAULT_STABILIZER): Tensor64 {
  check(layer.dilations === undefined, 'avgpool: dilations are not supported');
  const { g, windows, K } = poolWindows(layer);
  checkR(layer.R, poolOutDims(g), 'avgpool');
  const y = avgpoolForward64(layer).data;
  const per = g.C * g.OH * g.OW;
  const nIn = g.C * g.H * g.Wd;
  const out = new Float64Array(layer.x.data.length);
  for (let n = 0; n < g.N; n++) {
    for (let j = 0; j < per; j++) {
      const kDiv = avgDivisor(windows, j, K, layer.countIncludePad ?? false);
      const s = layer.R.data[n * per + j]! / (kDiv * stab(y[n * per + j]!, epsilon));
      for (let k = 0; k < K; k++) {
        const i = windows[j * K + k]!;
        if (i >= 0) out[n * nIn + i]! += layer.x.data[n * nIn + i]! * s;
      }
    }
  }
  return { dims: [...layer.x.dims], data: out };
}

/** GlobalAveragePool, norm rule: avgpoolNorm64 with one window over the whole H×W (K = H·W). R is [N, C, 1, 1]. */
export function globalAvgpoolNorm64(layer: { x: Tensor64; R: Tensor64 }, epsilon = DEFAULT_STABILIZER): Tensor64 {
  const spatial = layer.x.dims.slice(2);
  return avgpoolNorm64({ x: layer.x, R: layer.R, kernel: spatial }, epsilon);
}

/** Residual Add, norm rule: y = a + b, R_a = a·R/stab(y), R_b = b·R/stab(y). */
export function addNorm64(a: Float64Array, b: Float64Array, R: Float64Array, epsilon = DEFAULT_STABILIZER): { Ra: Float64Array; Rb: Float64Array } {
  check(a.length === b.length && b.length === R.length, `add: lengths ${a.length}, ${b.length}, ${R.length} differ`);
  const Ra = new Float64Array(a.length);
  const Rb = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const s = R[i]! / stab(a[i]! + b[i]!, epsilon);
    Ra[i] = a[i]! * s;
    Rb[i] = b[i]! * s;
  }
  return { Ra, Rb };
}
