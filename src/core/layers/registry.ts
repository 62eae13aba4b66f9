/**
 * The registry of layer kinds. The importer recognises a node by its operator here; the rule
 * resolver and the compiler ask the kind for its rules, default rule and backward fragment. A new
 * kind is a file exporting a LayerKindDef, listed below.
 */
import { activation } from './activation.js';
import { add, constArith } from './arithmetic.js';
import { conv, dense } from './linear.js';
import { affine, lrn } from './normalization.js';
import { avgpool, globalavgpool, maxpool } from './pooling.js';
import { concat, pad, reshape, slice, split, transpose } from './shape.js';
import type { LayerKind, LayerKindDef } from './types.js';

export const LAYER_KINDS: readonly LayerKindDef[] = [
  dense,
  conv,
  affine,
  activation,
  maxpool,
  avgpool,
  globalavgpool,
  add,
  constArith,
  lrn,
  reshape,
  transpose,
  pad,
  slice,
  concat,
  split,
];

const byKind = new Map<LayerKind, LayerKindDef>(LAYER_KINDS.map((d) => [d.kind, d]));
const byOp = new Map<string, LayerKindDef>();
for (const d of LAYER_KINDS) {
  for (const op of d.ops) {
    if (byOp.has(op)) throw new Error(`internal: operator ${op} is claimed by layer kinds ${byOp.get(op)!.kind} and ${d.kind}`);
    byOp.set(op, d);
  }
}

export function layerKind(kind: LayerKind): LayerKindDef {
  const d = byKind.get(kind);
  if (!d) throw new Error(`internal: no layer kind "${kind}"`);
  return d;
}

/** The kind that recognises an ONNX operator, if any. */
export function kindForOp(op: string): LayerKindDef | undefined {
  return byOp.get(op);
}
