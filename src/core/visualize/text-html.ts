/**
 * Word-level relevance as highlighted HTML (as in the text-CNN explanation papers): each token's
 * background is red for positive and blue for negative relevance, stronger for larger |R|.
 * Inline styles only, so the fragment survives being pasted into any page, notebook or email.
 */
import { colorize } from './colormap.js';
import { escapeHtml, formatNumber, htmlPage } from './html.js';

export interface TextHighlightOptions {
  /** Heading above the text (escaped). */
  title?: string;
  /** true: a complete HTML document; false (default): a <div> fragment. */
  page?: boolean;
  /** Put between tokens; default ' ' (use '' for sub-word tokens that carry their own spaces). */
  separator?: string;
  /** Normalise by this instead of the text's own largest |relevance|, to compare several texts. */
  maxAbs?: number;
  /** Show the legend (colour bar with the scale); default true. */
  legend?: boolean;
}

function cssColor([r, g, b]: [number, number, number]): string {
  return `rgb(${r},${g},${b})`;
}

/** Dark text on light backgrounds, white text on the saturated ends, so every word stays readable. */
function textColor([r, g, b]: [number, number, number]): string {
  return 0.299 * r + 0.587 * g + 0.114 * b < 110 ? '#fff' : '#000';
}

/**
 * Tokens with their relevance as an HTML fragment (or page): one <span> per token, background by
 * the bwr colour map scaled by the largest |relevance|, the exact value in the tooltip, and a
 * legend. All text is escaped.
 */
export function highlightTextHtml(tokens: string[], relevance: ArrayLike<number>, opts: TextHighlightOptions = {}): string {
  if (tokens.length !== relevance.length) {
    throw new Error(`highlightTextHtml: ${tokens.length} tokens but ${relevance.length} relevance values`);
  }
  let own = 0;
  for (let i = 0; i < relevance.length; i++) {
    const r = relevance[i]!;
    if (!Number.isFinite(r)) throw new Error(`highlightTextHtml: relevance of token ${i} is ${r}`);
    own = Math.max(own, Math.abs(r));
  }
  const norm = opts.maxAbs ?? own;
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new Error(`highlightTextHtml: maxAbs must be a finite number ≥ 0, got ${norm}`);
  const sep = escapeHtml(opts.separator ?? ' ');

  const spans = tokens.map((tok, i) => {
    const r = relevance[i]!;
    const rgb = colorize(norm > 0 ? r / norm : 0, 'bwr');
    return (
      `<span class="relprop-token" style="background:${cssColor(rgb)};color:${textColor(rgb)};` +
      `padding:0.1em 0.15em;border-radius:0.2em" title="${escapeHtml(`relevance ${formatNumber(r)}`)}">${escapeHtml(tok)}</span>`
    );
  });

  const parts: string[] = ['<div class="relprop-text" style="font-family:sans-serif;max-width:60em">'];
  if (opts.title !== undefined) parts.push(`<h3 style="margin:0 0 0.5em 0">${escapeHtml(opts.title)}</h3>`);
  parts.push(`<p style="line-height:2;margin:0">${spans.join(sep)}</p>`);
  if (opts.legend ?? true) {
    const gradient = [-1, -0.5, 0, 0.5, 1].map((v) => cssColor(colorize(v, 'bwr'))).join(',');
    parts.push(
      '<div class="relprop-legend" style="display:flex;align-items:center;gap:0.5em;margin-top:0.75em;font-size:0.85em">' +
        `<span>${escapeHtml(formatNumber(-norm))}</span>` +
        `<span style="display:inline-block;width:12em;height:0.9em;border:1px solid #999;background:linear-gradient(to right,${gradient})"></span>` +
        `<span>${escapeHtml(formatNumber(norm))}</span>` +
        '<span style="color:#555">(blue: against the prediction, red: for it)</span>' +
        '</div>',
    );
  }
  parts.push('</div>');
  const fragment = parts.join('\n');
  return opts.page ? htmlPage(opts.title ?? 'relprop text explanation', fragment) : fragment;
}
