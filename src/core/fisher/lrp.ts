/**
 * LRP for the FV classifier, Lapuschkin et al. (arXiv 1512.00172), papers/model-papers.md §2.3.
 * For the explained class c with weights w and bias b_c:
 *   1. R_d = w_dc · Φ̃_d                           (linear layer; the bias is dropped: Σ_d R_d = f_c − b_c)
 *   2. R_d passes unchanged from the normalised to the raw FV dimension d (power normalisation is a
 *      monotone sign-preserving map of each dimension, L2 one positive global scale)
 *   3. R_t = Σ_d ψ_d(l_t) / (z_d + ε·s(z_d)) · R_d, s(z) = +1 for z ≥ 0 else −1, because
 *      z_d = Σ_t ψ_d(l_t) exactly
 *      (with a spatial pyramid, z_rd = Σ_{t in region r} ψ_d(l_t), and a descriptor collects from
 *      every region it belongs to: R_t = Σ_r m_rt Σ_d ψ_d(l_t) / (z_rd + ε s(z_rd)) · R_rd)
 *   4. each descriptor's R_t spread uniformly over its P×P patch: R_t / P² per pixel, summed over
 *      every descriptor (all scales) covering the pixel; for C channels, an equal share per channel.
 * Exact (an identity of the model): steps 3 and 4 conserve relevance (step 3 up to the ε term:
 *   Σ_t R_t = Σ_d R_d · z_d / (z_d + ε s(z_d))). Modelling choices: dropping the bias, passing
 * relevance through the normalisations instead of differentiating them, and the uniform spread in
 * step 4 (LRP does not enter the descriptors).
 */
import { float32 } from '../onnx/tensor.js';
import type { Geometry } from './config.js';
import type { FvGraph } from './graph.js';

export interface RelevanceInputs {
  phi: string;
  z: string;
  psi: string;
  /** Pyramid membership [regions, T], absent for one global FV. */
  mask?: string;
  /** [F, classes] and [classes]. */
  W: string;
  bias: string;
  /** [N] int64 class per sample. */
  target: string;
  geo: Geometry;
  epsilon: number;
}

export function addRelevance(fg: FvGraph, r: RelevanceInputs) {
  const { b } = fg;
  const { geo } = r;
  const Wt = b.op('Transpose', [r.W], { perm: [1, 0] });
  const w = b.op('Gather', [Wt, r.target], { axis: 0 }, 'target_weights'); // [N, F]
  const Rfv = b.mul(w, r.phi);
  const ratio = b.div(Rfv, b.stabilize(r.z, r.epsilon));
  let Rt: string; // [N, T]
  if (!r.mask) Rt = b.op('Squeeze', [b.op('MatMul', [r.psi, b.op('Unsqueeze', [ratio, b.ints([2])])]), b.ints([2])], {}, 'descriptor_relevance');
  else {
    // a descriptor collects from every pyramid region it belongs to: Σ_r m_rt Σ_d ψ_d(l_t) ratio_rd
    const perRegion = b.op('Transpose', [b.op('Reshape', [ratio, b.ints([0, geo.regions, geo.regionDims])])], { perm: [0, 2, 1] }); // [N, F, regions]
    const maskT = b.op('Transpose', [r.mask], { perm: [1, 0] }); // [T, regions]
    Rt = b.op('ReduceSum', [b.mul(b.op('MatMul', [r.psi, perRegion]), maskT), b.ints([2])], { keepdims: 0 }, 'descriptor_relevance');
  }
  let pixels: string | undefined;
  for (const s of geo.scales) {
    const part = b.op('Slice', [Rt, b.ints([s.offset]), b.ints([s.offset + s.rows * s.cols]), b.ints([1])]);
    const grid = b.op('Reshape', [part, b.ints([-1, 1, s.rows, s.cols])]);
    const spread = fg.param(`fv/lrp_spread_${s.patch}`, float32([1, 1, s.patch, s.patch], new Float32Array(s.patch * s.patch).fill(1 / (s.patch * s.patch))));
    const up = b.op('ConvTranspose', [grid, spread], { kernel_shape: [s.patch, s.patch], strides: [geo.stride, geo.stride] });
    const h = (s.rows - 1) * geo.stride + s.patch;
    const wd = (s.cols - 1) * geo.stride + s.patch;
    const padded = h === geo.height && wd === geo.width ? up : b.op('Pad', [up, b.ints([0, 0, 0, 0, 0, 0, geo.height - h, geo.width - wd])]);
    pixels = pixels ? b.add(pixels, padded) : padded;
  }
  const perChannel =
    geo.channels === 1
      ? pixels!
      : b.mul(pixels!, fg.param('fv/lrp_channel_share', float32([1, geo.channels, 1, 1], new Float32Array(geo.channels).fill(1 / geo.channels))));
  return {
    pixels: perChannel,
    fvSum: b.op('ReduceSum', [Rfv, b.ints([1])], { keepdims: 0 }),
    descriptorSum: b.op('ReduceSum', [Rt, b.ints([1])], { keepdims: 0 }),
    targetBias: b.op('Gather', [r.bias, r.target], { axis: 0 }),
  };
}
