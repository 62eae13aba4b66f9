/**
 * Bounds for the zB/box rule from the range of the raw input: models that normalise inside the
 * graph ((x − mean) / std as Sub/Div constants) feed their first layer values in a shifted range,
 * and the box rule needs that range, not the raw one. The interval is pushed through the
 * element-wise constant arithmetic and shape-only layers in front of the first dense/conv layer.
 */
import type { Graph } from '../onnx/model.js';
import type { LayerView } from '../layers/view.js';

export function boundsAtFirstLinear(view: LayerView, graph: Graph, range: [number, number]): [number, number] | null {
  let [lo, hi] = range;
  for (const l of view.layers) {
    if (l.kind === 'dense' || l.kind === 'conv') return [lo, hi];
    if (l.kind === 'reshape' || l.kind === 'transpose' || l.kind === 'slice' || l.kind === 'split') continue;
    if (l.kind !== 'const-arith') return null;
    const c = graph.initializers.get(l.constOperand!.name);
    if (!c || (c.dtype !== 'float32' && c.dtype !== 'float64')) return null;
    // Per-channel constants: take the hull over channels (the box must hold every channel).
    const cands: [number, number][] = Array.from(c.data as Float32Array, (v) => {
      const first = l.constOperand!.index === 0;
      switch (l.op) {
        case 'Add':
          return [lo + v, hi + v];
        case 'Sub':
          return first ? [v - hi, v - lo] : [lo - v, hi - v];
        case 'Mul':
          return v >= 0 ? [lo * v, hi * v] : [hi * v, lo * v];
        case 'Div':
          return v > 0 ? [lo / v, hi / v] : [hi / v, lo / v];
        default:
          return [NaN, NaN];
      }
    });
    lo = Math.min(...cands.map((p) => p[0]));
    hi = Math.max(...cands.map((p) => p[1]));
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  }
  return null;
}
