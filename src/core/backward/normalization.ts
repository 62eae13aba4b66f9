/** Adjoints of batch normalisation: the inference form (a per-channel scale) and the training form. */
import type { GraphBuilder } from '../onnx/builder.js';
import { float32 } from '../onnx/tensor.js';

/** y = x·scale + shift per channel (axis 1): dL/dx = dY·scale. */
export function channelScaleAdjoint(g: GraphBuilder, name: string, dY: string, scale: Float32Array, rank: number): string {
  return g.mul(dY, g.initializer(`${name}/scale`, float32(channelShape(scale.length, rank), scale)));
}

/** [C, 1, …]: broadcasts a per-channel vector over a tensor of this rank (batch axis first). */
export function channelShape(C: number, rank: number): number[] {
  return [C, ...new Array(Math.max(rank - 2, 0)).fill(1)];
}

/**
 * Training-mode batch norm y = γ·x̂ + β with x̂ = (x − μ_B)·invstd over the batch and spatial
 * axes: dL/dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = dY·γ.
 */
export function batchNormTrainingAdjoint(
  g: GraphBuilder,
  dY: string,
  gammaPerC: string,
  xhat: string,
  invstd: string,
  reduceMean: (t: string) => string,
): string {
  const dxhat = g.mul(dY, gammaPerC);
  return g.mul(invstd, g.sub(g.sub(dxhat, reduceMean(dxhat)), g.mul(xhat, reduceMean(g.mul(dxhat, xhat)))));
}
