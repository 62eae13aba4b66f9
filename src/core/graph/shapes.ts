/**
 * Static shapes of every tensor, read off one ONNX Runtime run of the model on a zero input of the
 * given shape (batch 1). Shape inference for every operator by hand would be a second, weaker
 * implementation of what the runtime already knows.
 */
import { cloneGraph, encodeModel, type Graph } from '../onnx/model.js';
import { numel, type DType, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime } from '../runtime.js';

export interface TensorInfo {
  dims: number[];
  dtype: string;
  /** Values of small integer tensors (shape arithmetic), valid for every batch size on non-batch axes. */
  value?: number[];
}

export async function probeShapes(g: Graph, inputShapes: Record<string, number[]>, runtime?: Runtime): Promise<Map<string, TensorInfo>> {
  const probe = cloneGraph(g);
  const declared = new Set(probe.outputs.map((o) => o.name));
  for (const n of probe.nodes)
    for (const o of n.outputs)
      if (o && !declared.has(o)) {
        probe.outputs.push({ name: o, elemType: 0, shape: [] });
        declared.add(o);
      }
  const feeds: Record<string, TensorData> = {};
  for (const inp of g.inputs) {
    const dims = inputShapes[inp.name];
    if (!dims) throw new Error(`no shape given for model input "${inp.name}"`);
    const probeDims = [1, ...dims.slice(1)];
    const n = numel(probeDims);
    feeds[inp.name] =
      inp.elemType === 7 ? { dtype: 'int64', dims: probeDims, data: new BigInt64Array(n) } : { dtype: 'float32', dims: probeDims, data: new Float32Array(n) };
  }
  const session = await openSession(runtime, encodeModel(probe), { optimization: 'disabled' }, 'the model');
  let res: Record<string, TensorData>;
  try {
    res = await session.run(feeds);
  } catch (e) {
    throw new Error(`ONNX Runtime cannot run the model on an input of shape ${JSON.stringify(Object.values(inputShapes))}: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
  const out = new Map<string, TensorInfo>();
  for (const [k, v] of Object.entries(res)) {
    const info: TensorInfo = { dims: [...v.dims], dtype: v.dtype as DType };
    if ((v.dtype === 'int64' || v.dtype === 'int32') && v.data.length <= 64) info.value = Array.from(v.data as ArrayLike<number | bigint>, Number);
    out.set(k, info);
  }
  for (const inp of g.inputs) out.set(inp.name, { dims: [1, ...inputShapes[inp.name]!.slice(1)], dtype: inp.elemType === 7 ? 'int64' : 'float32' });
  for (const [k, t] of g.initializers) out.set(k, { dims: t.dims, dtype: t.dtype });
  return out;
}
