/**
 * Initial parameter values of a model spec, reproducible from a seed: every parameter draws from
 * its own keyed stream (seed, 'init', parameter name), so adding or reordering layers leaves the
 * others' initial values as they were.
 *
 * Dense and conv weights: He (normal, std √(2/fan-in)) or Glorot (uniform, limit
 * √(6/(fan-in + fan-out))), with the fans the layer declared for its own layout (dense [in, out],
 * conv [out, in/groups, k…]). Embedding tables: normal with std 0.1, the padding row zero.
 * Batch-norm scale and running variance: one. Biases, batch-norm shift and running mean: zero.
 */
import { gaussian, rngFor } from '../math/rng.js';
import { float32, numel, type TensorData } from '../onnx/tensor.js';
import { buildGraph } from './graph.js';
import type { ModelSpec } from './spec.js';

/** Standard deviation of an embedding table's entries. */
export const EMBEDDING_STD = 0.1;

/** Initial values for every parameter of a spec. */
export function initParams(spec: ModelSpec, seed: number): Map<string, TensorData> {
  const values = new Map<string, TensorData>();
  const built = buildGraph(spec, 'infer', { shapesOnly: true });
  for (const p of built.params) {
    const rng = rngFor(seed, 'init', p.name);
    const normal = () => gaussian(rng);
    const n = numel(p.dims);
    const t = float32(p.dims);
    const d = t.data as Float32Array;
    const how = p.init;
    if (how === 'embedding') for (let i = 0; i < n; i++) d[i] = EMBEDDING_STD * normal();
    else if (how === 'one') d.fill(1);
    else if (how) {
      if (spec.init === 'glorot') {
        const lim = Math.sqrt(6 / (how.fanIn + how.fanOut));
        for (let i = 0; i < n; i++) d[i] = (2 * rng() - 1) * lim;
      } else {
        const std = Math.sqrt(2 / how.fanIn);
        for (let i = 0; i < n; i++) d[i] = std * normal();
      }
    } else if (p.name.endsWith('.weight')) throw new Error(`internal: no initialisation declared for ${p.name}`); // a new layer must declare its fans
    if (p.padRow !== undefined) d.fill(0, p.padRow * p.dims[1]!, (p.padRow + 1) * p.dims[1]!);
    values.set(p.name, t);
  }
  return values;
}
