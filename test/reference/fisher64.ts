/**
 * Float64 reference of the FV pipeline and its LRP, written from the formulas (papers/model-papers.md
 * §2.2–2.3) with plain loops and the direct (unexpanded) Gaussian log-density; the graphs of
 * src/core/fisher are checked against it.
 */
import type { FisherConfig, Geometry } from '../../src/core/fisher/config.js';
import type { FisherParams } from '../../src/core/fisher/model.js';

/** Descriptors [T, R] of one image [C, H, W]. */
export function descriptors64(img: ArrayLike<number>, cfg: FisherConfig, geo: Geometry): Float64Array[] {
  const { channels: C, height: H, width: W } = geo;
  const I = (y: number, x: number) => {
    if (y < 0 || y >= H || x < 0 || x >= W) return 0;
    let s = 0;
    for (let c = 0; c < C; c++) s += img[(c * H + y) * W + x]!;
    return s / C;
  };
  const O = cfg.orientations;
  const oriented = Array.from({ length: O }, (_, o) => {
    const t = (2 * Math.PI * o) / O;
    const m = new Float64Array(H * W);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const gx = 0.5 * (I(y, x + 1) - I(y, x - 1));
        const gy = 0.5 * (I(y + 1, x) - I(y - 1, x));
        m[y * W + x] = Math.max(0, Math.cos(t) * gx + Math.sin(t) * gy);
      }
    return m;
  });
  const out: Float64Array[] = [];
  for (const s of geo.scales)
    for (let r = 0; r < s.rows; r++)
      for (let q = 0; q < s.cols; q++) {
        const d = new Float64Array(geo.rawDims);
        for (let o = 0; o < O; o++)
          for (let i = 0; i < cfg.cells; i++)
            for (let j = 0; j < cfg.cells; j++) {
              let sum = 0;
              for (let y = 0; y < s.cell; y++)
                for (let x = 0; x < s.cell; x++) sum += oriented[o]![(r * geo.stride + i * s.cell + y) * W + q * geo.stride + j * s.cell + x]!;
              d[(o * cfg.cells + i) * cfg.cells + j] = sum / (s.cell * s.cell);
            }
        let n2 = 0;
        for (const v of d) n2 += v * v;
        const den = Math.sqrt(n2 + cfg.descriptorFloor ** 2);
        out.push(d.map((v) => v / den));
      }
  return out;
}

export function project64(d: Float64Array[], p: FisherParams): Float64Array[] {
  const D = p.gmm.D;
  const R = p.pcaMean.length;
  return d.map((row) => {
    const l = new Float64Array(D);
    for (let r = 0; r < R; r++) for (let k = 0; k < D; k++) l[k]! += (row[r]! - p.pcaMean[r]!) * p.pcaProj[r * D + k]!;
    return l;
  });
}

export interface Gmm64 {
  K: number;
  D: number;
  priors: ArrayLike<number>;
  means: ArrayLike<number>;
  variances: ArrayLike<number>;
}

/** log π_k + log N(l; μ_k, σ²_k), direct form. */
export function logJoint64(l: ArrayLike<number>, g: Gmm64): Float64Array {
  const out = new Float64Array(g.K);
  for (let k = 0; k < g.K; k++) {
    let s = Math.log(g.priors[k]!);
    for (let d = 0; d < g.D; d++) {
      const v = g.variances[k * g.D + d]!;
      const c = l[d]! - g.means[k * g.D + d]!;
      s -= 0.5 * ((c * c) / v + Math.log(v) + Math.log(2 * Math.PI));
    }
    out[k] = s;
  }
  return out;
}

export function logSumExp(a: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i]!);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i]! - m);
  return m + Math.log(s);
}

export function posteriors64(l: ArrayLike<number>, g: Gmm64): Float64Array {
  const lj = logJoint64(l, g);
  const z = logSumExp(lj);
  return lj.map((v) => Math.exp(v - z));
}

/** Per-descriptor FV terms ψ(l_t) [T][2KD] (layout (part·K + k)·D + d). */
export function fisherTerms64(ls: Float64Array[], g: Gmm64): Float64Array[] {
  const T = ls.length;
  return ls.map((l) => {
    const gam = posteriors64(l, g);
    const psi = new Float64Array(2 * g.K * g.D);
    for (let k = 0; k < g.K; k++)
      for (let d = 0; d < g.D; d++) {
        const sd = Math.sqrt(g.variances[k * g.D + d]!);
        const u = (l[d]! - g.means[k * g.D + d]!) / sd;
        psi[k * g.D + d] = (gam[k]! * u) / (T * Math.sqrt(g.priors[k]!));
        psi[(g.K + k) * g.D + d] = (gam[k]! * (u * u - 1)) / (T * Math.sqrt(2 * g.priors[k]!));
      }
    return psi;
  });
}

export function sumRows(rows: Float64Array[]): Float64Array {
  const z = new Float64Array(rows[0]!.length);
  for (const r of rows) for (let i = 0; i < z.length; i++) z[i]! += r[i]!;
  return z;
}

export function normalise64(z: ArrayLike<number>, rho: number): Float64Array {
  const p = Float64Array.from(z, (v) => Math.sign(v) * Math.abs(v) ** rho);
  let n = 0;
  for (const v of p) n += v * v;
  n = Math.max(Math.sqrt(n), 1e-12);
  return p.map((v) => v / n);
}

export function scores64(phi: Float64Array, p: FisherParams): Float64Array {
  const C = p.classes;
  const s = Float64Array.from(p.bias!);
  for (let f = 0; f < phi.length; f++) for (let c = 0; c < C; c++) s[c]! += phi[f]! * p.weights![f * C + c]!;
  return s;
}

/** Pyramid regions of each descriptor (by its patch centre), as indices into the concatenated regions. */
export function regionsOf64(p: FisherParams, geo: Geometry): number[][] {
  const out: number[][] = [];
  for (const s of geo.scales)
    for (let r = 0; r < s.rows; r++)
      for (let q = 0; q < s.cols; q++) {
        const cy = r * geo.stride + s.patch / 2;
        const cx = q * geo.stride + s.patch / 2;
        const mine: number[] = [];
        let base = 0;
        for (const g of p.config.pyramid ?? [1]) {
          mine.push(base + Math.min(g - 1, Math.floor((cy / geo.height) * g)) * g + Math.min(g - 1, Math.floor((cx / geo.width) * g)));
          base += g * g;
        }
        out.push(mine);
      }
  return out;
}

/** The whole pipeline for one image: descriptors, ψ, z (regions concatenated), Φ̃, scores. */
export function pipeline64(img: ArrayLike<number>, p: FisherParams, geo: Geometry) {
  const d = descriptors64(img, p.config, geo);
  const l = project64(d, p);
  const psi = fisherTerms64(l, p.gmm);
  const F = psi[0]!.length;
  const member = regionsOf64(p, geo);
  const z = new Float64Array(geo.regions * F);
  psi.forEach((row, t) => {
    for (const r of member[t]!) for (let f = 0; f < F; f++) z[r * F + f]! += row[f]!;
  });
  const phi = normalise64(z, p.config.power);
  return { d, l, psi, z, phi, scores: p.weights ? scores64(phi, p) : undefined };
}

/** LRP of §2.3 for one image and class c: descriptor relevance [T] and pixel relevance [C·H·W]. */
export function lrp64(img: ArrayLike<number>, p: FisherParams, geo: Geometry, c: number, eps: number) {
  const { psi, z, phi } = pipeline64(img, p, geo);
  const C = p.classes;
  const Rd = Float64Array.from(phi, (v, f) => v * p.weights![f * C + c]!);
  const ratio = Rd.map((r, f) => r / (z[f]! + eps * (z[f]! >= 0 ? 1 : -1)));
  const F = psi[0]!.length;
  const member = regionsOf64(p, geo);
  const Rt = psi.map((row, t) => member[t]!.reduce((acc, r) => acc + row.reduce((a, v, f) => a + v * ratio[r * F + f]!, 0), 0));
  const { height: H, width: W, channels: Ch } = geo;
  const pix = new Float64Array(Ch * H * W);
  for (const s of geo.scales)
    for (let r = 0; r < s.rows; r++)
      for (let q = 0; q < s.cols; q++) {
        const share = Rt[s.offset + r * s.cols + q]! / (s.patch * s.patch * Ch);
        for (let ch = 0; ch < Ch; ch++)
          for (let y = 0; y < s.patch; y++) for (let x = 0; x < s.patch; x++) pix[(ch * H + r * geo.stride + y) * W + q * geo.stride + x]! += share;
      }
  return { Rd, Rt, pix };
}
