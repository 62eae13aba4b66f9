/**
 * Writing an evaluation: results.json (settings, per-method AOPC and curves), aopc.csv (one row per
 * method), curves.csv (one row per method, order and step), samples.csv (one row per sample and
 * method), table.md, curves.svg + curves.png (the plot), heatmaps.png (input row, then one row
 * of heatmaps per method) and the same grid with row and column labels (heatmaps-labelled.svg/png). Every file goes through writeFileAtomic.
 */
import { join } from 'node:path';
import { writeFilesAtomic, ensureDir } from '../io/atomic.js';
import { heatmapGrid, imageToRgba, relevanceToHeatmap, type RgbaImage } from '../../core/visualize/heatmap.js';
import { type ColourScale, colourScale, describeScale, displayPixels } from '../../core/visualize/figure.js';
import { encodePng } from '../visualize/png.js';
import { aopc } from '../../core/evaluate/aopc.js';
import { renderCurvesSvg, renderHeatmapGridSvg, svgToPng } from './plot.js';
import type { EvaluationResult, MethodResult } from '../../core/evaluate/region-perturbation.js';

function csvCell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return [header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n';
}

export function aopcCsv(result: EvaluationResult): string {
  return toCsv(
    [
      'method',
      'pooling',
      'n',
      'aopc_morf',
      'aopc_morf_se',
      'aopc_lerf',
      'aopc_lerf_se',
      'abpc',
      'abpc_se',
      'morf_minus_random',
      'morf_minus_random_se',
      'heatmap_png_bytes',
      'heatmap_png_bytes_se',
      'heatmap_entropy_bits',
      'heatmap_entropy_bits_se',
    ],
    result.methods.map((m) => [
      m.label,
      m.pooling,
      m.n,
      m.morf.aopc.mean,
      m.morf.aopc.se,
      m.lerf.aopc.mean,
      m.lerf.aopc.se,
      m.abpc.mean,
      m.abpc.se,
      m.morfVsRandom?.mean,
      m.morfVsRandom?.se,
      m.complexity?.png.mean,
      m.complexity?.png.se,
      m.complexity?.entropy.mean,
      m.complexity?.entropy.se,
    ]),
  );
}

export function curvesCsv(result: EvaluationResult): string {
  const rows: unknown[][] = [];
  const s = result.settings;
  const px = s.regionSize[0] * s.regionSize[1];
  for (const m of result.methods) {
    for (const [order, c] of [
      ['morf', m.morf],
      ['lerf', m.lerf],
    ] as const) {
      c.score.mean.forEach((v, k) =>
        rows.push([
          m.label,
          order,
          k,
          (k * px) / (s.geometry.H * s.geometry.W),
          v,
          c.score.se[k],
          c.drop.mean[k],
          c.drop.se[k],
          c.aopcCurve.mean[k],
          c.aopcCurve.se[k],
        ]),
      );
    }
  }
  return toCsv(
    ['method', 'order', 'step', 'fraction_perturbed', 'score_mean', 'score_se', 'drop_mean', 'drop_se', 'aopc_to_step_mean', 'aopc_to_step_se'],
    rows,
  );
}

/** With class names (from the model card), name columns follow the index columns' values at the end. */
export function samplesCsv(result: EvaluationResult, classNames?: string[]): string {
  const header = [
    'sample',
    'id',
    'label',
    'target',
    'predicted',
    'method',
    'score_clean',
    'aopc_morf',
    'aopc_lerf',
    'heatmap_png_bytes',
    'heatmap_entropy_bits',
  ];
  const name = (k: number | undefined) => (k === undefined ? undefined : classNames?.[k]);
  return toCsv(
    classNames ? [...header, 'label_name', 'target_name', 'predicted_name'] : header,
    result.records.map((r) => {
      const row: unknown[] = [r.i, r.id, r.label, r.target, r.predicted, r.method, r.morf[0], aopc(r.morf), aopc(r.lerf), r.png, r.entropy];
      return classNames ? [...row, name(r.label), name(r.target), name(r.predicted)] : row;
    }),
  );
}

const f3 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : x.toFixed(3));
const pm = (m: { mean: number; se: number } | undefined, d = 3) => (m ? `${m.mean.toFixed(d)} ± ${m.se.toFixed(d)}` : '—');

/** A Markdown table of the results, best MoRF AOPC first. */
export function aopcTableMarkdown(result: EvaluationResult): string {
  const rows = [...result.methods].sort((a, b) => b.morf.aopc.mean - a.morf.aopc.mean);
  const head = '| method | AOPC MoRF ↑ | AOPC LeRF ↓ | ABPC ↑ | MoRF − random | PNG bytes ↓ | entropy (bits) ↓ |\n|---|---|---|---|---|---|---|';
  const body = rows.map(
    (m: MethodResult) =>
      `| ${m.label} | ${pm(m.morf.aopc)} | ${pm(m.lerf.aopc)} | ${pm(m.abpc)} | ${pm(m.morfVsRandom)} | ${m.complexity ? pm(m.complexity.png, 0) : '—'} | ${m.complexity ? pm(m.complexity.entropy, 2) : '—'} |`,
  );
  return [head, ...body].join('\n') + '\n';
}

/** Plain-text table for the terminal. */
export function aopcTableText(result: EvaluationResult): string {
  const w = Math.max(6, ...result.methods.map((m) => m.label.length));
  const lines = [`${'method'.padEnd(w)}  AOPC MoRF (±se)    AOPC LeRF (±se)    MoRF−random`];
  for (const m of result.methods) {
    lines.push(
      `${m.label.padEnd(w)}  ${f3(m.morf.aopc.mean).padStart(7)} ± ${f3(m.morf.aopc.se).padEnd(7)}  ${f3(m.lerf.aopc.mean).padStart(7)} ± ${f3(m.lerf.aopc.se).padEnd(7)}  ${m.morfVsRandom ? f3(m.morfVsRandom.mean).padStart(7) : '      —'}`,
    );
  }
  return lines.join('\n') + '\n';
}

function upscale(img: RgbaImage, s: number): RgbaImage {
  if (s === 1) return img;
  const W = img.width * s;
  const H = img.height * s;
  const rgba = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      rgba.set(
        img.rgba.subarray(4 * (Math.floor(y / s) * img.width + Math.floor(x / s)), 4 * (Math.floor(y / s) * img.width + Math.floor(x / s)) + 4),
        4 * (y * W + x),
      );
  return { rgba, width: W, height: H };
}

export interface GridTiles {
  columns: string[];
  /** `caption` says what the row's colours mean (absent for the input row). */
  rows: { label: string; caption?: string; colormap?: ColourScale['colormap']; tiles: RgbaImage[] }[];
}

const MAGNITUDE_POOLINGS = ['abs', 'l2', 'max-abs'];

/**
 * The colour map of one grid row and what it means: viridis (0 … max) when no map of the row has a
 * negative value — always so for channel norms (`@pool=l2|abs|max-abs`, the default of gradient,
 * SmoothGrad, deconvnet and guided backprop), which are magnitudes — and bwr otherwise.
 */
export function gridRowScale(result: EvaluationResult, label: string, maps: Float64Array[]): { colormap: ColourScale['colormap']; caption: string } {
  let lo = 0;
  let hi = 0;
  for (const m of maps)
    for (const v of m) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  const scale = colourScale([lo, hi], 'auto');
  const pooling = result.methods.find((m) => m.label === label)?.pooling;
  const magnitude = pooling !== undefined && MAGNITUDE_POOLINGS.includes(pooling);
  const what = scale.kind === 'sequential' ? (magnitude ? `magnitude (${pooling} over channels)` : 'all values ≥ 0') : 'signed';
  return { colormap: scale.colormap, caption: describeScale(scale, what, false) };
}

/**
 * Tiles of the heatmap grid: row 0 the inputs (grey, or the channel mean, min–max scaled), then one
 * row per method (in result order, random excluded); columns are the first samples, labelled with
 * the explained class (and its name when `classNames` are given). Each heatmap is normalised by
 * its own largest |value|, coloured as {@link gridRowScale} decides for its row, and upscaled
 * (nearest neighbour) to about 112 px.
 */
export function gridTiles(result: EvaluationResult, classNames?: string[]): GridTiles | undefined {
  const hm = result.heatmaps;
  if (!hm || hm.inputs.length === 0) return undefined;
  const { C, H, W, layout } = hm.geometry;
  const scale = Math.max(1, Math.floor(112 / Math.max(H, W)));
  const inputs: RgbaImage[] = hm.inputs.map((x) => {
    const px = displayPixels(x, H, W, C, layout === 'nchw' ? 'chw' : 'hwc');
    return upscale({ rgba: imageToRgba(px, H, W), width: W, height: H }, scale);
  });
  const rows = [
    { label: 'input', tiles: inputs },
    ...hm.maps.map((m) => {
      const { colormap, caption } = gridRowScale(result, m.label, m.maps);
      return {
        label: m.label,
        caption,
        colormap,
        tiles: m.maps.map((map) => upscale({ rgba: relevanceToHeatmap(map, H, W, { channels: 1, colormap }), width: W, height: H }, scale)),
      };
    }),
  ];
  const first = result.records.filter((r) => r.method === result.methods[0]?.label && r.i < hm.inputs.length).sort((a, b) => a.i - b.i);
  const columns = hm.inputs.map((_, i) => {
    const r = first[i];
    const name = r ? classNames?.[r.target] : undefined;
    // The name on a line of its own: the labelled grid's columns are one tile wide.
    return r ? `#${r.id}: class ${r.target}${name !== undefined ? `\n${name}` : ''}` : `#${i}`;
  });
  return { columns, rows };
}

/** The grid as one PNG (no labels; rows as in results.json heatmapGrid.rows). */
export function heatmapGridPng(result: EvaluationResult): Uint8Array | undefined {
  const t = gridTiles(result);
  if (!t) return undefined;
  const grid = heatmapGrid(
    t.rows.flatMap((r) => r.tiles),
    { cols: t.columns.length, gap: 2 },
  );
  return encodePng(grid.rgba, grid.width, grid.height, 1);
}

/** JSON-ready summary (curves included; per-sample records go to samples.csv and the progress file). */
export function resultsJson(result: EvaluationResult, extra: Record<string, unknown> = {}): string {
  const { records: _records, heatmaps, ...rest } = result;
  const scales = heatmaps?.maps.map((m) => gridRowScale(result, m.label, m.maps));
  return (
    JSON.stringify(
      {
        ...extra,
        ...rest,
        heatmapGrid: heatmaps
          ? {
              rows: ['input', ...heatmaps.maps.map((m) => m.label)],
              colormaps: [null, ...scales!.map((s) => s.colormap)],
              captions: [null, ...scales!.map((s) => s.caption)],
              samples: heatmaps.inputs.length,
              targets: heatmaps.targets,
            }
          : undefined,
      },
      (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      1,
    ) + '\n'
  );
}

/** Write all outputs into `dir`; returns the paths written. */
export async function writeEvaluationOutputs(
  result: EvaluationResult,
  dir: string,
  extra: Record<string, unknown> = {},
  opts: { plot?: boolean; classNames?: string[] } = {},
): Promise<string[]> {
  ensureDir(dir);
  const files: [string, Uint8Array | string][] = [
    ['results.json', resultsJson(result, opts.classNames ? { ...extra, classes: opts.classNames } : extra)],
    ['aopc.csv', aopcCsv(result)],
    ['curves.csv', curvesCsv(result)],
    ['samples.csv', samplesCsv(result, opts.classNames)],
    ['table.md', aopcTableMarkdown(result)],
  ];
  if (opts.plot !== false) {
    const svg = await renderCurvesSvg(result);
    files.push(['curves.svg', svg], ['curves.png', svgToPng(svg)]);
  }
  const grid = heatmapGridPng(result);
  if (grid) files.push(['heatmaps.png', grid]);
  const tiles = opts.plot !== false ? gridTiles(result, opts.classNames) : undefined;
  if (tiles) {
    const svg = await renderHeatmapGridSvg(tiles, result);
    files.push(['heatmaps-labelled.svg', svg], ['heatmaps-labelled.png', svgToPng(svg, 1)]);
  }
  await writeFilesAtomic(files.map(([name, data]) => [join(dir, name), data]));
  return files.map(([n]) => join(dir, n));
}
