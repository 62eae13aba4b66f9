/**
 * Models encoded in parts (encodeModelParts): the concatenation is the same model as encodeModel's
 * buffer, and onnxruntime-node loads the parts through its temporary file (createSessionFromParts),
 * leaving no file behind.
 */
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, encodeModelParts, type Graph } from '../src/core/onnx/model.js';
import { float32, int64 } from '../src/core/onnx/tensor.js';
import { nodeRuntime } from '../src/node/runtime-node.js';

const { onnx } = onnxProto;

/** y = (x · W + b) reshaped, with W large enough (and a non-ASCII name) to be its own part. */
function graph(): Graph {
  const W = float32(
    [300, 500],
    Array.from({ length: 300 * 500 }, (_, i) => Math.sin(i)),
  );
  const b = float32(
    [500],
    Array.from({ length: 500 }, (_, i) => i / 500),
  );
  return {
    opset: 17,
    irVersion: 8,
    nodes: [
      { op: 'MatMul', name: 'mm', inputs: ['x', 'wéight/Ω'], outputs: ['xw'], attrs: {} },
      { op: 'Add', name: 'add', inputs: ['xw', 'b'], outputs: ['z'], attrs: {} },
      { op: 'Reshape', name: 'rs', inputs: ['z', 'shape'], outputs: ['y'], attrs: {} },
    ],
    initializers: new Map([
      ['wéight/Ω', W],
      ['b', b],
      ['shape', int64([2], [-1, 250])],
    ]),
    inputs: [{ name: 'x', elemType: 1, shape: ['N', 300] }],
    outputs: [{ name: 'y', elemType: 1, shape: ['M', 250] }],
  } as Graph;
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('models in parts', () => {
  it('are the graph with its small initializers, then one GraphProto per large tensor whose bytes are a view of its memory', () => {
    const g = graph();
    const parts = encodeModelParts(g, 'parts', 4096);
    expect(parts.length).toBe(3); // the graph with b and shape, then W's header and W's bytes
    const W = g.initializers.get('wéight/Ω')!;
    expect(parts[2]!.buffer).toBe(W.data.buffer);
    const head = decodeModel(parts[0]!);
    expect(head.nodes).toEqual(decodeModel(encodeModel(g, 'parts')).nodes);
    expect([...head.initializers.keys()].sort()).toEqual(['b', 'shape']);
    // protobufjs replaces a repeated message field where C++ protobuf (ONNX Runtime) merges it, so
    // the tensor's part is read on its own here.
    const t = onnx.ModelProto.decode(concat(parts.slice(1))).graph!.initializer![0]!;
    expect(t.name).toBe('wéight/Ω');
    expect(t.dims!.map(Number)).toEqual([300, 500]);
    expect(t.dataType).toBe(1);
    expect(new Float32Array(Uint8Array.from(t.rawData!).buffer)).toEqual(W.data);
  });

  it('run in onnxruntime-node from a temporary file that is removed', async () => {
    const g = graph();
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('relprop-session-')).length;
    const fromParts = await nodeRuntime.createSessionFromParts!(encodeModelParts(g, 'parts', 4096), { threads: 1, largeModel: true });
    const fromBytes = await nodeRuntime.createSession(encodeModel(g, 'parts'), { threads: 1, largeModel: true });
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('relprop-session-')).length).toBe(before);
    const x = float32(
      [2, 300],
      Array.from({ length: 600 }, (_, i) => Math.cos(i)),
    );
    const y1 = (await fromParts.run({ x })).y!;
    const y2 = (await fromBytes.run({ x })).y!;
    expect(y1.dims).toEqual([4, 250]);
    expect([...(y1.data as Float32Array)]).toEqual([...(y2.data as Float32Array)]);
    await fromParts.release();
    await fromBytes.release();
  });
});
