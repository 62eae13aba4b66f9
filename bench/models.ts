/**
 * Random-weight VGG-16 and ResNet-18 shaped ONNX models (torchvision layouts, 3×224×224 input,
 * 1000 classes, He-normal weights) built directly as graphs: benchmarks need the shapes, not
 * trained weights, and no Python.
 */
import '../src/node/register.js'; // onnxruntime-node as the default runtime, without the rest of the Node entry
import { encodeModel, ELEM, type Graph, type GraphNode } from '../src/core/onnx/model.js';
import { float32 } from '../src/core/onnx/tensor.js';
import { gaussian, rngFor } from '../src/core/math/rng.js';

class Net {
  readonly g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop-bench' };
  private k = 0;
  private readonly rng = rngFor('bench', 'weights');
  constructor(inputShape: (number | string)[]) {
    this.g.inputs.push({ name: 'input', elemType: ELEM.FLOAT, shape: inputShape });
  }
  private normal(): number {
    return gaussian(this.rng);
  }
  private node(op: string, inputs: string[], attrs: GraphNode['attrs'] = {}): string {
    const out = `t${this.k++}`;
    this.g.nodes.push({ op, name: `/${op}_${this.k}`, inputs, outputs: [out], attrs });
    return out;
  }
  param(dims: number[], std: number): string {
    const name = `p${this.k++}`;
    const n = dims.reduce((a, b) => a * b, 1);
    const t = float32(dims);
    for (let i = 0; i < n; i++) (t.data as Float32Array)[i] = std * this.normal();
    this.g.initializers.set(name, t);
    return name;
  }
  conv(x: string, cin: number, cout: number, k: number, stride = 1, pad = Math.floor(k / 2), bias = true): string {
    const w = this.param([cout, cin, k, k], Math.sqrt(2 / (cin * k * k)));
    const inputs = [x, w];
    if (bias) inputs.push(this.param([cout], 0.01));
    return this.node('Conv', inputs, { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] });
  }
  bn(x: string, c: number): string {
    const ones = float32([c], new Float32Array(c).fill(1));
    const zeros = float32([c], new Float32Array(c));
    const names = [ones, zeros, zeros, ones].map((t) => {
      const n = `p${this.k++}`;
      this.g.initializers.set(n, t);
      return n;
    });
    return this.node('BatchNormalization', [x, ...names], { epsilon: 1e-5 });
  }
  relu(x: string) {
    return this.node('Relu', [x]);
  }
  maxpool(x: string, k: number, s: number, p = 0) {
    return this.node('MaxPool', [x], { kernel_shape: [k, k], strides: [s, s], pads: [p, p, p, p] });
  }
  add(a: string, b: string) {
    return this.node('Add', [a, b]);
  }
  gap(x: string) {
    return this.node('GlobalAveragePool', [x]);
  }
  flatten(x: string) {
    return this.node('Flatten', [x], { axis: 1 });
  }
  dense(x: string, cin: number, cout: number) {
    return this.node('Gemm', [x, this.param([cout, cin], Math.sqrt(2 / cin)), this.param([cout], 0.01)], { transB: 1 });
  }
  avgpool(x: string, k: number) {
    return this.node('AveragePool', [x], { kernel_shape: [k, k], strides: [k, k] });
  }
  finish(out: string, classes: number): Uint8Array {
    this.g.outputs.push({ name: out, elemType: ELEM.FLOAT, shape: ['batch', classes] });
    this.g.inputs[0]!.shape[0] = 'batch';
    return encodeModel(this.g);
  }
}

export function vgg16(): Uint8Array {
  const n = new Net(['batch', 3, 224, 224]);
  let x = 'input';
  let c = 3;
  for (const block of [
    [64, 64],
    [128, 128],
    [256, 256, 256],
    [512, 512, 512],
    [512, 512, 512],
  ]) {
    for (const out of block) {
      x = n.relu(n.conv(x, c, out, 3));
      c = out;
    }
    x = n.maxpool(x, 2, 2);
  }
  x = n.flatten(x);
  x = n.relu(n.dense(x, 512 * 7 * 7, 4096));
  x = n.relu(n.dense(x, 4096, 4096));
  return n.finish(n.dense(x, 4096, 1000), 1000);
}

export function resnet18(): Uint8Array {
  const n = new Net(['batch', 3, 224, 224]);
  let x = n.maxpool(n.relu(n.bn(n.conv('input', 3, 64, 7, 2, 3, false), 64)), 3, 2, 1);
  let c = 64;
  for (const [out, stride] of [
    [64, 1],
    [128, 2],
    [256, 2],
    [512, 2],
  ] as const) {
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      let y = n.relu(n.bn(n.conv(x, c, out, 3, s, 1, false), out));
      y = n.bn(n.conv(y, out, out, 3, 1, 1, false), out);
      const skip = s !== 1 || c !== out ? n.bn(n.conv(x, c, out, 1, s, 0, false), out) : x;
      x = n.relu(n.add(y, skip));
      c = out;
    }
  }
  return n.finish(n.dense(n.flatten(n.gap(x)), 512, 1000), 1000);
}

/** The shape of a small Fashion-MNIST CNN (the bundled model's family), random weights. */
export function fmnistCnn(): Uint8Array {
  const n = new Net(['batch', 1, 28, 28]);
  let x = n.maxpool(n.relu(n.conv('input', 1, 16, 3)), 2, 2);
  x = n.maxpool(n.relu(n.conv(x, 16, 32, 3)), 2, 2);
  x = n.avgpool(n.relu(n.conv(x, 32, 64, 3)), 2);
  return n.finish(n.dense(n.flatten(x), 64 * 3 * 3, 10), 10);
}
