/**
 * Deterministic weights for the torchvision import-check assets in test/assets/torchvision/.
 *
 * The assets are ONNX "skeletons" exported by scripts/export_torchvision.py (Debian PyTorch 1.13):
 * every parameter / BatchNorm-buffer initializer keeps its name, dims and data type but has no
 * data. Both sides generate the values from the same counter-based integer PRNG, bit for bit:
 *
 *   h(name) = FNV-1a 32-bit hash of the UTF-8 bytes of name
 *   x_k     = fmix32(h XOR (k * 0x9E3779B9 mod 2^32))        k = 0 .. n-1, flat C order
 *   fmix32  = MurmurHash3's 32-bit finaliser
 *   u_k     = (x_k >>> 8) / 2^24                              exact float in [0, 1)
 *
 * Values, computed in float64 and then rounded to float32, seeded by the PyTorch state_dict name
 * (FillEntry.param when the exporter renamed the initializer, else the initializer name):
 *   weight     (2u - 1) * sqrt(3 / fan_in)      bias     (2u - 1) * 0.1
 *   bn_weight  0.5 + u                          bn_bias  (2u - 1) * 0.2
 *   bn_mean    (2u - 1) * 0.2                   bn_var   0.5 + u
 *   input      (2u - 1) * 2                     (seed name "__input__")
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { readNpy } from '../../src/core/onnx/npy.js';
import type { TensorData } from '../../src/core/onnx/tensor.js';

const { onnx } = onnxProto;

export type FillKind = 'weight' | 'bias' | 'bn_weight' | 'bn_bias' | 'bn_mean' | 'bn_var';

export interface FillEntry {
  kind: FillKind;
  /** prod(dims[1:]) of a Conv / Linear weight */
  fan_in?: number;
  /** state_dict name that seeds the PRNG, present only where it differs from the initializer name */
  param?: string;
}

export interface FillSpec {
  fill: Record<string, FillEntry>;
}

/** The <model>.json written by scripts/export_torchvision.py. */
export interface TorchvisionSpec extends FillSpec {
  model: string;
  input_shape: number[];
  input_seed_name: string;
  target: number;
  torch_logits: number[];
  grad_file: string;
  onnx_ops: string[];
  parameter_count: number;
  note?: string;
}

/** All exported models; `vgg11` is heavy (133 M parameters, ~530 MB once filled). */
export const TORCHVISION_MODELS = [
  'resnet18',
  'vgg11',
  'vgg11_slim',
  'mobilenet_v2',
  'densenet121',
  'squeezenet1_1',
  'shufflenet_v2_x0_5',
  'googlenet',
] as const;
export const HEAVY_TORCHVISION_MODELS: readonly string[] = ['vgg11'];

const TWO_POW_24 = 16777216;

function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(name)) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** u_0 .. u_{n-1} for `name`: each an exact multiple of 2^-24 in [0, 1). */
export function prngUniform(name: string, n: number): Float64Array {
  const h = nameHash(name);
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = (fmix32(h ^ Math.imul(k, 0x9e3779b9)) >>> 8) / TWO_POW_24;
  return out;
}

/** The float32 values of one filled tensor (n elements) of the given kind, seeded by `seedName`. */
export function fillValues(seedName: string, entry: { kind: FillKind | 'input'; fan_in?: number }, n: number): Float32Array {
  const h = nameHash(seedName);
  const out = new Float32Array(n);
  const u = (k: number): number => (fmix32(h ^ Math.imul(k, 0x9e3779b9)) >>> 8) / TWO_POW_24;
  let scale: number;
  switch (entry.kind) {
    case 'bn_weight':
    case 'bn_var':
      for (let k = 0; k < n; k++) out[k] = 0.5 + u(k);
      return out;
    case 'weight':
      if (entry.fan_in === undefined || !(entry.fan_in > 0)) throw new Error(`fillValues(${seedName}): weight needs a positive fan_in`);
      scale = Math.sqrt(3 / entry.fan_in);
      break;
    case 'bias':
      scale = 0.1;
      break;
    case 'bn_bias':
    case 'bn_mean':
      scale = 0.2;
      break;
    case 'input':
      scale = 2;
      break;
    default:
      throw new Error(`fillValues(${seedName}): unknown kind ${String((entry as { kind: unknown }).kind)}`);
  }
  // (2u - 1) * scale in float64 (2u - 1 is exact), rounded to float32 on store, as numpy does
  for (let k = 0; k < n; k++) out[k] = (2 * u(k) - 1) * scale;
  return out;
}

/** The deterministic input of a spec: float32 of shape spec.input_shape. */
export function makeInput(spec: Pick<TorchvisionSpec, 'input_shape' | 'input_seed_name'>): TensorData {
  const dims = [...spec.input_shape];
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', dims, data: fillValues(spec.input_seed_name, { kind: 'input' }, n) };
}

type Long = { toNumber(): number } | number;
const num = (v: Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Fill a skeleton's empty initializers from the PRNG and return the complete ONNX model bytes.
 * Every spec entry must name an empty FLOAT initializer of the skeleton, and every empty FLOAT
 * initializer must have a spec entry: a mismatch is an error, never a silently half-filled model.
 */
export function fillSkeleton(modelBytes: Uint8Array, spec: FillSpec): Uint8Array {
  if (!HOST_LITTLE_ENDIAN) throw new Error('fillSkeleton: big-endian hosts are not supported');
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph;
  if (!graph) throw new Error('fillSkeleton: model has no graph');
  const todo = new Set(Object.keys(spec.fill));
  for (const init of graph.initializer ?? []) {
    const name = init.name ?? '';
    const entry = spec.fill[name];
    const empty = (init.rawData?.length ?? 0) === 0 && (init.floatData?.length ?? 0) === 0;
    if (!entry) {
      const n = (init.dims ?? []).map(num).reduce((a, b) => a * b, 1);
      if (empty && init.dataType === onnx.TensorProto.DataType.FLOAT && n > 0) {
        throw new Error(`fillSkeleton: initializer "${name}" has no data and no fill entry`);
      }
      continue;
    }
    if (init.dataType !== onnx.TensorProto.DataType.FLOAT) throw new Error(`fillSkeleton: initializer "${name}" is not FLOAT (data type ${init.dataType})`);
    if (!empty) throw new Error(`fillSkeleton: initializer "${name}" already has data`);
    const n = (init.dims ?? []).map(num).reduce((a, b) => a * b, 1);
    const values = fillValues(entry.param ?? name, entry, n);
    init.rawData = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    init.floatData = [];
    todo.delete(name);
  }
  if (todo.size > 0) throw new Error(`fillSkeleton: fill entries without an initializer: ${[...todo].slice(0, 5).join(', ')}`);
  return onnx.ModelProto.encode(model).finish();
}

/** test/assets/torchvision, found from this file both in the source tree and under dist/. */
export function torchvisionAssetDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../assets/torchvision'), resolve(here, '../../../test/assets/torchvision')];
  for (const c of candidates) if (existsSync(c)) return c;
  throw new Error(`torchvision assets not found (looked in ${candidates.join(', ')})`);
}

export interface TorchvisionAsset {
  spec: TorchvisionSpec;
  /** complete, filled ONNX model */
  model: Uint8Array;
  /** deterministic input, shape spec.input_shape */
  input: TensorData;
  /** PyTorch autograd d logits[0, target] / d input, shape spec.input_shape */
  grad: TensorData;
}

export function loadTorchvisionAsset(model: string, dir: string = torchvisionAssetDir()): TorchvisionAsset {
  const spec = JSON.parse(readFileSync(join(dir, `${model}.json`), 'utf8')) as TorchvisionSpec;
  const skeleton = readFileSync(join(dir, `${model}.skeleton.onnx`));
  const grad = readNpy(readFileSync(join(dir, spec.grad_file)));
  return { spec, model: fillSkeleton(skeleton, spec), input: makeInput(spec), grad };
}
