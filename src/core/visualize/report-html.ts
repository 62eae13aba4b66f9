/**
 * One self-contained HTML page for `relprop demo`: a table with a row per sample (input image,
 * prediction, target) and a column per attribution method (heatmap, ΣR, logit). Images are
 * embedded as data URIs so the page can be mailed or archived as a single file.
 */
import { escapeHtml, formatNumber, htmlPage, pngDataUri } from './html.js';

export interface ReportHeatmap {
  /** Column header, e.g. 'lrp_epsilon' or 'gradient'. */
  method: string;
  /** Encoded PNG (see encodePng). */
  png: Uint8Array;
  /** Sum of the input relevance; compared with the logit it shows how conservative the method was. */
  relevanceSum: number;
  /** The explained (target) logit. */
  logit: number;
  /**
   * The target logit at the method's baseline (integrated gradients: f(0)); the caption then
   * compares ΣR with logit − baseline, which is what such a method's relevance sums to.
   */
  baselineLogit?: number;
  /** What the colours mean for this map (e.g. describeScale's text); shown under the numbers. */
  scale?: string;
  /** Link target of the heatmap, e.g. the PNG file with its colour bar. */
  href?: string;
}

export interface ReportItem {
  title: string;
  /** The input as an encoded PNG, shown in the first column. */
  imagePng?: Uint8Array;
  heatmaps: ReportHeatmap[];
  /** Predicted class: index (named via meta.classNames) or name. */
  predicted: number | string;
  /** Explained class. */
  target: number | string;
  /** True class, when known. */
  label?: number | string;
}

export interface ReportMeta {
  /** Page title and heading. */
  title: string;
  /** Model file or name. */
  model?: string;
  /** A paragraph under the heading. */
  description?: string;
  /** Names of the class indices in predicted/target/label. */
  classNames?: string[];
  /** Extra key/value lines (composite, epsilon, runtime, date, ...). */
  details?: Record<string, string | number>;
  /** Per method, what its ΣR / logit means (a section under the table). */
  notes?: { method: string; text: string }[];
  /** Files written beside the page, linked in a list at the end. */
  files?: { href: string; label: string }[];
}

const CSS = `
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.4em; text-align: center; vertical-align: top; }
th { background: #f3f3f3; }
td.sample { text-align: left; white-space: nowrap; }
img { image-rendering: pixelated; width: 140px; height: auto; display: block; margin: 0 auto; }
figure { margin: 0; }
figcaption { font-size: 0.8em; color: #444; margin-top: 0.3em; }
.wrong { color: #b00; font-weight: bold; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; }
dt { font-weight: bold; }
dd { margin: 0 0 0.4em 0; }
`;

function className(v: number | string, names?: string[]): string {
  if (typeof v === 'number' && names && Number.isInteger(v) && v >= 0 && v < names.length) return `${v} (${names[v]})`;
  return String(v);
}

function heatmapCell(h: ReportHeatmap, itemTitle: string): string {
  const lines = [`ΣR = ${formatNumber(h.relevanceSum)}`, `logit = ${formatNumber(h.logit)}`];
  if (h.baselineLogit !== undefined) {
    const d = h.logit - h.baselineLogit;
    lines.push(`f(baseline) = ${formatNumber(h.baselineLogit)}`);
    if (d !== 0 && Number.isFinite(d)) lines.push(`ΣR / (logit − f(baseline)) = ${formatNumber(h.relevanceSum / d)}`);
  } else if (h.logit !== 0 && Number.isFinite(h.logit)) lines.push(`ΣR / logit = ${formatNumber(h.relevanceSum / h.logit)}`);
  if (h.scale !== undefined) lines.push(h.scale);
  const img = `<img src="${pngDataUri(h.png)}" alt="${escapeHtml(`${h.method} heatmap of ${itemTitle}`)}">`;
  const caption = lines.map(escapeHtml).join('<br>') + (h.href !== undefined ? `<br><a href="${escapeHtml(h.href)}">${escapeHtml(h.href)}</a>` : '');
  return `<td><figure>${h.href !== undefined ? `<a href="${escapeHtml(h.href)}">${img}</a>` : img}<figcaption>${caption}</figcaption></figure></td>`;
}

/** The report page. All text (titles, methods, class names, meta) is escaped. */
export function explanationReportHtml(items: ReportItem[], meta: ReportMeta): string {
  // columns: every method in order of first appearance, so items may differ in their method sets
  const methods: string[] = [];
  for (const item of items) for (const h of item.heatmaps) if (!methods.includes(h.method)) methods.push(h.method);
  const hasImages = items.some((it) => it.imagePng !== undefined);
  const names = meta.classNames;

  const head: string[] = [`<h1>${escapeHtml(meta.title)}</h1>`];
  if (meta.description !== undefined) head.push(`<p>${escapeHtml(meta.description)}</p>`);
  const details: [string, string][] = [];
  if (meta.model !== undefined) details.push(['model', meta.model]);
  for (const [k, v] of Object.entries(meta.details ?? {})) details.push([k, String(v)]);
  if (details.length > 0) head.push(`<dl>${details.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`);
  // Without per-map captions the page states the one convention all its maps share.
  if (!items.some((it) => it.heatmaps.some((h) => h.scale !== undefined)))
    head.push('<p>Heatmaps: red = positive relevance (for the target), blue = negative, each normalised by its largest absolute value.</p>');

  const headerCells = ['<th>sample</th>', hasImages ? '<th>input</th>' : '', ...methods.map((m) => `<th>${escapeHtml(m)}</th>`)];
  const rows = items.map((item) => {
    const wrong = item.label !== undefined && String(item.predicted) !== String(item.label);
    const info = [
      `<strong>${escapeHtml(item.title)}</strong>`,
      `predicted: <span${wrong ? ' class="wrong"' : ''}>${escapeHtml(className(item.predicted, names))}</span>`,
      `target: ${escapeHtml(className(item.target, names))}`,
    ];
    if (item.label !== undefined) info.push(`label: ${escapeHtml(className(item.label, names))}`);
    const cells = [`<td class="sample">${info.join('<br>')}</td>`];
    if (hasImages) {
      cells.push(item.imagePng ? `<td><img src="${pngDataUri(item.imagePng)}" alt="${escapeHtml(`input ${item.title}`)}"></td>` : '<td>—</td>');
    }
    for (const m of methods) {
      const h = item.heatmaps.find((x) => x.method === m);
      cells.push(h ? heatmapCell(h, item.title) : '<td>—</td>');
    }
    return `<tr>${cells.join('')}</tr>`;
  });

  const tail: string[] = [];
  if (meta.notes && meta.notes.length > 0) {
    tail.push('<h2>What ΣR / logit means</h2>');
    tail.push(`<dl>${meta.notes.map((n) => `<dt>${escapeHtml(n.method)}</dt><dd>${escapeHtml(n.text)}</dd>`).join('')}</dl>`);
  }
  if (meta.files && meta.files.length > 0) {
    tail.push('<h2>Files</h2>');
    tail.push(`<ul>${meta.files.map((f) => `<li><a href="${escapeHtml(f.href)}">${escapeHtml(f.label)}</a></li>`).join('')}</ul>`);
  }
  const body = [...head, '<table>', `<thead><tr>${headerCells.join('')}</tr></thead>`, '<tbody>', ...rows, '</tbody>', '</table>', ...tail].join('\n');
  return htmlPage(meta.title, body, CSS);
}
