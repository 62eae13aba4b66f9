/**
 * A float64 forward pass of a model spec and its loss, written independently of the ONNX graphs
 * (plain loops, reusing the float64 layer references), for finite-difference checks of the
 * training-step gradients. Training-mode semantics: batch statistics in batch norm; dropout must
 * have rate 0.
 */
import type { LayerSpec, ModelSpec } from '../../src/core/train/spec.js';
import { avgpoolForward64, conv2dForward64, denseForward64, maxpoolForward64, type Tensor64 } from './lrp64.js';

type Params = Map<string, Float64Array>;

interface Ctx {
  params: Params;
  counter: Map<string, number>;
}

function nameOf(c: Ctx, l: LayerSpec): string {
  if (l.name) return l.name;
  const k = c.counter.get(l.type) ?? 0;
  c.counter.set(l.type, k + 1);
  return `${l.type}_${k}`;
}

const numel = (d: number[]) => d.reduce((a, b) => a * b, 1);

function layer64(c: Ctx, x: Tensor64, l: LayerSpec, ids?: number[]): Tensor64 {
  const name = nameOf(c, l);
  const p = (s: string) => c.params.get(`${name}.${s}`)!;
  const N = x.dims[0]!;
  switch (l.type) {
    case 'conv1d':
    case 'conv2d': {
      const r = l.type === 'conv1d' ? 1 : 2;
      const C = x.dims[1]!;
      const g = l.groups ?? 1;
      const pad = l.padding === 'same' ? Math.floor(((l.kernel - 1) * (l.dilation ?? 1)) / 2) : (l.padding ?? 0);
      return conv2dForward64({
        x,
        W: { dims: [l.filters, C / g, ...new Array(r).fill(l.kernel)], data: p('weight') },
        b: l.bias === false ? undefined : p('bias'),
        strides: new Array(r).fill(l.stride ?? 1),
        dilations: new Array(r).fill(l.dilation ?? 1),
        pads: new Array(2 * r).fill(pad),
        groups: g,
      });
    }
    case 'dense': {
      const y = denseForward64({ x: x.data, W: p('weight'), b: l.bias === false ? new Float64Array(l.units) : p('bias') });

      return { dims: [...x.dims.slice(0, -1), l.units], data: y };
    }
    case 'relu':
      return { dims: x.dims, data: x.data.map((v) => (v > 0 ? v : 0)) };
    case 'tanh': {
      const sc = l.scale ?? 1;
      return { dims: x.dims, data: x.data.map((v) => sc * Math.tanh(v / sc)) };
    }
    case 'sigmoid':
      return { dims: x.dims, data: x.data.map((v) => 1 / (1 + Math.exp(-v))) };
    case 'leakyrelu':
      return { dims: x.dims, data: x.data.map((v) => (v > 0 ? v : (l.alpha ?? 0.01) * v)) };
    case 'dropout':
      if (l.rate !== 0) throw new Error('train64: dropout must have rate 0');
      return x;
    case 'maxpool':
    case 'avgpool': {
      const r = x.dims.length - 2;
      const layer = { x, kernel: new Array(r).fill(l.size), strides: new Array(r).fill(l.stride ?? l.size), pads: new Array(2 * r).fill(l.padding ?? 0) };
      return l.type === 'maxpool' ? maxpoolForward64(layer) : avgpoolForward64({ ...layer, countIncludePad: false });
    }
    case 'sumpool': {
      // Plain window sums (flat inputs: consecutive groups of `size` features).
      const k = l.size;
      if (x.dims.length === 2) {
        const G = x.dims[1]! / k;
        const y = new Float64Array(N * G);
        for (let i = 0; i < N * G; i++) for (let j = 0; j < k; j++) y[i] = y[i]! + x.data[i * k + j]!;
        return { dims: [N, G], data: y };
      }
      const [C, H, W] = x.dims.slice(1) as [number, number, number];
      const s = l.stride ?? k;
      const [Ho, Wo] = [Math.floor((H - k) / s) + 1, Math.floor((W - k) / s) + 1];
      const y = new Float64Array(N * C * Ho * Wo);
      for (let nc = 0; nc < N * C; nc++)
        for (let i = 0; i < Ho; i++)
          for (let j = 0; j < Wo; j++)
            for (let a = 0; a < k; a++)
              for (let b = 0; b < k; b++) y[(nc * Ho + i) * Wo + j] = y[(nc * Ho + i) * Wo + j]! + x.data[(nc * H + i * s + a) * W + j * s + b]!;
      return { dims: [N, C, Ho, Wo], data: y };
    }
    case 'globalavgpool':
    case 'globalmaxpool': {
      const C = x.dims[1]!;
      const S = numel(x.dims.slice(2));
      const y = new Float64Array(N * C);
      for (let i = 0; i < N * C; i++) {
        const win = x.data.subarray(i * S, (i + 1) * S);
        y[i] = l.type === 'globalavgpool' ? win.reduce((a, b) => a + b, 0) / S : Math.max(...win);
      }
      return { dims: [N, C, ...x.dims.slice(2).map(() => 1)], data: y };
    }
    case 'flatten':
      return { dims: [N, numel(x.dims.slice(1))], data: x.data };
    case 'batchnorm': {
      const C = x.dims[1]!;
      const S = numel(x.dims.slice(2));
      const eps = l.epsilon ?? 1e-5;
      const y = new Float64Array(x.data.length);
      for (let ch = 0; ch < C; ch++) {
        let m = 0;
        for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) m += x.data[(n * C + ch) * S + s]!;
        m /= N * S;
        let v = 0;
        for (let n = 0; n < N; n++) for (let s = 0; s < S; s++) v += (x.data[(n * C + ch) * S + s]! - m) ** 2;
        v /= N * S;
        for (let n = 0; n < N; n++)
          for (let s = 0; s < S; s++) {
            const i = (n * C + ch) * S + s;
            y[i] = ((x.data[i]! - m) / Math.sqrt(v + eps)) * p('gamma')[ch]! + p('beta')[ch]!;
          }
      }
      return { dims: x.dims, data: y };
    }
    case 'lrn': {
      const C = x.dims[1]!;
      const S = numel(x.dims.slice(2));
      const [alpha, beta, bias] = [l.alpha ?? 1e-4, l.beta ?? 0.75, l.bias ?? 1];
      const lo = Math.floor((l.size - 1) / 2);
      const hi = Math.ceil((l.size - 1) / 2);
      const y = new Float64Array(x.data.length);
      for (let n = 0; n < N; n++)
        for (let ch = 0; ch < C; ch++)
          for (let s = 0; s < S; s++) {
            let sq = 0;
            for (let k = Math.max(0, ch - lo); k <= Math.min(C - 1, ch + hi); k++) sq += x.data[(n * C + k) * S + s]! ** 2;
            const i = (n * C + ch) * S + s;
            y[i] = x.data[i]! / (bias + (alpha / l.size) * sq) ** beta;
          }
      return { dims: x.dims, data: y };
    }
    case 'embedding': {
      const L = ids!.length / N;
      const table = p('weight');
      const y = new Float64Array(N * l.dim * L);
      for (let n = 0; n < N; n++) for (let t = 0; t < L; t++) for (let d = 0; d < l.dim; d++) y[(n * l.dim + d) * L + t] = table[ids![n * L + t]! * l.dim + d]!;
      return { dims: [N, l.dim, L], data: y };
    }
    case 'residual': {
      // Body first, then shortcut: the order the graph builder names unnamed layers in.
      const body = l.layers.reduce((h, inner) => layer64(c, h, inner), x);
      const skip = (l.shortcut ?? []).reduce((h, inner) => layer64(c, h, inner), x);
      if (body.dims.join() !== skip.dims.join()) throw new Error(`train64: residual branches give ${body.dims} and ${skip.dims}`);
      return { dims: body.dims, data: body.data.map((v, i) => v + skip.data[i]!) };
    }
    case 'concat': {
      const outs = l.branches.map((b) => b.reduce((h, inner) => layer64(c, h, inner), x));
      const S = numel(outs[0]!.dims.slice(2));
      const Ctot = outs.reduce((a, o) => a + o.dims[1]!, 0);
      const y = new Float64Array(N * Ctot * S);
      for (let n = 0; n < N; n++) {
        let off = 0;
        for (const o of outs) {
          const Co = o.dims[1]!;
          y.set(o.data.subarray(n * Co * S, (n + 1) * Co * S), (n * Ctot + off) * S);
          off += Co;
        }
      }
      return { dims: [N, Ctot, ...outs[0]!.dims.slice(2)], data: y };
    }
  }
}

/** Logits of the spec for a batch (float inputs, or token ids for an embedding first layer). */
export function forward64(spec: ModelSpec, params: Params, x: { dims: number[]; data: Float64Array } | { dims: number[]; ids: number[] }): Tensor64 {
  const c: Ctx = { params, counter: new Map() };
  let h: Tensor64 = 'ids' in x ? { dims: x.dims, data: new Float64Array(0) } : { dims: x.dims, data: x.data };
  if ('data' in x && spec.normalize) h = { dims: h.dims, data: h.data.map((v) => (v - spec.normalize!.mean) / spec.normalize!.std) };
  for (const l of spec.layers) h = layer64(c, h, l, 'ids' in x ? x.ids : undefined);
  return h;
}

/** Mean softmax cross-entropy, or mean squared error. */
export function loss64(
  logits: Tensor64,
  target: { labels: number[] } | { values: Float64Array } | { values: Float64Array; mask: Float64Array; weights?: number[] },
): number {
  const [N, K] = logits.dims as [number, number];
  if ('mask' in target) {
    // Multi-task MSE: per output, the weighted mean squared error over the rows where it is present.
    let total = 0;
    for (let k = 0; k < K; k++) {
      let se = 0;
      let count = 0;
      for (let n = 0; n < N; n++) {
        if (!target.mask[n * K + k]) continue;
        se += (logits.data[n * K + k]! - target.values[n * K + k]!) ** 2;
        count++;
      }
      total += ((target.weights?.[k] ?? 1) * se) / Math.max(count, 1);
    }
    return total;
  }
  let total = 0;
  for (let n = 0; n < N; n++) {
    const row = logits.data.subarray(n * K, (n + 1) * K);
    if ('labels' in target) {
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      total += lse - row[target.labels[n]!]!;
    } else for (let k = 0; k < K; k++) total += (row[k]! - target.values[n * K + k]!) ** 2 / K;
  }
  return total / N;
}
