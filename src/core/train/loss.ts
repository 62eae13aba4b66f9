/** Training losses and their gradients at the model's outputs. */
import type { GraphBuilder } from '../onnx/builder.js';
import { ELEM } from '../onnx/model.js';
import { float32, int64 } from '../onnx/tensor.js';

export interface LossSpec {
  kind: 'cross-entropy' | 'mse' | 'multitask-mse' | 'multitask-mae';
  /** Multi-task: weight per output. */
  weights?: number[];
}

export function emitLoss(g: GraphBuilder, logits: string, K: number, loss: LossSpec): { lossValue: string; dLogits: string; labels: string; mask?: string } {
  const graph = g.graph;
  const labels = 'labels';
  if (loss.kind === 'cross-entropy') {
    graph.inputs.push({ name: labels, elemType: ELEM.INT64, shape: ['batch'] });
    const N = g.op('Cast', [g.op('Gather', [g.op('Shape', [logits]), g.ints([0])], { axis: 0 })], { to: ELEM.FLOAT });
    const logp = g.op('LogSoftmax', [logits], { axis: 1 });
    const classes = g.initializer(
      'classes',
      int64(
        [1, K],
        Array.from({ length: K }, (_, i) => i),
      ),
    );
    const onehot = g.op('Cast', [g.op('Equal', [g.op('Unsqueeze', [labels, g.ints([1])]), classes])], { to: ELEM.FLOAT });
    const lossValue = g.op('ReduceSum', [g.div(g.op('Neg', [g.mul(onehot, logp)]), N)], { keepdims: 0 }, 'loss');
    const dLogits = g.div(g.sub(g.op('Exp', [logp]), onehot), N);
    return { lossValue, dLogits, labels };
  }
  graph.inputs.push({ name: labels, elemType: ELEM.FLOAT, shape: ['batch', K] });
  const diff = g.sub(logits, labels);
  if (loss.kind === 'mse') {
    const count = g.op('Cast', [g.op('Size', [logits])], { to: ELEM.FLOAT });
    const lossValue = g.op('ReduceSum', [g.div(g.mul(diff, diff), count)], { keepdims: 0 }, 'loss');
    return { lossValue, dLogits: g.div(g.mul(diff, g.scalar(2)), count), labels };
  }
  // Multi-task: per output, the mean over samples where it is present (mask 1), weighted.
  const mask = 'mask';
  graph.inputs.push({ name: mask, elemType: ELEM.FLOAT, shape: ['batch', K] });
  const w = g.initializer('task_weights', float32([1, K], loss.weights ?? new Array(K).fill(1)));
  const count = g.op('Max', [g.op('ReduceSum', [mask, g.ints([0])], { keepdims: 1 }), g.scalar(1)]);
  const scale = g.div(g.mul(mask, w), count);
  const mdiff = g.op('Where', [g.op('Greater', [mask, g.scalar(0)]), diff, g.scalar(0)]);
  if (loss.kind === 'multitask-mse') {
    const lossValue = g.op('ReduceSum', [g.mul(g.mul(mdiff, mdiff), scale)], { keepdims: 0 }, 'loss');
    return { lossValue, dLogits: g.mul(g.mul(mdiff, g.scalar(2)), scale), labels, mask };
  }
  const lossValue = g.op('ReduceSum', [g.mul(g.op('Abs', [mdiff]), scale)], { keepdims: 0 }, 'loss');
  return { lossValue, dLogits: g.mul(g.op('Sign', [mdiff]), scale), labels, mask };
}
