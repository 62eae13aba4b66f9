/**
 * The FV layers as graph parts (papers/model-papers.md §2.2.3–4, Perronnin et al. 2010's
 * "improved Fisher vector"). With a diagonal GMM (priors π_k, means μ_k, variances σ²_k) and the T
 * PCA-reduced descriptors l_t of an image:
 *   log p(l, k) = log π_k − ½ Σ_d [ (l_d − μ_kd)² / σ²_kd + log σ²_kd + log 2π ]
 *   γ_t(k) = softmax_k log p(l_t, k)                                  (log domain: Softmax)
 *   ψ^μ_kd(l_t) = γ_t(k) (l_td − μ_kd) / σ_kd / (T √π_k)
 *   ψ^σ_kd(l_t) = γ_t(k) [ (l_td − μ_kd)² / σ²_kd − 1 ] / (T √(2 π_k))
 *   z = Σ_t ψ(l_t)   (layout [μ | σ] × K × D: index (part·K + k)·D + d)
 *   Φ̃ = p / ‖p‖₂,  p = sign(z) |z|^ρ                                 (power + L2 normalisation)
 * The per-descriptor terms ψ are kept as a tensor [N, T, 2KD]: the FV is their sum, and LRP
 * (lrp.ts) redistributes over exactly these terms.
 */
import type { GraphBuilder } from '../onnx/builder.js';

/** Names of the GMM tensors in a graph: log priors [K], means [K, D], variances [K, D]. */
export interface GmmTensors {
  logPriors: string;
  means: string;
  variances: string;
}

/**
 * log p(l, k) for l [..., D] → [..., K], expanded so that the descriptor side is two MatMuls:
 * log π_k − ½ (Σ_d μ²/σ² + Σ_d log σ² + D log 2π) − ½ (l²)·(1/σ²)ᵀ + l·(μ/σ²)ᵀ.
 */
export function logJoint(b: GraphBuilder, l: string, g: GmmTensors, D: number): string {
  const prec = b.div(b.scalar(1), g.variances);
  const T = (t: string) => b.op('Transpose', [t], { perm: [1, 0] });
  const rowSum = (t: string) => b.op('ReduceSum', [t, b.ints([1])], { keepdims: 0 });
  const muPrec = b.mul(g.means, prec);
  const inner = b.add(b.add(rowSum(b.mul(muPrec, g.means)), rowSum(b.op('Log', [g.variances]))), b.scalar(D * Math.log(2 * Math.PI)));
  const c = b.sub(g.logPriors, b.mul(b.scalar(0.5), inner));
  const quad = b.op('MatMul', [b.mul(l, l), T(prec)]);
  const lin = b.op('MatMul', [l, T(muPrec)]);
  return b.add(b.sub(lin, b.mul(b.scalar(0.5), quad)), c);
}

/** Posteriors γ [..., K] from the log joint (Softmax subtracts the maximum: no overflow). */
export function posteriors(b: GraphBuilder, logj: string): string {
  return b.op('Softmax', [logj], { axis: -1 }, 'gamma');
}

/** ψ [N, T, 2KD] for descriptors l [N, T, D] and posteriors γ [N, T, K]; T is the (static) number of descriptors per image. */
export function fisherTerms(b: GraphBuilder, l: string, gamma: string, g: GmmTensors, T: number): string {
  const invSd = b.div(b.scalar(1), b.op('Sqrt', [g.variances]));
  const diff = b.mul(b.sub(b.op('Unsqueeze', [l, b.ints([2])]), g.means), invSd); // [N,T,K,D]
  const g4 = b.op('Unsqueeze', [gamma, b.ints([3])]); // [N,T,K,1]
  const sqrtPi = b.op('Sqrt', [b.op('Exp', [g.logPriors])]);
  const aMu = b.op('Unsqueeze', [b.div(b.scalar(1 / T), sqrtPi), b.ints([1])]); // [K,1]
  const aSig = b.mul(aMu, b.scalar(Math.SQRT1_2));
  const psiMu = b.mul(b.mul(g4, diff), aMu);
  const psiSig = b.mul(b.mul(g4, b.sub(b.mul(diff, diff), b.scalar(1))), aSig);
  const both = b.op('Concat', [psiMu, psiSig], { axis: 2 }); // [N,T,2K,D]
  return b.op('Reshape', [both, b.ints([0, 0, -1])], {}, 'psi');
}

/** Power then L2 normalisation of z [N, F]: p = sign(z)|z|^ρ, Φ̃ = p / max(‖p‖₂, 1e-12). */
export function normalise(b: GraphBuilder, z: string, rho: number): string {
  const p = rho === 1 ? z : b.mul(b.op('Sign', [z]), b.op('Pow', [b.op('Abs', [z]), b.scalar(rho)]));
  const norm = b.op('Sqrt', [b.op('ReduceSum', [b.mul(p, p), b.ints([1])], { keepdims: 1 })]);
  return b.div(p, b.op('Max', [norm, b.scalar(1e-12)]));
}

/**
 * z [N, regions·2KD] from posterior-weighted moments, without the ψ tensor (the inference and
 * fitting path; the explainer sums ψ instead, so that its z is exactly the sum it redistributes).
 * For region r with membership m_rt (all ones without a pyramid):
 *   n_k = Σ_t m γ_tk,  A_k = Σ_t m γ_tk l_t,  B_k = Σ_t m γ_tk l_t²
 *   G^μ_k = (A_k − n_k μ_k) / σ_k / (T √π_k)
 *   G^σ_k = ((B_k − 2 A_k μ_k + n_k μ_k²) / σ²_k − n_k) / (T √(2π_k))
 * which equal Σ_t m ψ^μ(l_t) and Σ_t m ψ^σ(l_t) of fisherTerms.
 */
export function fisherVector(b: GraphBuilder, l: string, gamma: string, g: GmmTensors, T: number, mask?: string): string {
  const g1 = b.op('Unsqueeze', [gamma, b.ints([1])]); // [N,1,T,K]
  const gm = mask ? b.mul(b.op('Unsqueeze', [mask, b.ints([2])]), g1) : g1; // [N,R,T,K]
  const gT = b.op('Transpose', [gm], { perm: [0, 1, 3, 2] }); // [N,R,K,T]
  const l1 = b.op('Unsqueeze', [l, b.ints([1])]); // [N,1,T,D]
  const A = b.op('MatMul', [gT, l1]);
  const B = b.op('MatMul', [gT, b.mul(l1, l1)]);
  const n = b.op('ReduceSum', [gT, b.ints([3])], { keepdims: 1 }); // [N,R,K,1]
  const prec = b.div(b.scalar(1), g.variances);
  const invSd = b.op('Sqrt', [prec]);
  const sqrtPi = b.op('Sqrt', [b.op('Exp', [g.logPriors])]);
  const aMu = b.op('Unsqueeze', [b.div(b.scalar(1 / T), sqrtPi), b.ints([1])]); // [K,1]
  const aSig = b.mul(aMu, b.scalar(Math.SQRT1_2));
  const gMu = b.mul(b.mul(b.sub(A, b.mul(n, g.means)), invSd), aMu);
  const sq = b.add(b.sub(B, b.mul(b.mul(A, g.means), b.scalar(2))), b.mul(n, b.mul(g.means, g.means)));
  const gSig = b.mul(b.sub(b.mul(sq, prec), n), aSig);
  return b.op('Reshape', [b.op('Concat', [gMu, gSig], { axis: 2 }), b.ints([0, -1])], {}, 'fv');
}
