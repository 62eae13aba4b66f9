/** Reading the CLI's inputs: .npy arrays, PNG/JPEG images, JSON arrays. */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { describeConversion, detectImageFormat, loadImage, readImage, type ImageOptions } from '../io/image.js';
import { readNpy } from '../../core/onnx/npy.js';
import { numel, type TensorData } from '../../core/onnx/tensor.js';
import type { ImportedModel } from '../../core/graph/import.js';

export interface LoadedInput {
  tensor: TensorData;
  /** For image inputs: the pixels in 0..255 at the model's resolution (gray or RGB), for overlays. */
  pixels?: { data: Float32Array; h: number; w: number; channels: 1 | 3 }[];
  /** For an image that is not what the model takes: what was done to it, in one line. */
  conversion?: string;
}

/** The image options a user can set on the command line (the rest defaults from the model). */
export type ImageFlags = ImageOptions;

function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read input file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Image options defaulted from the model's declared input shape ([N,C,H,W] or [N,H,W,C]). */
export function imageOptionsFor(model: ImportedModel, flags: ImageFlags): ImageOptions {
  const s = model.inputShape;
  let layout = flags.layout;
  if (!layout && s.length === 4) layout = s[1] === 1 || s[1] === 3 ? 'nchw' : s[3] === 1 || s[3] === 3 ? 'nhwc' : 'nchw';
  layout ??= 'nchw';
  const C = layout === 'nchw' ? s[1] : s[3];
  const H = layout === 'nchw' ? s[2] : s[1];
  const W = layout === 'nchw' ? s[3] : s[2];
  const channels = flags.channels ?? (C === 1 ? 1 : 3);
  const size = flags.size ?? (typeof H === 'number' && typeof W === 'number' ? ([H, W] as [number, number]) : undefined);
  return { size, channels, layout, order: flags.order, scale: flags.scale, mean: flags.mean, std: flags.std, fit: flags.fit, background: flags.background };
}

export function loadInput(path: string, model: ImportedModel, flags: ImageFlags): LoadedInput {
  const bytes = readBytes(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') {
    try {
      return { tensor: readNpy(bytes) };
    } catch (e) {
      throw new Error(`cannot read ${path}: ${(e as Error).message}`);
    }
  }
  if (ext === '.json') return { tensor: parseJsonInput(bytes, path, model) };
  if (detectImageFormat(bytes) || ['.png', '.jpg', '.jpeg'].includes(ext)) {
    const opts = imageOptionsFor(model, flags);
    let read: ReturnType<typeof readImage>;
    let raw: TensorData;
    try {
      read = readImage(bytes, opts);
      raw = loadImage(bytes, { ...opts, layout: 'nhwc', order: 'rgb', scale: 1, mean: undefined, std: undefined });
    } catch (e) {
      throw new Error(`cannot read image ${path}: ${(e as Error).message}`);
    }
    const [, h, w, c] = raw.dims as [number, number, number, number];
    const conversion = describeConversion(read.conversion);
    return {
      tensor: read.tensor,
      pixels: [{ data: raw.data as Float32Array, h, w, channels: c as 1 | 3 }],
      conversion: conversion && `${path}: ${conversion}`,
    };
  }
  throw new Error(`cannot read input ${path}: expected a .npy array, a PNG/JPEG image or a .json array`);
}

/** JSON: nested arrays of numbers (first axis = batch) or {"dtype", "shape", "data"}. */
function parseJsonInput(bytes: Uint8Array, path: string, model: ImportedModel): TensorData {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`cannot parse ${path} as JSON: ${(e as Error).message}`);
  }
  const wantInt = model.inputElemType === 7 || model.inputElemType === 6;
  let dims: number[];
  let flat: number[];
  let dtype = wantInt ? 'int64' : 'float32';
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as { dtype?: string; shape?: number[]; data?: number[] };
    if (!Array.isArray(o.shape) || !Array.isArray(o.data)) throw new Error(`${path}: a JSON object input needs "shape" and "data" arrays`);
    dims = o.shape;
    flat = o.data;
    dtype = o.dtype ?? dtype;
    if (numel(dims) !== flat.length) throw new Error(`${path}: shape ${JSON.stringify(dims)} needs ${numel(dims)} values, data has ${flat.length}`);
  } else {
    dims = [];
    let cur: unknown = v;
    while (Array.isArray(cur)) {
      dims.push(cur.length);
      cur = cur[0];
    }
    flat = (v as unknown[]).flat(Infinity) as number[];
    if (numel(dims) !== flat.length) throw new Error(`${path}: nested arrays are ragged (shape ${JSON.stringify(dims)} but ${flat.length} values)`);
  }
  if (flat.some((x) => typeof x !== 'number')) throw new Error(`${path}: input values must be numbers`);
  if (dtype === 'int64' || dtype === 'int32') {
    if (flat.some((x) => !Number.isInteger(x))) throw new Error(`${path}: token ids must be integers`);
    return { dtype: 'int64', dims, data: BigInt64Array.from(flat, (x) => BigInt(x)) };
  }
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${path}: unsupported dtype "${dtype}"`);
  return { dtype: 'float32', dims, data: Float32Array.from(flat) };
}
