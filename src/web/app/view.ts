/** Drawing what an explanation found: the figure, the class scores, the audit, a layer's maps. */
import type { AuditRow } from '../../core/index.js';
import type { Explained } from './protocol.js';
import { colourScale, type ColormapChoice, displayPixels, type HeatmapStyle, heatmapFigure } from '../../core/visualize/figure.js';
import { relevanceToHeatmap } from '../../core/visualize/heatmap.js';
import type { TensorData } from '../../core/onnx/tensor.js';

export function putRgba(canvas: HTMLCanvasElement, rgba: Uint8Array, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  ctx.putImageData(new ImageData(Uint8ClampedArray.from(rgba), width, height), 0, 0);
}

export interface FigureSpec {
  relevance: Float32Array;
  input: Float32Array;
  chw: [number, number, number];
  style: HeatmapStyle;
  colormap: ColormapChoice;
  title: string;
}

/** The CLI's figure (`relprop explain --heatmap`), drawn on the canvas. */
export function drawFigure(canvas: HTMLCanvasElement, f: FigureSpec): void {
  const [c, h, w] = f.chw;
  const scale = Math.max(1, Math.floor(224 / Math.max(h, w)));
  const fig = heatmapFigure(f.relevance, h, w, {
    style: f.style,
    colormap: f.colormap,
    channels: c,
    image: displayPixels(f.input, h, w, c),
    scale,
    title: f.title,
  });
  putRgba(canvas, fig.rgba, fig.width, fig.height);
}

const text = (s: string | number) => document.createTextNode(String(s));

function row(cells: (string | number)[], cls?: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (cls) tr.className = cls;
  for (const c of cells) tr.appendChild(document.createElement('td')).appendChild(text(c));
  return tr;
}

/** Logits and softmax per class; the predicted class in bold, the explained one marked. */
export function fillScores(body: HTMLTableSectionElement, logits: ArrayLike<number>, classes: string[] | undefined, predicted: number, target: number): void {
  const m = Math.max(...Array.from(logits));
  const exps = Array.from(logits, (v) => Math.exp(v - m));
  const z = exps.reduce((a, b) => a + b, 0);
  body.replaceChildren(
    ...Array.from(logits, (v, k) =>
      row(
        [`${k} ${classes?.[k] ?? ''}`.trim(), v.toFixed(4), (exps[k]! / z).toFixed(4)],
        [k === predicted ? 'predicted' : '', k === target ? 'target' : ''].join(' ').trim(),
      ),
    ),
  );
}

export function fillAudit(body: HTMLTableSectionElement, audit: AuditRow[] | undefined): void {
  if (!audit) {
    body.replaceChildren(row(['(this method is not a layer-by-layer decomposition: no audit)']));
    return;
  }
  body.replaceChildren(...audit.map((a) => row([a.name, a.op, a.rule, a.relevanceOut[0]!.toPrecision(6), a.relevanceIn[0]!.toPrecision(6)])));
}

/** A small heatmap of one [h, w] map on its own colour scale. */
function mapCanvas(values: Float64Array | Float32Array, h: number, w: number, colormap: ColormapChoice): HTMLCanvasElement {
  const cs = colourScale(values, colormap);
  const canvas = document.createElement('canvas');
  putRgba(canvas, relevanceToHeatmap(values, h, w, { colormap: cs.colormap, maxAbs: Math.max(-cs.lo, cs.hi) }), w, h);
  return canvas;
}

/** A layer's relevance: the channel sum and the 11 channels with the most |relevance|, or the top units of a dense layer. */
export function fillLayerMaps(box: HTMLElement, t: TensorData | undefined, colormap: ColormapChoice): void {
  box.replaceChildren();
  if (!t) return;
  const d = t.data as Float32Array;
  const figure = (label: string, content: HTMLElement) => {
    const f = document.createElement('figure');
    f.append(content, document.createElement('figcaption'));
    f.lastChild!.appendChild(text(label));
    box.appendChild(f);
  };
  if (t.dims.length === 4) {
    const [, C, h, w] = t.dims as [number, number, number, number];
    const per = h * w;
    const sum = new Float64Array(per);
    const total: [number, number][] = [];
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let p = 0; p < per; p++) {
        sum[p]! += d[c * per + p]!;
        s += Math.abs(d[c * per + p]!);
      }
      total.push([c, s]);
    }
    figure(`all ${C} channels`, mapCanvas(sum, h, w, colormap));
    for (const [c] of total.sort((a, b) => b[1] - a[1]).slice(0, 11)) figure(`channel ${c}`, mapCanvas(d.subarray(c * per, (c + 1) * per), h, w, colormap));
    return;
  }
  const units = Array.from(d, (v, i) => [i, v] as const).sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  const list = document.createElement('table');
  list.append(...units.slice(0, 12).map(([i, v]) => row([`unit ${i}`, v.toPrecision(5)])));
  figure(`${d.length} units, the 12 with most |relevance|`, list);
}

/** ΣR against the explained logit, with what the ratio means for the method. */
export function summaryText(e: Explained, method: string, classes: string[] | undefined): string {
  const t = e.targets[0]!;
  const logit = (e.logits.data as Float32Array)[t]!;
  let sum = 0;
  for (const v of e.relevance.data as Float32Array) sum += v;
  const name = classes?.[t] ? ` (${classes[t]})` : '';
  const what =
    method === 'lrp'
      ? 'LRP distributes the logit: ΣR / logit is 1 where every layer conserves (what the biases and ε absorb is missing).'
      : method === 'integrated-gradients'
        ? 'Integrated gradients sum to logit − f(0) when the Riemann sum has enough steps.'
        : 'This method does not decompose the logit: ΣR is not meant to equal it.';
  return `Explained class ${t}${name}: logit ${logit.toFixed(4)}, ΣR ${sum.toFixed(4)}, ΣR / logit ${(sum / logit).toFixed(4)}. ${what}`;
}
