/**
 * Read and write ONNX models. The protobuf codec is onnx-proto (protobufjs generated from the
 * official onnx.proto); this module turns it into a small mutable graph that the importer,
 * canonicalizer and compiler share.
 */
import onnxProto from 'onnx-proto';
import { numel, type DType, type TensorData } from './tensor.js';

const { onnx } = onnxProto;
type Long = { toNumber(): number } | number;

export type AttrValue = number | number[] | string | string[] | TensorData;

export interface GraphNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  domain?: string;
  /**
   * Graph-valued attributes (If/Loop bodies), kept as decoded protobuf so that the node re-encodes
   * unchanged; relprop reads none (a PyTorch LocalResponseNorm export holds an If that fusing removes).
   */
  subgraphs?: unknown[];
}

/** A value's static type: element type (ONNX enum) and dims (number, symbolic name, or null). */
export interface ValueInfo {
  name: string;
  elemType: number;
  shape: (number | string | null)[];
}

export interface Graph {
  nodes: GraphNode[];
  initializers: Map<string, TensorData>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  opset: number;
  irVersion: number;
  producer: string;
}

export const ELEM = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;

const DTYPE_OF_ELEM: Record<number, DType> = {
  [ELEM.FLOAT]: 'float32',
  [ELEM.UINT8]: 'uint8',
  [ELEM.INT32]: 'int32',
  [ELEM.INT64]: 'int64',
  [ELEM.BOOL]: 'bool',
  [ELEM.DOUBLE]: 'float64',
};
const ELEM_OF_DTYPE: Record<DType, number> = {
  float32: ELEM.FLOAT,
  uint8: ELEM.UINT8,
  int32: ELEM.INT32,
  int64: ELEM.INT64,
  bool: ELEM.BOOL,
  float64: ELEM.DOUBLE,
};

export function elemTypeOf(dtype: DType): number {
  return ELEM_OF_DTYPE[dtype];
}

export function dtypeOfElem(elem: number): DType | undefined {
  return DTYPE_OF_ELEM[elem];
}

const num = (v: Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

function tensorFromProto(t: InstanceType<typeof onnx.TensorProto>, where: string): TensorData {
  const dims = (t.dims ?? []).map(num);
  const dtype = DTYPE_OF_ELEM[t.dataType ?? 0];
  if (!dtype) throw new Error(`${where}: tensor "${t.name}" has ONNX data type ${t.dataType}, which relprop does not read`);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    throw new Error(`${where}: tensor "${t.name}" is stored as external data; save the model as a single file`);
  }
  const n = numel(dims);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const copyRaw = <T>(ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }): T => {
    const bytes = raw!;
    if (bytes.length !== n * ctor.BYTES_PER_ELEMENT) {
      throw new Error(`${where}: tensor "${t.name}" ${JSON.stringify(dims)} has ${bytes.length} bytes of data, expected ${n * ctor.BYTES_PER_ELEMENT}`);
    }
    // Copy: protobufjs hands out Node Buffers that share (and misalign within) the file's memory.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return new ctor(copy.buffer);
  };
  const checkLen = (len: number) => {
    if (len !== n) throw new Error(`${where}: tensor "${t.name}" ${JSON.stringify(dims)} has ${len} values, expected ${n}`);
  };
  switch (dtype) {
    case 'float32': {
      if (raw) return { dtype, dims, data: copyRaw(Float32Array) };
      checkLen(t.floatData.length);
      return { dtype, dims, data: Float32Array.from(t.floatData) };
    }
    case 'float64': {
      if (raw) return { dtype, dims, data: copyRaw(Float64Array) };
      checkLen(t.doubleData.length);
      return { dtype, dims, data: Float64Array.from(t.doubleData) };
    }
    case 'int64': {
      if (raw) return { dtype, dims, data: copyRaw(BigInt64Array) };
      checkLen(t.int64Data.length);
      return { dtype, dims, data: BigInt64Array.from(t.int64Data.map((v) => BigInt(num(v as Long)))) };
    }
    case 'int32': {
      if (raw) return { dtype, dims, data: copyRaw(Int32Array) };
      checkLen(t.int32Data.length);
      return { dtype, dims, data: Int32Array.from(t.int32Data) };
    }
    case 'uint8':
    case 'bool': {
      if (raw) return { dtype, dims, data: copyRaw(Uint8Array) };
      checkLen(t.int32Data.length);
      return { dtype, dims, data: Uint8Array.from(t.int32Data) };
    }
  }
}

function tensorToProto(name: string, t: TensorData): InstanceType<typeof onnx.TensorProto> {
  const d = t.data;
  return onnx.TensorProto.create({
    name,
    dims: t.dims,
    dataType: ELEM_OF_DTYPE[t.dtype],
    rawData: new Uint8Array(d.buffer, d.byteOffset, d.byteLength),
  });
}

function attrFromProto(a: InstanceType<typeof onnx.AttributeProto>, where: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return a.f;
    case T.INT:
      return num(a.i);
    case T.STRING:
      return new TextDecoder().decode(a.s);
    case T.TENSOR:
      return tensorFromProto(a.t as InstanceType<typeof onnx.TensorProto>, where);
    case T.FLOATS:
      return [...a.floats];
    case T.INTS:
      return a.ints.map(num);
    case T.STRINGS:
      return a.strings.map((s) => new TextDecoder().decode(s));
    default:
      throw new Error(`${where}: attribute "${a.name}" of type ${a.type} (graphs, sparse tensors) is not supported`);
  }
}

function attrToProto(name: string, v: AttrValue): InstanceType<typeof onnx.AttributeProto> {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') {
    return Number.isInteger(v) && !FLOAT_ATTRS.has(name)
      ? onnx.AttributeProto.create({ name, type: T.INT, i: v })
      : onnx.AttributeProto.create({ name, type: T.FLOAT, f: v });
  }
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') {
      return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) });
    }
    const nums = v as number[];
    return FLOAT_ATTRS.has(name) || nums.some((x) => !Number.isInteger(x))
      ? onnx.AttributeProto.create({ name, type: T.FLOATS, floats: nums })
      : onnx.AttributeProto.create({ name, type: T.INTS, ints: nums });
  }
  return onnx.AttributeProto.create({ name, type: T.TENSOR, t: tensorToProto('', v) });
}

/** Attributes whose ONNX type is float even when the value happens to be integral. */
const FLOAT_ATTRS = new Set([
  'alpha',
  'beta',
  'epsilon',
  'momentum',
  'bias',
  'gamma',
  'lambd',
  'ratio',
  'value_float',
  'value_floats',
  'min',
  'max',
  'scale',
  'size_float',
]);
// LRN's `size` and `k`? `size` is int, `bias` float. Keep `size` out of FLOAT_ATTRS.

function valueInfoFromProto(v: InstanceType<typeof onnx.ValueInfoProto>): ValueInfo {
  const tt = v.type?.tensorType;
  return {
    name: v.name,
    elemType: tt?.elemType ?? 0,
    shape: (tt?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null && num(d.dimValue) > 0 ? num(d.dimValue) : null)),
  };
}

function valueInfoToProto(v: ValueInfo) {
  // elemType 0: type unknown here; ONNX Runtime infers it (used for probe outputs).
  if (v.elemType === 0) return onnx.ValueInfoProto.create({ name: v.name });
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: {
        elemType: v.elemType,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? '' })) },
      },
    },
  });
}

/** Decode an ONNX file. Throws a clear error for anything that is not a readable model. */
export function decodeModel(bytes: Uint8Array, source = 'model'): Graph {
  let m: InstanceType<typeof onnx.ModelProto>;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source} is not a valid ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  const g = m.graph as InstanceType<typeof onnx.GraphProto> | null;
  if (!g || g.node.length === 0) throw new Error(`${source} is not a valid ONNX model (it has no graph nodes)`);
  const opsetEntry = m.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  const opset = opsetEntry ? num(opsetEntry.version) : 0;
  if (!opset) throw new Error(`${source} does not declare a default-domain opset`);
  const initializers = new Map<string, TensorData>();
  for (const t of g.initializer as InstanceType<typeof onnx.TensorProto>[]) initializers.set(t.name, tensorFromProto(t, source));
  const nodes: GraphNode[] = (g.node as InstanceType<typeof onnx.NodeProto>[]).map((n, k) => {
    const name = n.name || `${n.opType}_${k}`;
    const attrs: Record<string, AttrValue> = {};
    const subgraphs: unknown[] = [];
    const T = onnx.AttributeProto.AttributeType;
    for (const a of n.attribute as InstanceType<typeof onnx.AttributeProto>[]) {
      if (a.type === T.GRAPH || a.type === T.GRAPHS) subgraphs.push(a);
      else attrs[a.name] = attrFromProto(a, `${source}: node "${name}" (${n.opType})`);
    }
    const node: GraphNode = { op: n.opType, name, inputs: [...n.input], outputs: [...n.output], attrs, domain: n.domain || undefined };
    if (subgraphs.length > 0) node.subgraphs = subgraphs;
    return node;
  });
  return {
    nodes,
    initializers,
    inputs: (g.input as InstanceType<typeof onnx.ValueInfoProto>[]).filter((v) => !initializers.has(v.name)).map(valueInfoFromProto),
    outputs: (g.output as InstanceType<typeof onnx.ValueInfoProto>[]).map(valueInfoFromProto),
    opset,
    irVersion: num(m.irVersion as Long),
    producer: m.producerName ?? '',
  };
}

export function encodeModel(g: Graph, name = 'relprop'): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: Math.max(g.irVersion, 8),
    producerName: 'relprop',
    // Nodes of other domains (e.g. com.microsoft contrib ops) need their domain declared too.
    opsetImport: [
      { domain: '', version: g.opset },
      ...[...new Set(g.nodes.map((n) => n.domain ?? '').filter((d) => d && d !== 'ai.onnx'))].map((domain) => ({ domain, version: 1 })),
    ],
    graph: graphToProto(g, name),
  });
  return onnx.ModelProto.encode(model).finish();
}

function graphToProto(g: Graph, name: string) {
  return {
    name,
    node: g.nodes.map((n) =>
      onnx.NodeProto.create({
        name: n.name,
        opType: n.op,
        domain: n.domain ?? '',
        input: n.inputs,
        output: n.outputs,
        attribute: [...Object.entries(n.attrs).map(([k, v]) => attrToProto(k, v)), ...((n.subgraphs ?? []) as InstanceType<typeof onnx.AttributeProto>[])],
      }),
    ),
    initializer: [...g.initializers].map(([k, t]) => tensorToProto(k, t)),
    input: g.inputs.map(valueInfoToProto),
    output: g.outputs.map(valueInfoToProto),
  };
}

/**
 * A graph as a node attribute (a Loop's or an If's body), for `GraphNode.subgraphs`. The body may
 * read the enclosing graph's tensors by name; its own names must not reuse them.
 */
export function graphAttribute(attrName: string, body: Graph): unknown {
  return onnx.AttributeProto.create({
    name: attrName,
    type: onnx.AttributeProto.AttributeType.GRAPH,
    g: onnx.GraphProto.create(graphToProto(body, attrName)),
  });
}

/**
 * The same model as {@link encodeModel}, as parts whose concatenation is the file: the graph with its
 * small initializers, then each initializer of at least `minBytes` as a further GraphProto whose
 * raw data is a view of the tensor's own memory, not a copy. Written out part by part, a large
 * model never exists as one buffer. The protobuf format merges a message field that occurs twice;
 * ONNX Runtime's parser does, protobufjs (decodeModel) does not: these parts are for runtimes.
 */
export function encodeModelParts(g: Graph, name = 'relprop', minBytes = 1 << 20): Uint8Array[] {
  const small = new Map<string, TensorData>();
  const large: [string, TensorData][] = [];
  for (const [k, t] of g.initializers) {
    if (t.data.byteLength >= minBytes) large.push([k, t]);
    else small.set(k, t);
  }
  const parts = [encodeModel({ ...g, initializers: small }, name)];
  for (const [k, t] of large) {
    const d = t.data;
    const raw = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    const nameBytes = new TextEncoder().encode(k);
    const head: number[] = [];
    for (const dim of t.dims) head.push(0x08, ...varint(dim)); // dims (1)
    head.push(0x10, ...varint(ELEM_OF_DTYPE[t.dtype])); // data_type (2)
    head.push(0x42, ...varint(nameBytes.length), ...nameBytes); // name (8)
    head.push(0x4a, ...varint(raw.length)); // raw_data (9), its bytes follow
    const tensorLen = head.length + raw.length;
    const graphHead = [0x2a, ...varint(tensorLen)]; // GraphProto.initializer (5)
    const modelHead = [0x3a, ...varint(graphHead.length + tensorLen)]; // ModelProto.graph (7)
    parts.push(Uint8Array.from([...modelHead, ...graphHead, ...head]), raw);
  }
  return parts;
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}

export function cloneGraph(g: Graph): Graph {
  return {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    initializers: new Map(g.initializers),
    inputs: g.inputs.map((v) => ({ ...v, shape: [...v.shape] })),
    outputs: g.outputs.map((v) => ({ ...v, shape: [...v.shape] })),
  };
}
