/**
 * Dense (Gemm, MatMul with an optional bias Add) and convolution layers: the layers LRP's rules
 * are about. Their rule comes from the composite, `--rule` or a mapping (explain/resolve.ts); every
 * rule is a few forward/adjoint evaluations of the layer's linear map (rules/linear-rules.ts).
 */
import { convGeometryOf } from '../backward/conv.js';
import { toF32 } from '../onnx/values.js';
import type { TensorData } from '../onnx/tensor.js';
import { ConvOp, DenseOp, type LinearOp } from '../rules/linear-op.js';
import { linearRule } from '../rules/linear-rules.js';
import { LINEAR_RULES, type LinearRule } from '../rules/spec.js';
import { type BackwardContext, type Layer, type LayerKindDef, unsupported } from './types.js';

const rules = [...LINEAR_RULES];

/**
 * A Gemm's W [in, out] from its canonical [out, in] weight, transposed when first read: rules on
 * the unmodified weight use the graph's own initializer (DenseOp's canonicalWT) and never read it,
 * which spares a copy of the largest weights (VGG-16's classifier: 0.5 GB).
 */
function transposedOnRead(Wt: TensorData): TensorData {
  const [out, inp] = Wt.dims as [number, number];
  let W: Float32Array | undefined;
  return {
    dtype: 'float32',
    dims: [inp, out],
    get data() {
      if (!W) {
        const w = toF32(Wt, 'Gemm weight');
        W = new Float32Array(inp * out);
        for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) W[i * out + o] = w[o * inp + i]!;
      }
      return W;
    },
  };
}

function linearOpOf(c: BackwardContext, l: Layer): LinearOp {
  if (l.kind === 'dense') return new DenseOp(l.name, l.W!, l.b!.data as Float32Array, l.node.op === 'Gemm' ? l.node.inputs[1] : undefined);
  const geo = convGeometryOf(l.node, l.W!, c.dims1(l.inputs[0]!), c.dims1(l.outputs[0]!));
  return new ConvOp(l.name, l.W!, l.b!.data as Float32Array, geo);
}

function backward(c: BackwardContext, l: Layer, rule: LinearRule, R: string): (string | null)[] {
  const x = l.inputs.find((i) => i)!;
  const y = l.outputs[0]!;
  const op = linearOpOf(c, l);
  return [
    linearRule(
      { g: c.g, op, x, y, R, xNonNeg: c.nonNeg.has(x), xShape1: c.dims1(x), zeroAtNonPositive: c.zeroAtNonPos.has(y), unpooled: c.unpooled.get(R) },
      rule,
    ),
  ];
}

/** Every LRP rule on a linear layer multiplies by its input (gradients do not). */
const relevanceFollows = (r: { rule: string }) =>
  r.rule === 'gradient' || r.rule === 'flat' || r.rule === 'wsquare' || r.rule === 'zbox' ? null : 'multiplies';

export const dense: LayerKindDef = {
  kind: 'dense',
  ops: ['Gemm', 'MatMul'],
  linear: true,
  rules,
  defaultRule: () => ({ rule: 'gradient' }),
  recognise(n, c) {
    if (n.op === 'Gemm') {
      c.onlyFirst();
      const Wt = c.graph.initializers.get(n.inputs[1]!)!; // canonical [out, in]
      return {
        ...c.base,
        kind: 'dense',
        W: transposedOnRead(Wt),
        b: c.graph.initializers.get(n.inputs[2]!)!,
        linearIndex: c.nextLinearIndex(),
      };
    }
    const Wt = c.graph.initializers.get(n.inputs[1]!);
    if (!Wt || c.carried[1] || Wt.dims.length !== 2) throw unsupported(n, 'MatMul needs a constant 2-D weight as its second operand');
    const out = Wt.dims[1]!;
    let b: TensorData = { dtype: 'float32', dims: [out], data: new Float32Array(out) };
    let outputs = [...n.outputs];
    const aliases: string[] = [];
    // A bias Add right after the product joins the layer.
    const cons = c.consumers.get(n.outputs[0]!) ?? [];
    const add = cons.length === 1 && cons[0]!.op === 'Add' ? cons[0]! : undefined;
    const biasName = add?.inputs.find((i) => i !== n.outputs[0] && c.graph.initializers.has(i));
    if (add && biasName && !c.graph.outputs.some((o) => o.name === n.outputs[0])) {
      const bt = c.graph.initializers.get(biasName)!;
      const bd = toF32(bt, 'bias');
      if (bd.length === out && bt.dims[bt.dims.length - 1] === out) {
        b = { dtype: 'float32', dims: [out], data: Float32Array.from(bd) };
        outputs = [...add.outputs];
        aliases.push(add.name);
        c.absorb(add);
      }
    }
    return {
      ...c.base,
      aliases,
      outputs,
      kind: 'dense',
      W: { dtype: 'float32', dims: [...Wt.dims], data: toF32(Wt, 'MatMul weight') },
      b,
      linearIndex: c.nextLinearIndex(),
    };
  },
  backward: (c, l, rule, R) => backward(c, l, rule as LinearRule, R),
  relevanceFollows,
};

export const conv: LayerKindDef = {
  kind: 'conv',
  ops: ['Conv'],
  linear: true,
  rules,
  defaultRule: () => ({ rule: 'gradient' }),
  recognise(n, c) {
    c.onlyFirst();
    const W = c.graph.initializers.get(n.inputs[1]!);
    if (!W) throw unsupported(n, 'its weight is not a constant');
    const O = W.dims[0]!;
    const bt = n.inputs[2] ? c.graph.initializers.get(n.inputs[2]) : undefined;
    if (n.inputs[2] && !bt) throw unsupported(n, 'its bias is not a constant');
    const b: TensorData = bt ? { dtype: 'float32', dims: [O], data: toF32(bt, 'Conv bias') } : { dtype: 'float32', dims: [O], data: new Float32Array(O) };
    return { ...c.base, kind: 'conv', W: { ...W, data: toF32(W, 'Conv weight') }, b, linearIndex: c.nextLinearIndex() };
  },
  backward: (c, l, rule, R) => backward(c, l, rule as LinearRule, R),
  relevanceFollows,
};
