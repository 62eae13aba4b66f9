/**
 * Canonicalization: rewrite an imported graph into the form the compiler expects, without
 * changing its forward semantics (up to float rounding of folded batch norms). Each pass is a
 * file in passes/ that says what it rewrites and why; this file decides what relprop reads and
 * the order the passes run in.
 */
import type { Graph } from '../onnx/model.js';
import { canonicalGemm } from './passes/canonical-gemm.js';
import { foldBatchNorms } from './passes/fold-batch-norms.js';
import { checkLrnNodes, fuseTorchLrn } from './passes/fuse-lrn.js';
import { liftConstants } from './passes/lift-constants.js';
import { pruneDead } from './passes/prune-dead.js';
import { removeIdentities } from './passes/remove-identities.js';
import { stripSoftmax } from './passes/strip-softmax.js';

export const MIN_OPSET = 11;
export const EXPLAINER_OPSET = 17;

export interface CanonInfo {
  /** Node names folded into another node: BN name → the Conv/Gemm it went into. */
  merged: Map<string, string>;
  /** Output that is explained (after softmax stripping). */
  output: string;
  strippedSoftmax: string | null;
  /** Names of the nodes before the rewrite (a rules mapping may name one the rewrite removed). */
  nodeNames: Set<string>;
}

/** Rewrite `g` in place; returns what the explainer needs to know about the rewrite. */
export function canonicalize(g: Graph): CanonInfo {
  checkReadable(g);
  const nodeNames = new Set(g.nodes.map((n) => n.name));
  liftConstants(g, EXPLAINER_OPSET);
  fuseTorchLrn(g);
  checkLrnNodes(g);
  removeIdentities(g);
  const output = explainedOutput(g);
  const strippedSoftmax = stripSoftmax(g, output);
  pruneDead(g, output);
  canonicalGemm(g);
  const merged = foldBatchNorms(g);
  pruneDead(g, output);
  return { merged, output, strippedSoftmax, nodeNames };
}

/** relprop reads standard ONNX operators at opset 11 and newer. */
function checkReadable(g: Graph) {
  if (g.opset < MIN_OPSET)
    throw new Error(`the model uses opset ${g.opset}; relprop reads opsets ${MIN_OPSET} and newer (re-export with opset_version >= ${MIN_OPSET})`);
  for (const n of g.nodes) {
    if (n.domain && n.domain !== 'ai.onnx')
      throw new Error(`unsupported operator ${n.domain}.${n.op} at node "${n.name}": relprop reads only standard ONNX operators`);
  }
}

/** The first declared output is the one explained; the others are dropped (pruning removes what only they needed). */
function explainedOutput(g: Graph): string {
  if (g.outputs.length === 0) throw new Error('the model declares no outputs');
  g.outputs = [g.outputs[0]!];
  return g.outputs[0]!.name;
}
