/**
 * Layers that only move values: reshapes, transpose, constant padding, slicing, concatenation and
 * splitting. Relevance is routed exactly like the gradient (backward/structural.ts).
 */
import { concatAdjoint, padAdjoint, reshapeAdjoint, sliceAdjoint, splitAdjoint, transposeAdjoint } from '../backward/structural.js';
import { type Layer, type LayerKindDef, unsupported } from './types.js';

const moves = { rules: ['gradient', 'pass'], defaultRule: () => ({ rule: 'gradient' as const }), relevanceFollows: () => 'routes' as const };
const nonNeg = (_l: Layer, inputsNonNeg: boolean) => inputsNonNeg;
const first = (l: Layer) => l.inputs.find((i) => i)!;
/** Only the data operand gets relevance; the rest (shapes, pads, axes) none. */
const dataOnly = (l: Layer, r: string) => [r, ...l.inputs.slice(1).map(() => null)];

export const reshape: LayerKindDef = {
  kind: 'reshape',
  ops: ['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze'],
  ...moves,
  recognise(_n, c) {
    c.onlyFirst();
    return { ...c.base, kind: 'reshape' };
  },
  backward: (c, l, _r, R) => dataOnly(l, reshapeAdjoint(c.g, first(l), R)),
  nonNegativeOutput: nonNeg,
};

export const transpose: LayerKindDef = {
  kind: 'transpose',
  ops: ['Transpose'],
  ...moves,
  recognise: (_n, c) => ({ ...c.base, kind: 'transpose' }),
  backward: (c, l, _r, R) => [transposeAdjoint(c.g, l.node, R, c.dims1(first(l)).length)],
  nonNegativeOutput: nonNeg,
};

export const pad: LayerKindDef = {
  kind: 'pad',
  ops: ['Pad'],
  ...moves,
  recognise(n, c) {
    c.onlyFirst();
    const mode = (n.attrs.mode as string | undefined) ?? 'constant';
    if (mode !== 'constant') throw unsupported(n, `Pad mode "${mode}"; only constant padding is supported`);
    return { ...c.base, kind: 'pad' };
  },
  backward: (c, l, _r, R) => dataOnly(l, padAdjoint(c.g, c.graph, l.node, R, c.dims1(first(l)), c.shapes)),
  nonNegativeOutput(l, inputsNonNeg, graph) {
    const v = l.node.inputs[2] ? graph.initializers.get(l.node.inputs[2]) : undefined;
    return inputsNonNeg && (!l.node.inputs[2] || (!!v && (v.data as Float32Array)[0]! >= 0));
  },
};

export const slice: LayerKindDef = {
  kind: 'slice',
  ops: ['Slice'],
  ...moves,
  recognise(_n, c) {
    c.onlyFirst();
    return { ...c.base, kind: 'slice' };
  },
  backward: (c, l, _r, R) => dataOnly(l, sliceAdjoint(c.g, c.graph, l.node, R, c.dims1(first(l)), c.shapes)),
  nonNegativeOutput: nonNeg,
};

export const concat: LayerKindDef = {
  kind: 'concat',
  ops: ['Concat'],
  ...moves,
  recognise: (_n, c) => ({ ...c.base, kind: 'concat' }),
  backward(c, l, _r, R) {
    const rank = c.shapes.get(l.node.inputs[0]!)!.dims.length;
    let axis = l.node.attrs.axis as number;
    if (axis < 0) axis += rank;
    if (axis === 0) throw unsupported(l.node, 'concatenation along the batch axis');
    const parts = concatAdjoint(
      c.g,
      R,
      l.node.inputs.map((i) => c.shapes.get(i)!.dims[axis]!),
      axis,
    );
    return l.inputs.map((t, k) => (t ? parts[k]! : null));
  },
  // Every operand, carrying relevance or constant, must be ≥ 0.
  nonNegativeOutput: (l, _inputsNonNeg, _graph, known) => l.node.inputs.every((i) => known.has(i)),
};

export const split: LayerKindDef = {
  kind: 'split',
  ops: ['Split'],
  ...moves,
  recognise(_n, c) {
    c.onlyFirst();
    return { ...c.base, kind: 'split' };
  },
  backward: (c, l, _r, _R, Rs) => dataOnly(l, splitAdjoint(c.g, l.outputs, Rs, (l.node.attrs.axis as number | undefined) ?? 0)),
  nonNegativeOutput: nonNeg,
};
