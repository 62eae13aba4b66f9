/**
 * Static shapes of every tensor, read off one ONNX Runtime run of the model on a zero input of the
 * given shape (batch 1). Shape inference for every operator by hand would be a second, weaker
 * implementation of what the runtime already knows.
 */
import ort from 'onnxruntime-node';
import { cloneGraph, encodeModel, type Graph } from '../onnx/model.js';
import { numel, type DType } from '../onnx/tensor.js';

export interface TensorInfo {
  dims: number[];
  dtype: string;
  /** Values of small integer tensors (shape arithmetic), valid for every batch size on non-batch axes. */
  value?: number[];
}

export async function probeShapes(g: Graph, inputShapes: Record<string, number[]>): Promise<Map<string, TensorInfo>> {
  const probe = cloneGraph(g);
  const declared = new Set(probe.outputs.map((o) => o.name));
  for (const n of probe.nodes) for (const o of n.outputs) if (o && !declared.has(o)) {
    probe.outputs.push({ name: o, elemType: 0, shape: [] });
    declared.add(o);
  }
  const feeds: Record<string, ort.Tensor> = {};
  for (const inp of g.inputs) {
    const dims = inputShapes[inp.name];
    if (!dims) throw new Error(`no shape given for model input "${inp.name}"`);
    const probeDims = [1, ...dims.slice(1)];
    const n = numel(probeDims);
    feeds[inp.name] = inp.elemType === 7
      ? new ort.Tensor('int64', new BigInt64Array(n), probeDims)
      : new ort.Tensor('float32', new Float32Array(n), probeDims);
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(probe), { graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
  } catch (e) {
    throw new Error(`ONNX Runtime cannot load the model: ${(e as Error).message}`);
  }
  let res: ort.InferenceSession.OnnxValueMapType;
  try {
    res = await session.run(feeds);
  } catch (e) {
    throw new Error(`ONNX Runtime cannot run the model on an input of shape ${JSON.stringify(Object.values(inputShapes))}: ${(e as Error).message}`);
  } finally {
    await session.release();
  }
  const out = new Map<string, TensorInfo>();
  for (const [k, v] of Object.entries(res)) {
    const info: TensorInfo = { dims: [...v.dims], dtype: v.type as DType };
    if ((v.type === 'int64' || v.type === 'int32') && v.size <= 64) info.value = Array.from(v.data as ArrayLike<number | bigint>, Number);
    out.set(k, info);
  }
  for (const inp of g.inputs) out.set(inp.name, { dims: [1, ...inputShapes[inp.name]!.slice(1)], dtype: inp.elemType === 7 ? 'int64' : 'float32' });
  for (const [k, t] of g.initializers) out.set(k, { dims: t.dims, dtype: t.dtype });
  return out;
}
