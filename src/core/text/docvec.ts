/**
 * Document summary vectors (Arras et al., digest §5.6): a document is summarised by the sum of its
 * word embeddings weighted by the words' relevance, d = Σ_t R_t · x_t (LRP or SA scores), or by
 * the plain average (1/n) Σ_t x_t. Their 2-D PCA projections, coloured by class, show how much
 * class information the weighting concentrates.
 */
import type { TextExplainer } from './explain.js';

/** Σ_t w_t · E[ids_t] over the given tokens; `weights` undefined = average. */
export function documentVector(te: TextExplainer, ids: ArrayLike<number>, weights?: ArrayLike<number>): Float64Array {
  const D = te.D;
  const d = new Float64Array(D);
  const n = ids.length;
  for (let t = 0; t < n; t++) {
    const w = weights ? weights[t]! : 1 / n;
    const e = te.embeddingOf(ids[t]!);
    for (let k = 0; k < D; k++) d[k]! += w * e[k]!;
  }
  return d;
}
