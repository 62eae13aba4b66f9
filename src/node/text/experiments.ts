/**
 * The text experiments of Arras et al. (arXiv 1606.07298) on any text model + vocabulary and a
 * labelled JSONL test set: the word-deleting experiment (LRP vs SA vs random, and any other
 * methods), document summary vectors with their PCA projection, top words per class and
 * highlighted example documents. Writes JSON/CSV/Markdown tables, SVG/PNG plots and HTML pages.
 */
import { checkOutputFolder, writeOutputFolder } from '../io/atomic.js';
import { escapeHtml, formatNumber, htmlPage } from '../../core/visualize/html.js';
import { highlightTextHtml } from '../../core/visualize/text-html.js';
import { loadJsonlDataset } from './dataset.js';
import { wordDeletionExperiment, type DeletionCurve, type DeletionDoc } from '../../core/text/deletion.js';
import { documentVector } from '../../core/text/docvec.js';
import { checkTextMethod, type TextExplainerOptions } from '../../core/text/explain.js';
import { methodSpecOptions, splitMethodSpec, type MethodSpecParts } from '../../core/explain/method-spec.js';
import { TextExplainer } from '../api.js';
import { knnAccuracy, pca } from '../../core/text/pca.js';
import { deletionSpec, pcaSpec, renderPlot } from './plot.js';
import { loadVocabulary, vocabPathFor } from '../files.js';

export interface TextExperimentOptions {
  model: string;
  vocab?: string;
  data: string;
  labels?: string;
  out: string;
  /** Method specs (parseTextMethodSpec): lrp (the paper's ε rule), lrp:<composite>, lrp:epsilon@epsilon=<e>, sa, gradient-x-input, … */
  methods?: string[];
  maxDeletions?: number;
  randomRuns?: number;
  seed?: number;
  limit?: number;
  threads?: number;
  /** Number of example documents in examples.html (one per class, up to this many). */
  examples?: number;
  onProgress?: (what: string) => void;
}

/** The paper's comparison (LRP-ε, SA) and three more; random is always added. */
export const DEFAULT_TEXT_METHODS = ['lrp', 'sa', 'gradient-x-input', 'lrp:epsilon@epsilon=0.25', 'lrp:epsilon-plus'];

/**
 * A text method: a method spec (src/core/explain/method-spec.ts, `NAME[:VARIANT][@key=value…]`)
 * whose NAME may also be `sa` (sensitivity analysis); a bare `lrp` is the paper's ε rule. The
 * older spelling `lrp:epsilon=E` still reads as `lrp:epsilon@epsilon=E`, the same method.
 */
export interface TextMethodSpec {
  /** The name in tables and plots. */
  label: string;
  options: Omit<TextExplainerOptions, 'vocab'>;
}

export function parseTextMethodSpec(spec: string): TextMethodSpec {
  const old = /^\s*lrp:epsilon=([^@:]*)\s*$/.exec(spec);
  const parts = splitMethodSpec(old ? `lrp:epsilon@epsilon=${old[1]}` : spec);
  if (parts.name === 'random') throw new Error('"random" is always included; do not list it');
  const method = checkTextMethod(parts.name);
  // SA is the squared gradient: its options are the gradient's.
  const { options } = methodSpecOptions(parts, method === 'sa' ? 'gradient' : method);
  return { label: textMethodLabel(parts), options: { ...options, method } };
}

/** Short names for the paper's methods (as in its figures); any other spec is named as written. */
function textMethodLabel(p: MethodSpecParts): string {
  const [only, more] = p.settings;
  if (p.name === 'lrp' && p.variant === undefined && !only) return 'LRP-ε (paper)';
  if (p.name === 'sa' && !only) return 'SA';
  if (p.name === 'lrp' && p.variant === 'epsilon' && only?.[0] === 'epsilon' && !more) return `LRP-ε (ε=${only[1]})`;
  if (p.name === 'lrp' && p.variant !== undefined && !only) return `LRP ${p.variant}`;
  return p.label;
}

function csv(rows: (string | number)[][]): string {
  return rows.map((r) => r.map((c) => (typeof c === 'number' ? String(c) : /[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\n') + '\n';
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–');

/** Mean accuracy over k = 1..K: the area under (correct) / over (misclassified) the curve. */
export function meanAccuracy(c: DeletionCurve): number {
  const a = c.accuracy.slice(1);
  return a.reduce((s, v) => s + v, 0) / Math.max(1, a.length);
}

export async function runTextExperiments(o: TextExperimentOptions): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  // The folder is created when everything is computed, and written all or nothing.
  checkOutputFolder('--out', o.out);
  const progress = o.onProgress ?? (() => undefined);
  const vocab = loadVocabulary(o.vocab ?? vocabPathFor(o.model));
  const ds = loadJsonlDataset(o.data, o.labels ?? vocab.labels);
  const labels = ds.labels;
  const docsAll = o.limit ? ds.docs.slice(0, o.limit) : ds.docs;
  const specs = o.methods ?? DEFAULT_TEXT_METHODS;
  const K = o.maxDeletions ?? 50;

  const explainers = new Map<string, TextExplainer>();
  try {
    for (const { label, options } of specs.map(parseTextMethodSpec)) {
      if (explainers.has(label)) throw new Error(`method "${label}" is listed twice`);
      explainers.set(label, await TextExplainer.create(o.model, { ...options, vocab, threads: o.threads }));
    }
    const first = [...explainers.values()][0]!;
    const encoded = docsAll.map((d) => vocab.encode(d.text));
    const docs: DeletionDoc[] = docsAll.map((d, i) => ({ enc: encoded[i]!, y: d.y })).filter((d) => d.enc.tokens.length > 0);
    const skipped = docsAll.length - docs.length;
    const kept = docsAll.filter((_, i) => encoded[i]!.tokens.length > 0);

    // 1. Word deletion.
    const { curves, predicted } = await wordDeletionExperiment(explainers, docs, {
      maxDeletions: K,
      randomRuns: o.randomRuns ?? 10,
      seed: o.seed ?? 1,
      onProgress: progress,
    });
    const accuracy = predicted.filter((p, i) => p === docs[i]!.y).length / docs.length;
    const padNorm = first.paddingNorm();

    // 2. Document vectors (relevance for the predicted class) and PCA.
    progress('document vectors');
    const lrpName = explainers.has('LRP-ε (paper)') ? 'LRP-ε (paper)' : [...explainers.keys()].find((n) => n.startsWith('LRP'));
    const saName = explainers.has('SA') ? 'SA' : undefined;
    const weighted = new Map<string, Float64Array[]>();
    const predScores = new Map<string, Float32Array[]>();
    for (const name of [lrpName, saName].filter((n): n is string => !!n)) {
      const te = explainers.get(name)!;
      const res = await te.explainTexts(
        kept.map((d) => d.text),
        'predicted',
      );
      predScores.set(
        name,
        res.map((r) => r.relevance),
      );
      weighted.set(
        `${name} weighted sum`,
        res.map((r) => documentVector(te, r.ids, r.relevance)),
      );
    }
    weighted.set(
      'plain average',
      docs.map((d) => documentVector(first, d.enc.ids.slice(0, d.enc.tokens.length))),
    );
    const ys = docs.map((d) => d.y);
    const docvec: Record<string, unknown>[] = [];
    const panels = [];
    // The weighted sums scale with the explained score, so a few confident documents can dominate
    // the projection: the same vectors scaled to unit length form the second row.
    const unit = (v: Float64Array) => {
      const n = Math.hypot(...v);
      return n > 0 ? v.map((x) => x / n) : v;
    };
    for (const [name, vecs] of [...weighted]) weighted.set(`${name}, unit length`, vecs.map(unit));
    for (const [name, vecs] of weighted) {
      const p = pca(vecs, 2);
      docvec.push({
        vectors: name,
        explained_variance_2d: p.explained,
        knn5_accuracy_pca2d: knnAccuracy(p.projected, ys, 5),
        knn5_accuracy_full: knnAccuracy(vecs, ys, 5),
      });
      panels.push({ title: name, points: p.projected.map(([x, y], i) => ({ x: x!, y: y!, label: labels[ys[i]!]! })) });
    }

    // 3. Top words per class (correctly classified documents, relevance for their class).
    progress('top words');
    const topWords: Record<string, Record<string, { token: string; total: number; count: number }[]>> = {};
    for (const [name, s] of [
      [lrpName, predScores.get(lrpName ?? '')],
      [saName, predScores.get(saName ?? '')],
    ] as const) {
      if (!name || !s) continue;
      topWords[name] = {};
      labels.forEach((lab, c) => {
        const acc = new Map<string, { total: number; count: number }>();
        docs.forEach((d, i) => {
          if (d.y !== c || predicted[i] !== c) return;
          d.enc.tokens.forEach((t, p) => {
            const key = vocab.id(t.text) === vocab.unkId ? vocab.file.unk : t.text;
            const a = acc.get(key) ?? { total: 0, count: 0 };
            a.total += s[i]![p]!;
            a.count++;
            acc.set(key, a);
          });
        });
        topWords[name]![lab] = [...acc.entries()]
          .map(([token, a]) => ({ token, ...a }))
          .sort((a, b) => b.total - a.total)
          .slice(0, 10);
      });
    }

    // 4. Example documents, LRP vs SA.
    progress('examples');
    const exParts: string[] = [];
    const perClass = new Set<number>();
    const nEx = o.examples ?? labels.length;
    for (let i = 0; i < docs.length && perClass.size < nEx; i++) {
      if (perClass.has(docs[i]!.y) || predicted[i] !== docs[i]!.y) continue;
      perClass.add(docs[i]!.y);
      const d = docs[i]!;
      exParts.push(`<h3>${escapeHtml(kept[i]!.id)} — ${escapeHtml(labels[d.y]!)} (correctly classified)</h3>`);
      for (const [name, s] of predScores) {
        exParts.push(`<h4 style="margin-bottom:0.2em">${escapeHtml(name)}</h4>`);
        exParts.push(
          highlightTextHtml(
            d.enc.tokens.map((t) => t.surface),
            s[i]!,
            { legend: true },
          ),
        );
      }
    }
    const mis = docs
      .map((_, i) => i)
      .filter((i) => predicted[i] !== docs[i]!.y)
      .slice(0, 3);
    for (const i of mis) {
      const d = docs[i]!;
      exParts.push(
        `<h3>${escapeHtml(kept[i]!.id)} — true ${escapeHtml(labels[d.y]!)}, predicted ${escapeHtml(labels[predicted[i]!]!)} (misclassified; relevance for the predicted class)</h3>`,
      );
      for (const [name, s] of predScores) {
        exParts.push(`<h4 style="margin-bottom:0.2em">${escapeHtml(name)}</h4>`);
        exParts.push(
          highlightTextHtml(
            d.enc.tokens.map((t) => t.surface),
            s[i]!,
            { legend: true },
          ),
        );
      }
    }

    // 5. Outputs.
    progress('writing outputs');
    const settings = {
      model: o.model,
      data: o.data,
      documents: docs.length,
      skipped_empty: skipped,
      model_accuracy: accuracy,
      methods: Object.fromEntries([...explainers].map(([n, te]) => [n, te.describe()])),
      max_deletions: K,
      random_runs: o.randomRuns ?? 10,
      seed: o.seed ?? 1,
      deletion: 'word id replaced by the padding id',
      padding_embedding_max_abs: padNorm,
      ranking: 'relevance for the true class, computed once on the original document',
      docvec_relevance: 'relevance for the predicted class',
    };
    const sub = `${o.model} on ${o.data}: ${docs.length} documents, accuracy ${pct(accuracy)}; deleted words → padding (zero embedding)`;
    const del = await renderPlot(deletionSpec(curves, sub));
    const pcaPlot = await renderPlot(pcaSpec(panels, labels, `${o.model} on ${o.data}; colour = true class`));
    const steps = [0, 1, 2, 3, 5, 10, 20, 30, 50].filter((k) => k <= K);
    const md: string[] = [];
    md.push(`# Text experiments\n`);
    md.push(
      `Model \`${o.model}\`, data \`${o.data}\`: ${docs.length} documents${skipped ? ` (${skipped} without any word skipped)` : ''}, accuracy ${pct(accuracy)}.\n`,
    );
    md.push('Methods:\n');
    for (const [n, te] of explainers) md.push(`- ${n}: ${te.describe()}`);
    md.push(`\nPadding embedding max |value|: ${formatNumber(padNorm)} (0 means deleting = zero vector, as in the paper).\n`);
    for (const set of ['correct', 'misclassified'] as const) {
      const cs = curves.filter((c) => c.set === set);
      if (!cs.length) continue;
      md.push(
        `## Word deletion: ${set === 'correct' ? 'correctly classified documents, most relevant first (lower is better)' : 'misclassified documents, least relevant first (higher is better)'} — ${cs[0]!.documents} documents\n`,
      );
      md.push(`| method | ${steps.map((k) => `k=${k}`).join(' | ')} | mean k=1..${K} |`);
      md.push(`| --- | ${steps.map(() => '---:').join(' | ')} | ---: |`);
      for (const c of cs)
        md.push(`| ${c.method}${c.runs ? ` (mean of ${c.runs})` : ''} | ${steps.map((k) => pct(c.accuracy[k]!)).join(' | ')} | ${pct(meanAccuracy(c))} |`);
      md.push('');
    }
    md.push('## Document summary vectors\n');
    md.push('| vectors | variance in PC1+PC2 | 5-NN accuracy in the PCA plane | 5-NN accuracy, full dimension |');
    md.push('| --- | ---: | ---: | ---: |');
    for (const r of docvec)
      md.push(
        `| ${r.vectors} | ${pct((r.explained_variance_2d as number[]).reduce((a, b) => a + b, 0))} | ${pct(r.knn5_accuracy_pca2d as number)} | ${pct(r.knn5_accuracy_full as number)} |`,
      );
    md.push('');
    md.push('## Top words per class (summed relevance for the class over its correctly classified documents)\n');
    for (const [name, byClass] of Object.entries(topWords)) {
      md.push(`### ${name}\n`);
      md.push('| class | top 10 words |');
      md.push('| --- | --- |');
      for (const [lab, ws] of Object.entries(byClass)) md.push(`| ${lab} | ${ws.map((w) => w.token.replace(/\|/g, '\\|')).join(', ')} |`);
      md.push('');
    }
    const files: [string, string | Uint8Array][] = [
      ['deletion.json', JSON.stringify({ settings, curves }, null, 1) + '\n'],
      [
        'deletion.csv',
        csv([
          ['method', 'set', 'documents', 'k', 'accuracy', 'std'],
          ...curves.flatMap((c) => c.accuracy.map((a, k) => [c.method, c.set, c.documents, k, a, c.std?.[k] ?? ''])),
        ]),
      ],
      ['deletion.svg', del.svg],
      ['deletion.png', del.png],
      ['docvec-pca.svg', pcaPlot.svg],
      ['docvec-pca.png', pcaPlot.png],
      ['docvec.json', JSON.stringify(docvec, null, 1) + '\n'],
      ['top-words.json', JSON.stringify(topWords, null, 1) + '\n'],
      ['examples.html', htmlPage('relprop text explanations: examples', `<h2>Example explanations</h2><p>${escapeHtml(sub)}</p>\n${exParts.join('\n')}`)],
      ['results.md', md.join('\n') + '\n'],
    ];
    const summary = {
      settings,
      curves: curves.map((c) => ({
        method: c.method,
        set: c.set,
        documents: c.documents,
        mean: meanAccuracy(c),
        at: Object.fromEntries(steps.map((k) => [k, c.accuracy[k]])),
      })),
      docvec,
      seconds: (Date.now() - t0) / 1000,
    };
    files.push(['summary.json', JSON.stringify(summary, null, 1) + '\n']);
    await writeOutputFolder(o.out, files);
    return summary;
  } finally {
    for (const te of explainers.values()) await te.release();
  }
}
