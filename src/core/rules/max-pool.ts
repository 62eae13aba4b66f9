/**
 * Max pooling under LRP and gradients: winner-take-all (the relevance of a pooled value goes to
 * the window's maximum, the first one where several tie — backward/pooling.ts). Below a
 * non-overlapping pool the relevance is zero except at the winners, so the layers under it can
 * work at the pooled resolution: this module keeps that bookkeeping ("unpooled" tensors).
 *
 * Source: Bach et al. (2015), winner-take-all for max pooling; Zennit passes the gradient of
 * max pooling, which is the same map.
 */
import { maxPoolBackward, poolsWithoutOverlap, reluMaskAtPooled } from '../backward/pooling.js';
import type { GraphBuilder } from '../onnx/builder.js';
import type { GraphNode } from '../onnx/model.js';

/** R = unpool(pooled): a tensor that is zero except at the winners of a non-overlapping max pool. */
export interface Unpooled {
  pooled: string;
  /** The pool's input and output in the forward graph. */
  input: string;
  output: string;
  /** A pooled-shape tensor back to R's shape (zeros elsewhere). */
  unpool: (t: string) => string;
  /** A tensor of R's shape read at the winners (pooled shape). */
  gather: (t: string) => string;
}

/** Relevance at a max pool's input; records the winners-only form where windows do not overlap. */
export function maxPoolRule(g: GraphBuilder, x: string, node: GraphNode, R: string, unpooled: Map<string, Unpooled>): string {
  const out = maxPoolBackward(g, x, node, R);
  if (poolsWithoutOverlap(node)) {
    const indices = node.outputs[1]!;
    unpooled.set(out, {
      pooled: R,
      input: x,
      output: node.outputs[0]!,
      unpool: (t) => maxPoolBackward(g, x, node, t),
      gather: (t) => g.op('Gather', [g.op('Reshape', [t, g.ints([-1])]), indices], { axis: 0 }),
    });
  }
  return out;
}

/**
 * The gradient of a ReLU whose output feeds a non-overlapping max pool, at the pooled resolution:
 * ReLU'(y) at the winners only, where y is the pooled value itself (max and ReLU commute).
 * Returns the unpooled result (also recorded), or null where R is not a winners-only tensor.
 */
export function reluBelowMaxPool(g: GraphBuilder, y: string, R: string, unpooled: Map<string, Unpooled>): string | null {
  const u = unpooled.get(R);
  if (!u) return null;
  // y at the winners: the pool's own output where y is what it pooled (no gather needed).
  const kept = reluMaskAtPooled(g, u.pooled, y === u.input ? u.output : u.gather(y));
  const out = u.unpool(kept);
  unpooled.set(out, { ...u, pooled: kept });
  return out;
}
