/**
 * Fine-tuning an existing ONNX model: read a sequential network (the layer kinds relprop can
 * train) back into a model spec plus its weights, so the trainer can continue from it.
 */
import { canonicalize, intValues } from '../graph/canonize.js';
import { buildLayerView, type Layer } from '../graph/layers.js';
import { probeShapes } from '../graph/shapes.js';
import { decodeModel } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import type { LayerSpec, ModelSpec } from './spec.js';

export interface ImportedSpec {
  spec: ModelSpec;
  params: Map<string, TensorData>;
}

const same = (a: number[]) => a.every((v) => v === a[0]);

export async function specFromOnnx(bytes: Uint8Array, source = 'model'): Promise<ImportedSpec> {
  const graph = decodeModel(bytes, source);
  const info = canonicalize(graph);
  const inp = graph.inputs[0]!;
  const dims = inp.shape.slice(1);
  if (dims.some((d) => typeof d !== 'number') && inp.elemType !== 7) throw new Error(`${source}: fine-tuning needs a fixed input shape, the model declares ${JSON.stringify(inp.shape)}`);
  const ints = inp.elemType === 7;
  const probeShape = [1, ...dims.map((d) => (typeof d === 'number' ? d : 8))];
  const shapes = await probeShapes(graph, { [inp.name]: probeShape });
  const view = buildLayerView(graph, shapes);
  const layers: LayerSpec[] = [];
  const params = new Map<string, TensorData>();
  const counter = new Map<string, number>();
  const named = (type: string) => {
    const k = counter.get(type) ?? 0;
    counter.set(type, k + 1);
    return `${type}_${k}`;
  };
  const fail = (l: Layer, why: string) => new Error(`${source}: cannot fine-tune node "${l.name}" (${l.op}): ${why}; relprop fine-tunes sequential networks of the layers a model spec has`);
  let normalize: ModelSpec['normalize'];
  let expected = view.attribution;
  const scalar = (name: string) => {
    const t = graph.initializers.get(name);
    return t && t.data.length === 1 ? Number((t.data as Float32Array)[0]) : undefined;
  };
  if (view.embedding) {
    const table = view.embedding.table;
    const next = view.layers[0];
    if (!next || next.op !== 'Transpose' || (next.node.attrs.perm as number[]).join() !== '0,2,1') throw new Error(`${source}: an embedding must be followed by Transpose(perm 0,2,1) to channels-first, as relprop's text models are`);
    const name = named('embedding');
    layers.push({ type: 'embedding', vocab: table.dims[0]!, dim: table.dims[1]!, name });
    params.set(`${name}.weight`, table);
  }
  for (const l of view.layers) {
    const x = l.inputs.find((i) => i);
    if (l.inputs.filter((i) => i).length !== 1 || x !== expected) throw fail(l, 'the network is not a single chain of layers');
    expected = l.outputs[0]!;
    const a = l.node.attrs;
    switch (l.kind) {
      case 'const-arith': {
        const v = scalar(l.constOperand!.name);
        if (layers.length || v === undefined || l.constOperand!.index !== 1) throw fail(l, 'only input normalisation (x − mean) / std by scalars at the start is supported');
        if (l.op === 'Sub' && !normalize) normalize = { mean: v, std: 1 };
        else if (l.op === 'Div' && normalize && normalize.std === 1) normalize.std = v;
        else throw fail(l, 'only (x − mean) / std');
        break;
      }
      case 'transpose':
        if (!(view.embedding && layers.length === 1)) throw fail(l, 'transposes other than the embedding\'s');
        break;
      case 'conv': {
        const W = l.W!;
        const r = W.dims.length - 2;
        const k = W.dims.slice(2);
        const strides = (a.strides as number[] | undefined) ?? k.map(() => 1);
        const dil = (a.dilations as number[] | undefined) ?? k.map(() => 1);
        const pads = (a.pads as number[] | undefined) ?? new Array(2 * r).fill(0);
        if (!same(k) || !same(strides) || !same(dil) || !same(pads) || (a.auto_pad && a.auto_pad !== 'NOTSET')) throw fail(l, 'kernels, strides, dilations and pads must be the same along every axis');
        const name = named(r === 1 ? 'conv1d' : 'conv2d');
        layers.push({ type: r === 1 ? 'conv1d' : 'conv2d', filters: W.dims[0]!, kernel: k[0]!, stride: strides[0], dilation: dil[0], padding: pads[0], groups: (a.group as number | undefined) ?? 1, name });
        params.set(`${name}.weight`, W);
        params.set(`${name}.bias`, l.b!);
        break;
      }
      case 'dense': {
        const name = named('dense');
        layers.push({ type: 'dense', units: l.W!.dims[1]!, name });
        params.set(`${name}.weight`, l.W!);
        params.set(`${name}.bias`, l.b!);
        break;
      }
      case 'activation': {
        const t = ({ Relu: 'relu', Tanh: 'tanh', Sigmoid: 'sigmoid', LeakyRelu: 'leakyrelu' } as Record<string, 'relu' | 'tanh' | 'sigmoid' | 'leakyrelu'>)[l.op];
        if (!t) throw fail(l, 'unsupported activation');
        layers.push(t === 'leakyrelu' ? { type: t, alpha: (a.alpha as number | undefined) ?? 0.01, name: named(t) } : { type: t, name: named(t) });
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        if (l.op === 'GlobalMaxPool') {
          layers.push({ type: 'globalmaxpool', name: named('globalmaxpool') });
          break;
        }
        const k = a.kernel_shape as number[];
        const strides = (a.strides as number[] | undefined) ?? k.map(() => 1);
        const pads = (a.pads as number[] | undefined) ?? new Array(2 * k.length).fill(0);
        if (!same(k) || !same(strides) || !same(pads) || a.ceil_mode || (l.kind === 'avgpool' && pads[0] && a.count_include_pad)) throw fail(l, 'pools need the same window, stride and padding on every axis, floor mode (and no counted padding)');
        const type = l.kind === 'maxpool' ? 'maxpool' : 'avgpool';
        layers.push({ type, size: k[0]!, stride: strides[0], padding: pads[0], name: named(type) });
        break;
      }
      case 'globalavgpool':
        if (l.op !== 'GlobalAveragePool') throw fail(l, 'only GlobalAveragePool');
        layers.push({ type: 'globalavgpool', name: named('globalavgpool') });
        break;
      case 'pad': {
        const p = graph.initializers.get(l.node.inputs[1]!);
        if (!p || intValues(p).some((v) => v !== 0)) throw fail(l, 'only padding by zero (a no-op exporters emit before pools)');
        break;
      }
      case 'reshape': {
        const out = shapes.get(l.outputs[0]!)!.dims;
        if (out.length !== 2 || (l.op === 'Flatten' && ((a.axis as number | undefined) ?? 1) !== 1)) throw fail(l, 'only flattening to [batch, features]');
        layers.push({ type: 'flatten', name: named('flatten') });
        break;
      }
      case 'lrn':
        layers.push({ type: 'lrn', size: a.size as number, alpha: a.alpha as number | undefined, beta: a.beta as number | undefined, bias: a.bias as number | undefined, name: named('lrn') });
        break;
      default:
        throw fail(l, `a ${l.kind} layer`);
    }
  }
  if (expected !== info.output) throw new Error(`${source}: the chain of layers does not end at the model's output`);
  const spec: ModelSpec = { input: { shape: dims.map((d) => (typeof d === 'number' ? d : null)), dtype: ints ? 'int64' : 'float32' }, layers };
  if (normalize) spec.normalize = normalize;
  return { spec, params };
}
