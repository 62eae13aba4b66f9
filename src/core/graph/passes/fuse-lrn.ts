/**
 * LRN nodes: PyTorch's `nn.LocalResponseNorm` exports (torch 1.13, opsets 11–17) not an ONNX LRN
 * but its arithmetic, x / (k + α·AvgPool_channels(x²))^β, with the x² window built from
 * Unsqueeze/Reshape/Pad and an If around a Squeeze. That pattern becomes one LRN node here, so that
 * the LRN rules apply to it; the plumbing is left to pruning. Every LRN node is then checked
 * against what ONNX (and ONNX Runtime) define, so a bad one is refused by name at import.
 */
import type { Graph, GraphNode } from '../../onnx/model.js';

/** Ops the x² → window-average path of the export may use (including its shape arithmetic). */
const PLUMBING = new Set([
  'Unsqueeze',
  'Squeeze',
  'Reshape',
  'Pad',
  'If',
  'Identity',
  'Shape',
  'Gather',
  'Equal',
  'Concat',
  'ConstantOfShape',
  'Constant',
  'Cast',
  'Slice',
  'Transpose',
]);

export function fuseTorchLrn(g: Graph): void {
  const producer = new Map<string, GraphNode>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  for (const div of g.nodes) {
    if (div.op !== 'Div' || div.inputs.length !== 2) continue;
    const m = matchLrn(g, producer, div);
    if (!m) continue;
    if (m.size % 2 === 0)
      throw new Error(
        `node "${div.name}": a local response normalisation with an even size (${m.size}) has a channel window ONNX LRN does not define (PyTorch centres it differently); use an odd size`,
      );
    div.op = 'LRN';
    div.inputs = [div.inputs[0]!];
    div.attrs = { size: m.size, alpha: m.alpha, beta: m.beta, bias: m.bias };
  }
}

/** Div(x, Pow(Add(Mul(avg, α), k), β)) with avg the channel-window mean of x·x: PyTorch's LRN. */
function matchLrn(g: Graph, producer: Map<string, GraphNode>, div: GraphNode) {
  const x = div.inputs[0]!;
  const pow = producer.get(div.inputs[1]!);
  if (pow?.op !== 'Pow') return null;
  const beta = scalar(g, pow.inputs[1]!);
  const add = producer.get(pow.inputs[0]!);
  const [bias, scaled] = add?.op === 'Add' ? constAndOther(g, add) : [undefined, undefined];
  const mul = scaled !== undefined ? producer.get(scaled) : undefined;
  const [alpha, avg] = mul?.op === 'Mul' ? constAndOther(g, mul) : [undefined, undefined];
  if (beta === undefined || bias === undefined || alpha === undefined || avg === undefined) return null;
  // Every node between avg and x must be plumbing, one AveragePool and one Mul(x, x).
  let pool: GraphNode | undefined;
  let squares = 0;
  const seen = new Set<string>();
  const stack = [avg];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || t === x || g.initializers.has(t) || t === '') continue;
    seen.add(t);
    const n = producer.get(t);
    if (!n || seen.size > 200) return null;
    if (n.op === 'Mul') {
      if (n.inputs[0] !== x || n.inputs[1] !== x) return null;
      squares++;
      continue;
    }
    if (n.op === 'AveragePool') {
      if (pool && pool !== n) return null;
      pool = n;
    } else if (!PLUMBING.has(n.op)) return null;
    stack.push(...n.inputs);
  }
  if (!pool || squares !== 1) return null;
  const kernel = pool.attrs.kernel_shape as number[] | undefined;
  const strides = (pool.attrs.strides as number[] | undefined) ?? [];
  const pads = (pool.attrs.pads as number[] | undefined) ?? [];
  // The window runs over the channel axis only: kernel [size, 1, …], unit strides, padding done by Pad.
  if (!kernel || kernel.slice(1).some((k) => k !== 1) || strides.some((s) => s !== 1) || pads.some((p) => p !== 0)) return null;
  return { size: kernel[0]!, alpha, beta, bias };
}

/** A binary node with one scalar constant operand: [the constant, the other operand]. */
function constAndOther(g: Graph, n: GraphNode): [number | undefined, string | undefined] {
  const a = scalar(g, n.inputs[0]!);
  const b = scalar(g, n.inputs[1]!);
  if (b !== undefined && a === undefined) return [b, n.inputs[0]];
  if (a !== undefined && b === undefined) return [a, n.inputs[1]];
  return [undefined, undefined];
}

function scalar(g: Graph, name: string): number | undefined {
  const t = g.initializers.get(name);
  if (t?.data.length !== 1 || t.dtype !== 'float32') return undefined;
  return Number(t.data[0]);
}

/** An LRN outside what ONNX defines, or that ONNX Runtime refuses, is an error naming the node. */
export function checkLrnNodes(g: Graph): void {
  for (const n of g.nodes) {
    if (n.op !== 'LRN') continue;
    const bad = (why: string) => new Error(`LRN node "${n.name}": ${why}`);
    const { size, alpha = 1e-4, beta = 0.75, bias = 1 } = n.attrs as { size: number; alpha?: number; beta?: number; bias?: number };
    // ONNX Runtime (like Caffe) only centres odd windows.
    if (!Number.isInteger(size) || size < 1 || size % 2 === 0) throw bad(`size must be an odd positive integer, got ${JSON.stringify(size)}`);
    for (const [k, v] of Object.entries({ alpha, beta, bias })) if (!Number.isFinite(v)) throw bad(`${k} must be a finite number, got ${JSON.stringify(v)}`);
    if (!(bias > 0)) throw bad(`bias must be > 0 (else the layer divides by zero where its window is zero), got ${bias}`);
  }
}
