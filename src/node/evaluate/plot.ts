/**
 * Perturbation-curve plots like the paper's figures, drawn by Vega-Lite (compiled to Vega, rendered
 * to SVG headlessly) and rasterised to PNG by resvg. Three panels: the mean drop of the explained
 * score f(x⁰) − f(xᵏ) under MoRF and under LeRF (± one standard error), and the MoRF AOPC up to
 * step k minus the random baseline's, as the paper shows it.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { encodePng } from '../visualize/png.js';
import type { EvaluationResult } from '../../core/evaluate/region-perturbation.js';
import type { GridTiles } from './report.js';

const FONT = 'DejaVu Sans';

export interface CurveRow {
  method: string;
  panel: string;
  step: number;
  value: number;
  lo: number;
  hi: number;
}

/** The plotted values as flat rows (also what the spec embeds). */
export function curveRows(result: EvaluationResult): CurveRow[] {
  const rows: CurveRow[] = [];
  const random = result.methods.find((m) => m.method === 'random');
  for (const m of result.methods) {
    for (const [panel, c] of [
      ['MoRF: score drop f(x⁰) − f(xᵏ)', m.morf.drop],
      ['LeRF: score drop f(x⁰) − f(xᵏ)', m.lerf.drop],
    ] as const) {
      c.mean.forEach((v, k) => rows.push({ method: m.label, panel, step: k, value: v, lo: v - c.se[k]!, hi: v + c.se[k]! }));
    }
    if (random && m !== random) {
      const a = m.morf.aopcCurve;
      const r = random.morf.aopcCurve;
      // Standard error of the difference of two (per-sample paired) means is not kept per step;
      // the band shows the method's own s.e.
      a.mean.forEach((v, k) =>
        rows.push({
          method: m.label,
          panel: 'MoRF: AOPC up to step k − random',
          step: k,
          value: v - r.mean[k]!,
          lo: v - r.mean[k]! - a.se[k]!,
          hi: v - r.mean[k]! + a.se[k]!,
        }),
      );
    }
  }
  return rows;
}

export function curvesSpec(result: EvaluationResult): TopLevelSpec {
  const s = result.settings;
  const rows = curveRows(result);
  const panels = [...new Set(rows.map((r) => r.panel))];
  const order = result.methods.map((m) => m.label);
  // Tableau 10 for the methods, black for the random baseline.
  const palette = ['#4c78a8', '#f58518', '#e45756', '#72b7b2', '#54a24b', '#eeca3b', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac'];
  let next = 0;
  const range = result.methods.map((m) => (m.method === 'random' ? '#000000' : palette[next++ % palette.length]!));
  const scale = { domain: order, range };
  const color = { field: 'method', type: 'nominal', title: 'method', scale, sort: order } as const;
  // The bands use `fill` with the same colours and no legend of their own.
  const fill = { field: 'method', type: 'nominal', scale, title: 'method', sort: order } as const;
  const panel = (title: string) => {
    const yTitle = title.includes('AOPC') ? 'AOPC − AOPC(random)' : `mean drop of the ${s.score}`;
    const xTitle = `regions perturbed (${s.regionSize.join('×')} px each)`;
    return {
      title,
      width: 300,
      height: 240,
      transform: [{ filter: { field: 'panel', equal: title } }],
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: xTitle },
            y: { field: 'value', type: 'quantitative', title: yTitle },
            color,
          },
        },
        {
          mark: { type: 'errorband', opacity: 0.18 },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: xTitle },
            y: { field: 'lo', type: 'quantitative', title: yTitle },
            y2: { field: 'hi' },
            fill,
          },
        },
      ],
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Region perturbation (${s.replacement} replacement, ${s.steps} steps, ${result.samples} samples)`,
      subtitle: `${s.model} on ${s.data}; bands: ± 1 standard error`,
    },
    background: 'white',
    config: { font: FONT, legend: { labelLimit: 260, symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3 } },
    data: { values: rows },
    hconcat: panels.map(panel),
  } as unknown as TopLevelSpec;
}

/** SVG text of the curves plot. */
export async function renderCurvesSvg(result: EvaluationResult): Promise<string> {
  const vg = compile(curvesSpec(result)).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterise SVG text to PNG (system fonts; DejaVu Sans preferred). */
export function svgToPng(svg: string, zoom = 2): Uint8Array {
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: zoom }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: FONT } })
    .render()
    .asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** The heatmap grid with labels: rows = input and methods, columns = samples (Vega image marks). */
export async function renderHeatmapGridSvg(t: GridTiles, result: EvaluationResult): Promise<string> {
  const size = t.rows[0]!.tiles[0]!.width;
  const gap = 3;
  const values = t.rows.flatMap((r, ri) =>
    r.tiles.map((tile, ci) => ({
      // The row's name, and under it what its colours mean (rows differ: signed maps and magnitudes).
      row: r.caption !== undefined ? [r.label, r.caption] : r.label,
      column: t.columns[ci]!.split('\n'),
      first: ci === 0,
      top: ri === 0,
      px: ci * (size + gap) + size / 2,
      py: ri * (size + gap) + size / 2,
      url: `data:image/png;base64,${Buffer.from(encodePng(tile.rgba, tile.width, tile.height, 1)).toString('base64')}`,
    })),
  );
  const columnLines = Math.max(...t.columns.map((c) => c.split('\n').length));
  const pos = { x: { field: 'px', type: 'quantitative', scale: null }, y: { field: 'py', type: 'quantitative', scale: null } };
  // One view with pixel positions (no facets): labels are placed exactly, whatever text widths Vega estimates.
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Heatmaps (each normalised by its largest |value|; colours per row, as its label says)',
      subtitle: `${result.settings.model}; columns: sample index and explained class`,
      anchor: 'start',
      offset: 16,
    },
    background: 'white',
    autosize: { type: 'pad' },
    padding: 8,
    width: t.columns.length * (size + gap) - gap,
    height: t.rows.length * (size + gap) - gap,
    config: { font: FONT, view: { stroke: null }, axis: { disable: true } },
    data: { values },
    layer: [
      { mark: { type: 'image', width: size, height: size, aspect: false }, encoding: { ...pos, url: { field: 'url', type: 'nominal' } } },
      {
        transform: [{ filter: 'datum.first' }],
        mark: { type: 'text', align: 'right', baseline: 'middle', fontSize: 12, dx: -(size / 2 + 8) },
        encoding: { ...pos, text: { field: 'row' } },
      },
      {
        transform: [{ filter: 'datum.top' }],
        // Vega anchors a multi-line label by its first line: lift it by the extra lines.
        mark: { type: 'text', align: 'center', baseline: 'bottom', fontSize: 11, lineHeight: 13, dy: -(size / 2 + 4 + 13 * (columnLines - 1)) },
        encoding: { ...pos, text: { field: 'column' } },
      },
    ],
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
