/**
 * Fine-tuning an existing ONNX model: read a network (the layer kinds relprop can train, in a chain
 * or in ResNet-style residual blocks) back into a model spec plus its weights, so the trainer can
 * continue from it.
 */
import { canonicalize } from '../graph/canonize.js';
import { intValues } from '../onnx/values.js';
import { buildLayerView, type Layer } from '../layers/view.js';
import { probeShapes } from '../graph/shapes.js';
import type { Runtime } from '../runtime.js';
import { decodeModel } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import type { LayerSpec, ModelSpec } from './spec.js';

export interface ImportedSpec {
  spec: ModelSpec;
  params: Map<string, TensorData>;
}

const same = (a: number[]) => a.every((v) => v === a[0]);

export async function specFromOnnx(bytes: Uint8Array, source = 'model', runtime?: Runtime): Promise<ImportedSpec> {
  const graph = decodeModel(bytes, source);
  const info = canonicalize(graph);
  const inp = graph.inputs[0]!;
  const dims = inp.shape.slice(1);
  if (dims.some((d) => typeof d !== 'number') && inp.elemType !== 7)
    throw new Error(`${source}: fine-tuning needs a fixed input shape, the model declares ${JSON.stringify(inp.shape)}`);
  const ints = inp.elemType === 7;
  const probeShape = [1, ...dims.map((d) => (typeof d === 'number' ? d : 8))];
  const shapes = await probeShapes(graph, { [inp.name]: probeShape }, runtime);
  const view = buildLayerView(graph, shapes);
  const params = new Map<string, TensorData>();
  const counter = new Map<string, number>();
  const named = (type: string) => {
    const k = counter.get(type) ?? 0;
    counter.set(type, k + 1);
    return `${type}_${k}`;
  };
  const fail = (l: Layer, why: string) =>
    new Error(`${source}: cannot fine-tune node "${l.name}" (${l.op}): ${why}; relprop fine-tunes chains and residual blocks of the layers a model spec has`);
  const notBlocks = (l: Layer) => fail(l, 'the network is neither a chain of layers nor residual blocks (y = f(x) + x or f(x) + shortcut(x))');
  let normalize: ModelSpec['normalize'];
  let emitted = 0;
  const scalar = (name: string) => {
    const t = graph.initializers.get(name);
    return t && t.data.length === 1 ? Number((t.data as Float32Array)[0]) : undefined;
  };
  const layers: LayerSpec[] = [];
  if (view.embedding) {
    const table = view.embedding.table;
    const next = view.layers[0];
    if (next?.op !== 'Transpose' || (next.node.attrs.perm as number[]).join() !== '0,2,1')
      throw new Error(`${source}: an embedding must be followed by Transpose(perm 0,2,1) to channels-first, as relprop's text models are`);
    const name = named('embedding');
    layers.push({ type: 'embedding', vocab: table.dims[0]!, dim: table.dims[1]!, name });
    params.set(`${name}.weight`, table);
    emitted++;
  }

  // The layer graph, walked back from the output. A tensor's "spine" is the tensors it is computed
  // from, stepping over a whole residual block (from its Add to the tensor the block starts at).
  const producer = new Map<string, Layer>();
  for (const l of view.layers) for (const o of l.outputs) producer.set(o, l);
  const dynamic = (l: Layer) => l.inputs.filter((i): i is string => !!i);
  const starts = new Map<Layer, string>();
  const step = (t: string): string | undefined => {
    const p = producer.get(t);
    if (!p) return undefined;
    const ins = dynamic(p);
    if (ins.length === 1) return ins[0];
    if (p.kind === 'add' && ins.length === 2) return blockStart(p);
    throw notBlocks(p);
  };
  const spine = (t: string) => {
    const out = [t];
    for (let u = step(t); u !== undefined; u = step(u)) out.push(u);
    return out;
  };
  /** Where the branches of a residual Add split: the first tensor on one branch's spine that is on the other's. */
  function blockStart(add: Layer): string {
    let s = starts.get(add);
    if (s === undefined) {
      const [a, b] = dynamic(add) as [string, string];
      const onA = new Set(spine(a));
      s = spine(b).find((t) => onA.has(t));
      if (s === undefined) throw notBlocks(add);
      starts.set(add, s);
    }
    return s;
  }
  /** The layers (residual Adds standing for their whole block) from tensor `from` to tensor `to`, in forward order. */
  const chain = (from: string, to: string): Layer[] => {
    const out: Layer[] = [];
    for (let t = to; t !== from; t = step(t)!) {
      const p = producer.get(t);
      if (!p) throw new Error(`${source}: the layers do not lead from the input to the model's output`);
      out.push(p);
    }
    return out.reverse();
  };

  const seen = new Set<Layer>();
  const convertChain = (chainLayers: Layer[], top: boolean): LayerSpec[] => {
    const out: LayerSpec[] = [];
    for (const l of chainLayers) {
      // A layer reached twice would become two untied copies of its weights.
      if (seen.has(l)) throw fail(l, 'it lies on two branches at once (a branch reads a tensor inside another block)');
      seen.add(l);
      const converted = l.kind === 'add' ? residual(l) : convertLayer(l, top);
      if (converted) {
        out.push(converted);
        emitted++;
      }
    }
    return out;
  };
  /** A residual Add and its two branches: the shorter one is the shortcut (empty: the identity). */
  function residual(add: Layer): LayerSpec {
    const s = blockStart(add);
    const [a, b] = dynamic(add).map((t) => chain(s, t)) as [Layer[], Layer[]];
    // PyTorch exports Add(body, shortcut): on a tie the second operand is the shortcut.
    const [body, skip] = b.length <= a.length ? [a, b] : [b, a];
    const name = named('residual');
    const block: LayerSpec = { type: 'residual', layers: convertChain(body, false), name };
    const shortcut = convertChain(skip, false);
    if (shortcut.length) block.shortcut = shortcut;
    return block;
  }
  /** One layer as a spec layer (null: no spec layer, e.g. the input normalisation or a zero Pad). */
  function convertLayer(l: Layer, top: boolean): LayerSpec | null {
    const a = l.node.attrs;
    switch (l.kind) {
      case 'const-arith': {
        const v = scalar(l.constOperand!.name);
        if (!top || emitted || v === undefined || l.constOperand!.index !== 1)
          throw fail(l, 'only input normalisation (x − mean) / std by scalars at the start is supported');
        if (l.op === 'Sub' && !normalize) normalize = { mean: v, std: 1 };
        else if (l.op === 'Div' && normalize && normalize.std === 1) normalize.std = v;
        else throw fail(l, 'only (x − mean) / std');
        return null;
      }
      case 'transpose':
        if (!(view.embedding && top && emitted === 1)) throw fail(l, "transposes other than the embedding's");
        return null;
      case 'conv': {
        const W = l.W!;
        const r = W.dims.length - 2;
        const k = W.dims.slice(2);
        const strides = (a.strides as number[] | undefined) ?? k.map(() => 1);
        const dil = (a.dilations as number[] | undefined) ?? k.map(() => 1);
        const pads = (a.pads as number[] | undefined) ?? new Array(2 * r).fill(0);
        if (!same(k) || !same(strides) || !same(dil) || !same(pads) || (a.auto_pad && a.auto_pad !== 'NOTSET'))
          throw fail(l, 'kernels, strides, dilations and pads must be the same along every axis');
        const name = named(r === 1 ? 'conv1d' : 'conv2d');
        params.set(`${name}.weight`, W);
        params.set(`${name}.bias`, l.b!);
        return {
          type: r === 1 ? 'conv1d' : 'conv2d',
          filters: W.dims[0]!,
          kernel: k[0]!,
          stride: strides[0],
          dilation: dil[0],
          padding: pads[0],
          groups: (a.group as number | undefined) ?? 1,
          name,
        };
      }
      case 'dense': {
        const name = named('dense');
        params.set(`${name}.weight`, l.W!);
        params.set(`${name}.bias`, l.b!);
        return { type: 'dense', units: l.W!.dims[1]!, name };
      }
      case 'activation': {
        const t = ({ Relu: 'relu', Tanh: 'tanh', Sigmoid: 'sigmoid', LeakyRelu: 'leakyrelu' } as Record<string, 'relu' | 'tanh' | 'sigmoid' | 'leakyrelu'>)[
          l.op
        ];
        if (!t) throw fail(l, 'unsupported activation');
        return t === 'leakyrelu' ? { type: t, alpha: (a.alpha as number | undefined) ?? 0.01, name: named(t) } : { type: t, name: named(t) };
      }
      case 'maxpool':
      case 'avgpool': {
        if (l.op === 'GlobalMaxPool') return { type: 'globalmaxpool', name: named('globalmaxpool') };
        const k = a.kernel_shape as number[];
        const strides = (a.strides as number[] | undefined) ?? k.map(() => 1);
        const pads = (a.pads as number[] | undefined) ?? new Array(2 * k.length).fill(0);
        if (!same(k) || !same(strides) || !same(pads) || a.ceil_mode || (l.kind === 'avgpool' && pads[0] && a.count_include_pad))
          throw fail(l, 'pools need the same window, stride and padding on every axis, floor mode (and no counted padding)');
        const type = l.kind === 'maxpool' ? 'maxpool' : 'avgpool';
        return { type, size: k[0]!, stride: strides[0], padding: pads[0], name: named(type) };
      }
      case 'globalavgpool':
        if (l.op !== 'GlobalAveragePool') throw fail(l, 'only GlobalAveragePool');
        return { type: 'globalavgpool', name: named('globalavgpool') };
      case 'pad': {
        const p = graph.initializers.get(l.node.inputs[1]!);
        if (!p || intValues(p).some((v) => v !== 0)) throw fail(l, 'only padding by zero (a no-op exporters emit before pools)');
        return null;
      }
      case 'reshape': {
        const out = shapes.get(l.outputs[0]!)!.dims;
        if (out.length !== 2 || (l.op === 'Flatten' && ((a.axis as number | undefined) ?? 1) !== 1)) throw fail(l, 'only flattening to [batch, features]');
        return { type: 'flatten', name: named('flatten') };
      }
      case 'lrn':
        return {
          type: 'lrn',
          size: a.size as number,
          alpha: a.alpha as number | undefined,
          beta: a.beta as number | undefined,
          bias: a.bias as number | undefined,
          name: named('lrn'),
        };
      default:
        throw fail(l, `a ${l.kind} layer`);
    }
  }

  layers.push(...convertChain(chain(view.attribution, info.output), true));
  // Layers off that path (a second output, a branch that is never merged) would be silently dropped.
  const stray = view.layers.find((l) => !seen.has(l));
  if (stray) throw fail(stray, "its output does not reach the model's output through chains and residual blocks");
  const spec: ModelSpec = { input: { shape: dims.map((d) => (typeof d === 'number' ? d : null)), dtype: ints ? 'int64' : 'float32' }, layers };
  if (normalize) spec.normalize = normalize;
  return { spec, params };
}
