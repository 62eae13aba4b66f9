/**
 * Plots of the text experiments, as Vega-Lite specs rendered headlessly to SVG (vega) and PNG
 * (resvg, through the evaluate module's svgToPng): accuracy vs number of deleted words, and the
 * PCA projections of document vectors coloured by class.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { svgToPng } from '../evaluate/plot.js';
import type { DeletionCurve } from '../../core/text/deletion.js';

const FONT = 'DejaVu Sans';
const PALETTE = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
/** 12+ distinguishable class colours (Tableau 20, dark tones first). */
const CLASS_COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#c7c7c7',
  '#dbdb8d',
  '#9edae5',
];

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderPlot(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const svg = await renderSvg(spec);
  return { svg, png: svgToPng(svg) };
}

export function deletionSpec(curves: DeletionCurve[], subtitle: string): TopLevelSpec {
  const rows = curves.flatMap((c) =>
    c.accuracy.map((a, k) => ({ method: c.method, set: c.set, k, accuracy: a, lo: a - (c.std?.[k] ?? 0), hi: a + (c.std?.[k] ?? 0) })),
  );
  const methods = [...new Set(curves.map((c) => c.method))];
  let next = 0;
  const range = methods.map((m) => (m === 'random' ? '#000000' : PALETTE[next++ % PALETTE.length]!));
  const color = { field: 'method', type: 'nominal', title: 'method', scale: { domain: methods, range }, sort: methods } as const;
  const yEnc = { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } } as const;
  const xEnc = { field: 'k', type: 'quantitative', title: 'words deleted' } as const;
  const panel = (set: 'correct' | 'misclassified') => {
    const n = curves.find((c) => c.set === set)?.documents ?? 0;
    const title = set === 'correct' ? `correctly classified (${n}): most relevant first` : `misclassified (${n}): least relevant first`;
    return {
      title,
      width: 380,
      height: 280,
      transform: [{ filter: { field: 'set', equal: set } }],
      layer: [
        {
          // ± 1 s.d. over the random orders (the other methods are deterministic).
          transform: [{ filter: { field: 'method', equal: 'random' } }],
          mark: { type: 'area', opacity: 0.15, color: '#000000' },
          encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative', title: 'accuracy' }, y2: { field: 'hi' } },
        },
        // Dashes too, so that methods with identical curves (LRP-ε and gradient × input on ReLU nets) stay visible.
        {
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: xEnc,
            y: yEnc,
            color,
            strokeDash: {
              field: 'method',
              type: 'nominal',
              title: 'method',
              sort: methods,
              scale: {
                domain: methods,
                range: methods.map(
                  (_, i) =>
                    [
                      [1, 0],
                      [6, 3],
                      [2, 2],
                      [8, 2, 2, 2],
                      [4, 4],
                      [1, 3],
                    ][i % 6]!,
                ),
              },
            },
          },
        },
      ],
    };
  };
  const sets = (['correct', 'misclassified'] as const).filter((s) => curves.some((c) => c.set === s));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Word deletion (Arras et al. 2016)', subtitle },
    background: 'white',
    config: { font: FONT, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 300 } },
    data: { values: rows },
    hconcat: sets.map(panel),
  } as unknown as TopLevelSpec;
}

export interface ScatterPanel {
  title: string;
  points: { x: number; y: number; label: string }[];
}

/** Scatter panels, `perRow` to a row. */
export function pcaSpec(panels: ScatterPanel[], labels: string[], subtitle: string, perRow = 3): TopLevelSpec {
  const rows = panels.flatMap((p) => p.points.map((q) => ({ panel: p.title, x: q.x, y: q.y, class: q.label })));
  const color = {
    field: 'class',
    type: 'nominal',
    title: 'class',
    scale: { domain: labels, range: CLASS_COLORS.slice(0, Math.max(1, labels.length)) },
    sort: labels,
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'PCA of document summary vectors', subtitle },
    background: 'white',
    config: { font: FONT },
    data: { values: rows },
    vconcat: Array.from({ length: Math.ceil(panels.length / perRow) }, (_, r) => ({
      hconcat: panels.slice(r * perRow, (r + 1) * perRow).map((p) => ({
        title: p.title,
        width: 280,
        height: 280,
        transform: [{ filter: { field: 'panel', equal: p.title } }],
        mark: { type: 'circle', size: 16, opacity: 0.75 },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'PC 1', scale: { zero: false } },
          y: { field: 'y', type: 'quantitative', title: 'PC 2', scale: { zero: false } },
          color,
        },
      })),
    })),
  } as unknown as TopLevelSpec;
}
