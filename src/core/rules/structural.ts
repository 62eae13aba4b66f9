/** Layers that only move values around: relevance is routed exactly like the gradient. */
import type { GraphBuilder } from '../onnx/builder.js';
import type { Graph } from '../onnx/model.js';
import type { Layer } from '../graph/layers.js';
import { unsupported } from '../graph/layers.js';
import { intValues } from '../graph/canonize.js';
import type { TensorInfo } from '../graph/shapes.js';

/** An integer operand: a constant, or shape arithmetic whose value the shape probe recorded. */
function constInts(graph: Graph, l: Layer, name: string | undefined, what: string, shapes?: Map<string, TensorInfo>): number[] | undefined {
  if (!name) return undefined;
  const t = graph.initializers.get(name);
  if (t) return intValues(t);
  const probed = shapes?.get(name)?.value;
  if (probed) return probed;
  throw unsupported(l.node, `its ${what} is not a constant`);
}

export function reshapeBackward(g: GraphBuilder, x: string, R: string): string {
  return g.op('Reshape', [R, g.op('Shape', [x])]);
}

export function transposeBackward(g: GraphBuilder, l: Layer, R: string, rank: number): string {
  const perm = (l.node.attrs.perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return g.op('Transpose', [R], { perm: inv });
}

/** Constant Pad: crop R back to the input (negative pads, i.e. cropping, re-pad with zeros). */
export function padBackward(g: GraphBuilder, graph: Graph, l: Layer, R: string, inShape: number[], shapes: Map<string, TensorInfo>): string {
  const rank = inShape.length;
  const padsIn = l.node.inputs[1] ? constInts(graph, l, l.node.inputs[1], 'pads', shapes) : (l.node.attrs.pads as number[] | undefined);
  if (!padsIn) throw unsupported(l.node, 'no pads');
  const axesRaw = constInts(graph, l, l.node.inputs[3], 'axes', shapes);
  const axes = (axesRaw ?? Array.from({ length: rank }, (_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const begin = new Array(rank).fill(0);
  const end = new Array(rank).fill(0);
  axes.forEach((a, k) => {
    begin[a] = padsIn[k]!;
    end[a] = padsIn[axes.length + k]!;
  });
  if (begin[0] !== 0 || end[0] !== 0) throw unsupported(l.node, 'padding along the batch axis');
  if ([...begin, ...end].every((p) => p >= 0)) {
    const ax = Array.from({ length: rank - 1 }, (_, i) => i + 1);
    const starts = ax.map((a) => begin[a]!);
    const ends = ax.map((a) => begin[a]! + inShape[a]!);
    return g.op('Slice', [R, g.ints(starts), g.ints(ends), g.ints(ax)]);
  }
  if ([...begin, ...end].every((p) => p <= 0)) return g.op('Pad', [R, g.ints([...begin.map((p) => -p), ...end.map((p) => -p)])]);
  throw unsupported(l.node, 'mixed positive and negative pads');
}

/** Slice with step 1: put R back at its place in a zero tensor of the input's shape. */
export function sliceBackward(g: GraphBuilder, graph: Graph, l: Layer, R: string, inShape: number[], shapes: Map<string, TensorInfo>): string {
  const rank = inShape.length;
  const starts = constInts(graph, l, l.node.inputs[1], 'starts', shapes)!;
  const ends = constInts(graph, l, l.node.inputs[2], 'ends', shapes)!;
  const axes = (constInts(graph, l, l.node.inputs[3], 'axes', shapes) ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + rank : a));
  const steps = constInts(graph, l, l.node.inputs[4], 'steps', shapes) ?? starts.map(() => 1);
  if (steps.some((s) => s !== 1)) throw unsupported(l.node, 'Slice with steps other than 1');
  const begin = new Array(rank).fill(0);
  const end = new Array(rank).fill(0);
  axes.forEach((a, k) => {
    if (a === 0) throw unsupported(l.node, 'slicing along the batch axis');
    const dim = inShape[a]!;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[k]!);
    const e = Math.max(clamp(ends[k]!), s);
    begin[a] = s;
    end[a] = dim - e;
  });
  return g.op('Pad', [R, g.ints([...begin, ...end])]);
}

/** Concat: split R back into the operands' extents along the axis. */
export function concatBackward(g: GraphBuilder, l: Layer, R: string, shapes: Map<string, TensorInfo>): (string | null)[] {
  const rank = shapes.get(l.node.inputs[0]!)!.dims.length;
  let axis = l.node.attrs.axis as number;
  if (axis < 0) axis += rank;
  if (axis === 0) throw unsupported(l.node, 'concatenation along the batch axis');
  const sizes = l.node.inputs.map((i) => shapes.get(i)!.dims[axis]!);
  const parts = g.opN('Split', [R, g.ints(sizes)], sizes.length, { axis }, 'concat_split');
  return l.inputs.map((c, k) => (c ? parts[k]! : null));
}

/** Split: concatenate the outputs' relevances (zeros for outputs that received none). */
export function splitBackward(g: GraphBuilder, l: Layer, Rs: (string | null)[]): string {
  let axis = (l.node.attrs.axis as number | undefined) ?? 0;
  const parts = l.outputs.map((o, k) => Rs[k] ?? g.op('ConstantOfShape', [g.op('Shape', [o])], { value: { dtype: 'float32', dims: [1], data: new Float32Array([0]) } }));
  if (axis < 0) axis = -1; // Concat accepts negative axes
  return g.op('Concat', parts, { axis });
}
