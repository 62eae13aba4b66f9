/**
 * Adjoints of operators that only move values around (reshape, transpose, pad, slice, concat,
 * split). LRP routes relevance through them exactly like the gradient.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import type { Graph, GraphNode } from '../onnx/model.js';
import { unsupported } from '../layers/view.js';
import { intValues } from '../onnx/values.js';
import type { TensorInfo } from '../graph/shapes.js';

/** An integer operand: a constant, or shape arithmetic whose value the shape probe recorded. */
function constInts(graph: Graph, n: GraphNode, name: string | undefined, what: string, shapes?: Map<string, TensorInfo>): number[] | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  if (t) return intValues(t);
  const probed = shapes?.get(name)?.value;
  if (probed) return probed;
  throw unsupported(n, `its ${what} is not a constant`);
}

/** Reshape, Flatten, Squeeze, Unsqueeze: dY back to x's shape. */
export function reshapeAdjoint(g: GraphBuilder, x: string, R: string): string {
  return g.op('Reshape', [R, g.op('Shape', [x])]);
}

export function transposeAdjoint(g: GraphBuilder, n: GraphNode, R: string, rank: number): string {
  const perm = (n.attrs.perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return g.op('Transpose', [R], { perm: inv });
}

/** Constant Pad: crop R back to the input (negative pads, i.e. cropping, re-pad with zeros). */
export function padAdjoint(g: GraphBuilder, graph: Graph, n: GraphNode, R: string, inShape: number[], shapes: Map<string, TensorInfo>): string {
  const rank = inShape.length;
  const padsIn = n.inputs[1] ? constInts(graph, n, n.inputs[1], 'pads', shapes) : (n.attrs.pads as number[] | undefined);
  if (!padsIn) throw unsupported(n, 'no pads');
  const axesRaw = constInts(graph, n, n.inputs[3], 'axes', shapes);
  const axes = (axesRaw ?? Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const begin = new Array(rank).fill(0);
  const end = new Array(rank).fill(0);
  axes.forEach((a, k) => {
    begin[a] = padsIn[k]!;
    end[a] = padsIn[axes.length + k]!;
  });
  if (begin[0] !== 0 || end[0] !== 0) throw unsupported(n, 'padding along the batch axis');
  if ([...begin, ...end].every((p) => p >= 0)) {
    const ax = Array.from({ length: rank - 1 }, (_, i) => i + 1);
    const starts = ax.map((a) => begin[a]!);
    const ends = ax.map((a) => begin[a]! + inShape[a]!);
    return g.op('Slice', [R, g.ints(starts), g.ints(ends), g.ints(ax)]);
  }
  if ([...begin, ...end].every((p) => p <= 0)) return g.op('Pad', [R, g.ints([...begin.map((p) => -p), ...end.map((p) => -p)])]);
  throw unsupported(n, 'mixed positive and negative pads');
}

/** Slice with step 1: put R back at its place in a zero tensor of the input's shape. */
export function sliceAdjoint(g: GraphBuilder, graph: Graph, n: GraphNode, R: string, inShape: number[], shapes: Map<string, TensorInfo>): string {
  const rank = inShape.length;
  const starts = constInts(graph, n, n.inputs[1], 'starts', shapes)!;
  const ends = constInts(graph, n, n.inputs[2], 'ends', shapes)!;
  const axes = (constInts(graph, n, n.inputs[3], 'axes', shapes) ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const steps = constInts(graph, n, n.inputs[4], 'steps', shapes) ?? starts.map(() => 1);
  if (steps.some((s) => s !== 1)) throw unsupported(n, 'Slice with steps other than 1');
  const begin = new Array(rank).fill(0);
  const end = new Array(rank).fill(0);
  axes.forEach((a, k) => {
    if (a === 0) throw unsupported(n, 'slicing along the batch axis');
    const dim = inShape[a]!;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[k]!);
    const e = Math.max(clamp(ends[k]!), s);
    begin[a] = s;
    end[a] = dim - e;
  });
  return g.op('Pad', [R, g.ints([...begin, ...end])]);
}

/** Concat along `axis` of operands with these extents: dY split back into them. */
export function concatAdjoint(g: GraphBuilder, R: string, sizes: number[], axis: number): string[] {
  return g.opN('Split', [R, g.ints(sizes)], sizes.length, { axis }, 'concat_split');
}

/** Split: the outputs' gradients concatenated (zeros for outputs that received none). */
export function splitAdjoint(g: GraphBuilder, outputs: string[], Rs: (string | null)[], axis: number): string {
  const parts = outputs.map(
    (o, k) => Rs[k] ?? g.op('ConstantOfShape', [g.op('Shape', [o])], { value: { dtype: 'float32', dims: [1], data: new Float32Array([0]) } }),
  );
  return g.op('Concat', parts, { axis }); // Concat takes negative axes as Split does
}
