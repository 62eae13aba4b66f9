/**
 * The word-deleting experiment of Arras et al. (arXiv 1606.07298, digest §5.5):
 * - initially correctly classified documents: delete words one at a time in DECREASING order of
 *   their relevance for the true (= predicted) class; accuracy starts at 100 % and should fall
 *   fast for a good explanation;
 * - initially misclassified documents: delete words in INCREASING order of their relevance for
 *   the true class (LRP: most negative first; SA: least sensitive first); accuracy starts at 0 %
 *   and should rise fast.
 * - a random order is the baseline (averaged over several runs).
 * Deleting a word replaces its id by the padding id, whose embedding is the zero vector in a
 * model trained with a padding row (checked and reported), so the document keeps its length —
 * the paper sets the word's embedding to zero. The ranking is computed once, on the original
 * document. A document with fewer words than k has all its words deleted at step k.
 */
import type { Encoded } from './vocab.js';
import { TextExplainer, type IdRows } from './explain.js';
import { permutation, rngFor } from '../math/rng.js';

export interface DeletionDoc {
  enc: Encoded;
  /** True class. */
  y: number;
}

export interface DeletionCurve {
  method: string;
  /** 'correct' (decreasing relevance) or 'misclassified' (increasing relevance). */
  set: 'correct' | 'misclassified';
  documents: number;
  /** accuracy[k] after deleting k words, k = 0..maxDeletions. */
  accuracy: number[];
  /** Random baseline: standard deviation of accuracy[k] over the runs. */
  std?: number[];
  runs?: number;
}

export interface DeletionOptions {
  maxDeletions?: number;
  randomRuns?: number;
  seed?: number;
  onProgress?: (what: string) => void;
}

/** Positions 0..n-1 sorted by score (decreasing or increasing); ties by position. */
export function deletionOrder(scores: ArrayLike<number>, n: number, decreasing: boolean): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (decreasing ? scores[b]! - scores[a]! : scores[a]! - scores[b]!) || a - b);
  return idx;
}

/**
 * The random baseline's order for one document in one run: keyed by the seed, the run and the
 * document's index, so it does not depend on the other documents or on the methods compared.
 */
export function randomOrder(n: number, seed: number, run: number, doc: number): Int32Array {
  return permutation(n, rngFor(seed, 'word-deletion', run, doc));
}

function argmax(a: Float32Array, off: number, K: number): number {
  let b = 0;
  for (let k = 1; k < K; k++) if (a[off + k]! > a[off + b]!) b = k;
  return b;
}

/** Group document indices by row length. */
function byLength(docs: DeletionDoc[]): Map<number, number[]> {
  const g = new Map<number, number[]>();
  docs.forEach((d, i) => (g.get(d.enc.length) ?? g.set(d.enc.length, []).get(d.enc.length)!).push(i));
  return g;
}

/**
 * Accuracy after deleting the first k positions of each document's order, k = 0..K. One forward
 * pass per length group and step.
 */
export async function deletionAccuracy(te: TextExplainer, docs: DeletionDoc[], orders: ArrayLike<number>[], K: number): Promise<number[]> {
  const correct = new Array<number>(K + 1).fill(0);
  const pad = BigInt(te.vocab.padId);
  for (const [L, idx] of byLength(docs)) {
    const base = TextExplainer.rowsOf(
      docs.map((d) => d.enc),
      idx,
      L,
    );
    const rows: IdRows = { ids: base.ids.slice(), n: idx.length, L };
    for (let k = 0; k <= K; k++) {
      if (k > 0) {
        idx.forEach((i, r) => {
          const o = orders[i]!;
          if (k - 1 < o.length) rows.ids[r * L + o[k - 1]!] = pad;
        });
      }
      const logits = await te.forward(rows);
      const C = logits.length / rows.n;
      idx.forEach((i, r) => {
        if (argmax(logits, r * C, C) === docs[i]!.y) correct[k]!++;
      });
    }
  }
  return correct.map((c) => (docs.length ? c / docs.length : NaN));
}

/** Word scores of each document's kept tokens for its true class. */
export async function scoresForTrueClass(te: TextExplainer, docs: DeletionDoc[]): Promise<Float32Array[]> {
  const out = new Array<Float32Array>(docs.length);
  for (const [L, idx] of byLength(docs)) {
    const r = await te.explainIds(
      TextExplainer.rowsOf(
        docs.map((d) => d.enc),
        idx,
        L,
      ),
      idx.map((i) => docs[i]!.y),
    );
    idx.forEach((i, row) => (out[i] = r.scores.slice(row * L, row * L + docs[i]!.enc.tokens.length)));
  }
  return out;
}

/** Predicted class of each (undeleted) document. */
export async function predictDocs(te: TextExplainer, docs: DeletionDoc[]): Promise<number[]> {
  const out = new Array<number>(docs.length);
  for (const [L, idx] of byLength(docs)) {
    const logits = await te.forward(
      TextExplainer.rowsOf(
        docs.map((d) => d.enc),
        idx,
        L,
      ),
    );
    const C = logits.length / idx.length;
    idx.forEach((i, r) => (out[i] = argmax(logits, r * C, C)));
  }
  return out;
}

/**
 * Run the experiment for several explainers (name → explainer; all of the same model) plus the
 * random baseline. `forwardWith` runs the forward passes (any of the explainers).
 */
export async function wordDeletionExperiment(
  methods: Map<string, TextExplainer>,
  docs: DeletionDoc[],
  opts: DeletionOptions = {},
): Promise<{ curves: DeletionCurve[]; predicted: number[]; scores: Map<string, Float32Array[]> }> {
  const K = opts.maxDeletions ?? 50;
  const runs = opts.randomRuns ?? 10;
  const fwd = [...methods.values()][0];
  if (!fwd) throw new Error('word deletion needs at least one explanation method');
  const predicted = await predictDocs(fwd, docs);
  const sets = {
    correct: docs.map((_, i) => i).filter((i) => predicted[i] === docs[i]!.y),
    misclassified: docs.map((_, i) => i).filter((i) => predicted[i] !== docs[i]!.y),
  };
  const curves: DeletionCurve[] = [];
  const scores = new Map<string, Float32Array[]>();
  for (const [name, te] of methods) {
    opts.onProgress?.(`scoring words: ${name}`);
    scores.set(name, await scoresForTrueClass(te, docs));
  }
  for (const set of ['correct', 'misclassified'] as const) {
    const ids = sets[set];
    if (ids.length === 0) continue;
    const sub = ids.map((i) => docs[i]!);
    for (const [name] of methods) {
      opts.onProgress?.(`deleting words (${set}): ${name}`);
      const s = scores.get(name)!;
      const orders = ids.map((i) => deletionOrder(s[i]!, docs[i]!.enc.tokens.length, set === 'correct'));
      curves.push({ method: name, set, documents: sub.length, accuracy: await deletionAccuracy(fwd, sub, orders, K) });
    }
    opts.onProgress?.(`deleting words (${set}): random × ${runs}`);
    const all: number[][] = [];
    for (let r = 0; r < runs; r++) {
      const orders = ids.map((i) => randomOrder(docs[i]!.enc.tokens.length, opts.seed ?? 1, r, i));
      all.push(await deletionAccuracy(fwd, sub, orders, K));
    }
    const mean = all[0]!.map((_, k) => all.reduce((a, c) => a + c[k]!, 0) / runs);
    const std = mean.map((m, k) => Math.sqrt(all.reduce((a, c) => a + (c[k]! - m) ** 2, 0) / Math.max(1, runs - 1)));
    curves.push({ method: 'random', set, documents: sub.length, accuracy: mean, std, runs });
  }
  return { curves, predicted, scores };
}
