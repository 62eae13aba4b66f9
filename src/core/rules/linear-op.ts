/**
 * Dense and convolutional layers as linear operators F(x; W) + b with an adjoint Fᵀ(s; W):
 * every LRP rule on them is a handful of F / Fᵀ evaluations with modified weights.
 * Modified weights are initializers computed once at compile time.
 */
import type { GraphBuilder } from '../onnx/builder.js';
import { float32, type TensorData } from '../onnx/tensor.js';
import { convAdjoint, type ConvGeometry } from '../backward/conv.js';
import { denseAdjoint, transposedWeight } from '../backward/dense.js';

export type { ConvGeometry };

export interface LinearOp {
  readonly name: string;
  readonly W: TensorData;
  readonly b: Float32Array;
  /** F(x; W) (+ bias if given). W may be the original or a modified weight of the same shape. */
  forward(g: GraphBuilder, x: string, W: TensorData, bias?: Float32Array): string;
  /** Fᵀ(s; W): the transposed map, i.e. the gradient of ⟨s, F(x; W)⟩ with respect to x. */
  adjoint(g: GraphBuilder, s: string, W: TensorData): string;
  /** Fᵀ(s; all-ones W), cheaper than a full adjoint: sum over outputs first. Undefined where not cheaper. */
  adjointOnes?(g: GraphBuilder, s: string, xShape1: number[]): string;
}

/** Caches initializers per weight array so that F and Fᵀ with the same modified W share them. */
class WeightCache {
  private readonly names = new WeakMap<object, Map<string, string>>();
  get(g: GraphBuilder, key: object, variant: string, make: () => TensorData): string {
    let m = this.names.get(key);
    if (!m) this.names.set(key, (m = new Map()));
    let n = m.get(variant);
    if (!n) m.set(variant, (n = g.initializer(variant, make())));
    return n;
  }
}

export class DenseOp implements LinearOp {
  private readonly cache = new WeightCache();
  constructor(
    readonly name: string,
    readonly W: TensorData, // [in, out]
    readonly b: Float32Array,
    /**
     * The graph's own initializer holding the unmodified W as [out, in] (a Gemm layer's canonical
     * weight): F and Fᵀ with the unmodified W read it instead of new copies — for VGG-16's
     * classifier, 0.5 GB less in the explainer model and in ONNX Runtime.
     */
    readonly canonicalWT?: string,
  ) {}

  forward(g: GraphBuilder, x: string, W: TensorData, bias?: Float32Array): string {
    if (W === this.W && this.canonicalWT) {
      const inputs = [x, this.canonicalWT];
      if (bias) inputs.push(this.cache.get(g, bias, `${this.name}/b`, () => float32([bias.length], bias)));
      return g.op('Gemm', inputs, { transB: 1 });
    }
    const y = g.op('MatMul', [x, this.cache.get(g, W, `${this.name}/W`, () => W)]);
    return bias
      ? g.add(
          y,
          this.cache.get(g, bias, `${this.name}/b`, () => float32([bias.length], bias)),
        )
      : y;
  }

  adjoint(g: GraphBuilder, s: string, W: TensorData): string {
    if (W === this.W && this.canonicalWT) return denseAdjoint(g, s, { transposed: this.canonicalWT });
    return denseAdjoint(g, s, { transposed: this.cache.get(g, W, `${this.name}/WT`, () => transposedWeight(W)) });
  }

  adjointOnes(g: GraphBuilder, s: string, xShape1: number[]): string {
    const total = g.op('ReduceSum', [s, g.ints([-1])], { keepdims: 1 });
    return g.mul(total, g.initializer(`${this.name}/ones_in`, float32(xShape1, new Float32Array(xShape1.reduce((a, b) => a * b, 1)).fill(1))));
  }
}

export class ConvOp implements LinearOp {
  private readonly cache = new WeightCache();
  constructor(
    readonly name: string,
    readonly W: TensorData, // [O, C/group, k…]
    readonly b: Float32Array,
    readonly geo: ConvGeometry,
  ) {}

  private attrs() {
    const { kernel, strides, dilations, pads, group } = this.geo;
    return { kernel_shape: kernel, strides, dilations, pads, group };
  }

  forward(g: GraphBuilder, x: string, W: TensorData, bias?: Float32Array): string {
    const inputs = [x, this.cache.get(g, W, `${this.name}/W`, () => W)];
    if (bias) inputs.push(this.cache.get(g, bias, `${this.name}/b`, () => float32([bias.length], bias)));
    return g.op('Conv', inputs, this.attrs(), 'conv');
  }

  adjoint(g: GraphBuilder, s: string, W: TensorData): string {
    return convAdjoint(g, s, W, this.geo, (variant, make) => this.cache.get(g, W, `${this.name}/${variant}`, make));
  }

  get adjointOnes() {
    if (this.geo.group !== 1) return undefined;
    return (g: GraphBuilder, s: string, xShape1: number[]): string => {
      const total = g.op('ReduceSum', [s, g.ints([1])], { keepdims: 1 });
      const k = [1, 1, ...this.geo.kernel];
      const ones: TensorData = float32(k, new Float32Array(k.reduce((a, b) => a * b, 1)).fill(1));
      const onesName = g.initializer(`${this.name}/ones_kernel`, ones);
      const one = convAdjoint(g, total, ones, { ...this.geo, group: 1 }, () => onesName);
      const perChannel = [1, xShape1[1]!, ...xShape1.slice(2).map(() => 1)];
      return g.mul(one, g.initializer(`${this.name}/ones_channels`, float32(perChannel, new Float32Array(xShape1[1]!).fill(1))));
    };
  }
}

// Element-wise weight transforms (new arrays, so each is its own cache key).
export const mapW = (W: TensorData, f: (v: number) => number): TensorData => ({ dtype: 'float32', dims: W.dims, data: (W.data as Float32Array).map(f) });
export const mapB = (b: Float32Array, f: (v: number) => number): Float32Array => b.map(f);
