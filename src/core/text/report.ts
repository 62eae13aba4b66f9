/** Text explanations as top-word lists, plain text and a highlighted HTML page. */
import { escapeHtml, formatNumber, htmlPage } from '../visualize/html.js';
import { highlightTextHtml } from '../visualize/text-html.js';
import type { TextExplanation } from './explain.js';

export interface WordScore {
  /** Position among the explained tokens. */
  position: number;
  word: string;
  surface: string;
  relevance: number;
}

/** The k highest (or, with `lowest`, lowest) scoring tokens, ties by position. */
export function topWords(e: TextExplanation, k: number, lowest = false): WordScore[] {
  const all = e.tokens.map((t, i) => ({ position: i, word: t.text, surface: t.surface, relevance: e.relevance[i]! }));
  all.sort((a, b) => (lowest ? a.relevance - b.relevance : b.relevance - a.relevance) || a.position - b.position);
  return all.slice(0, Math.max(0, k));
}

export function className(labels: string[] | undefined, k: number): string {
  return labels?.[k] !== undefined ? `${labels[k]} (${k})` : `class ${k}`;
}

export interface TextReportInfo {
  method: string;
  labels?: string[];
  model?: string;
  /** Warnings and notes shown on the page (truncation, unknown words, invalid UTF-8). */
  notes?: string[];
  top?: number;
  /** Whether the scores are signed (LRP) or not (sensitivity analysis). */
  signed?: boolean;
  /** The original text, shown below the highlighted tokens. */
  text?: string;
}

function table(rows: string[][], head: string[]): string {
  const th = head.map((h) => `<th style="text-align:left;padding:0.2em 0.8em">${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td style="padding:0.1em 0.8em">${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table style="border-collapse:collapse;font-size:0.9em"><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table>`;
}

/** A complete HTML page: prediction, the text with every token highlighted, top words, notes. */
export function textExplanationHtml(e: TextExplanation, info: TextReportInfo): string {
  const k = info.top ?? 10;
  const signed = info.signed ?? true;
  const parts: string[] = [];
  const probs = e.probabilities
    .map((p, c) => [c, p] as const)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5);
  parts.push(
    `<p><b>Predicted:</b> ${escapeHtml(className(info.labels, e.predicted))} · <b>explained:</b> ${escapeHtml(className(info.labels, e.target))} ` +
      `(score ${escapeHtml(formatNumber(e.logits[e.target]!))}) · <b>method:</b> ${escapeHtml(info.method)}` +
      (info.model ? ` · <b>model:</b> ${escapeHtml(info.model)}` : '') +
      '</p>',
  );
  parts.push(
    table(
      probs.map(([c, p]) => [className(info.labels, c), formatNumber(e.logits[c]!), p.toFixed(3)]),
      ['class', 'score', 'probability'],
    ),
  );
  parts.push('<h3>Words</h3>');
  parts.push(
    highlightTextHtml(
      e.tokens.map((t) => t.surface),
      e.relevance,
      { legend: true },
    ),
  );
  if (!signed)
    parts.push(
      '<p style="font-size:0.85em;color:#555">Sensitivity scores are never negative: they say how strongly a word moves the score, not in which direction.</p>',
    );
  const pos = topWords(e, k);
  parts.push(`<h3>Top ${pos.length} words</h3>`);
  parts.push(
    table(
      pos.map((w, i) => [String(i + 1), w.surface, w.word, formatNumber(w.relevance)]),
      ['rank', 'word', 'token', 'relevance'],
    ),
  );
  if (signed) {
    const neg = topWords(e, k, true).filter((w) => w.relevance < 0);
    if (neg.length) {
      parts.push(`<h3>Most negative ${neg.length} words (evidence against the explained class)</h3>`);
      parts.push(
        table(
          neg.map((w, i) => [String(i + 1), w.surface, w.word, formatNumber(w.relevance)]),
          ['rank', 'word', 'token', 'relevance'],
        ),
      );
    }
  }
  const notes = info.notes ?? [];
  if (notes.length) parts.push(`<h3>Notes</h3><ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  if (info.text !== undefined) {
    parts.push(`<details><summary>Original text</summary><pre style="white-space:pre-wrap">${escapeHtml(info.text)}</pre></details>`);
  }
  return htmlPage('relprop text explanation', `<h2>relprop text explanation</h2>\n${parts.join('\n')}`);
}
