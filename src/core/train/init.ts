/**
 * Initial parameter values of a model spec, reproducible from a seed: every parameter draws from
 * its own keyed stream (seed, 'init', parameter name), so adding or reordering layers leaves the
 * others' initial values as they were.
 */
import { gaussian, rngFor } from '../math/rng.js';
import { float32, numel, type TensorData } from '../onnx/tensor.js';
import { buildGraph } from './graph.js';
import type { ModelSpec } from './spec.js';

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
    if (p.name.endsWith('.weight')) {
      const fanIn = p.dims.length > 1 ? numel(p.dims.slice(1)) : 1;
      const fanOut = p.dims[0]! * (p.dims.length > 2 ? numel(p.dims.slice(2)) : 1);
      if (p.name.includes('embedding')) for (let i = 0; i < n; i++) d[i] = 0.1 * normal();
      else if (spec.init === 'glorot') {
        const lim = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < n; i++) d[i] = (2 * rng() - 1) * lim;
      } else {
        const std = Math.sqrt(2 / fanIn);
        for (let i = 0; i < n; i++) d[i] = std * normal();
      }
    } else if (p.name.endsWith('.gamma') || p.name.endsWith('.running_var')) d.fill(1);
    if (p.padRow !== undefined) d.fill(0, p.padRow * p.dims[1]!, (p.padRow + 1) * p.dims[1]!);
    values.set(p.name, t);
  }
  return values;
}
