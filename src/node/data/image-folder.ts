/**
 * A folder of PNG/JPEG images as one batch. Either flat (every image in the folder) or one
 * sub-folder per class (`root/<class>/<image>`, classes in sorted order → labels 0, 1, …),
 * as torchvision's ImageFolder. Files are taken in sorted name order so a run repeats exactly.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readImage, summarizeConversions, type ImageConversion, type ImageOptions } from '../io/image.js';
import type { TensorData } from '../../core/onnx/tensor.js';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

export interface ImageFolderSet {
  images: TensorData;
  files: string[];
  /** Present when the folder has one sub-folder per class. */
  labels?: number[];
  classes?: string[];
  /** When some images are not what the options ask for: one line saying how many were converted and how. */
  conversion?: string;
}

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
    .sort()
    .map((f) => join(dir, f));
}

/** List the images (and class labels) of a folder without decoding them. */
export function listImageFolder(root: string): { files: string[]; labels?: number[]; classes?: string[] } {
  let entries: string[];
  try {
    entries = readdirSync(root).sort();
  } catch (e) {
    throw new Error(`cannot read image folder ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const subdirs = entries.filter((e) => statSync(join(root, e)).isDirectory());
  const flat = listImages(root);
  if (flat.length > 0 || subdirs.length === 0) return { files: flat };
  const files: string[] = [];
  const labels: number[] = [];
  subdirs.forEach((cls, i) => {
    for (const f of listImages(join(root, cls))) {
      files.push(f);
      labels.push(i);
    }
  });
  return { files, labels, classes: subdirs };
}

/**
 * Decode images `[offset, offset + limit)` of a folder into one [N, C, H, W] (or [N, H, W, C])
 * tensor. `opts.size` is needed when the files differ in size.
 */
export function loadImageFolder(root: string, opts: ImageOptions & { offset?: number; limit?: number } = {}): ImageFolderSet {
  const all = listImageFolder(root);
  const start = opts.offset ?? 0;
  const end = opts.limit === undefined ? all.files.length : Math.min(all.files.length, start + opts.limit);
  const files = all.files.slice(start, end);
  const conversions: ImageConversion[] = [];
  const parts: TensorData[] = files.map((f) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      throw new Error(`cannot read image ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      const r = readImage(bytes, opts);
      conversions.push(r.conversion);
      return r.tensor;
    } catch (e) {
      throw new Error(`cannot read image ${f}: ${(e as Error).message}`);
    }
  });
  const first = parts[0];
  const dims = first ? first.dims.slice(1) : [0];
  const per = first ? first.data.length : 0;
  parts.forEach((p, i) => {
    if (p.dims.slice(1).join('x') !== dims.join('x'))
      throw new Error(`image ${files[i]} is ${p.dims.slice(1).join('x')} but ${files[0]} is ${dims.join('x')}; give a size to resize them all`);
  });
  const data = new Float32Array(parts.length * per);
  parts.forEach((p, i) => data.set(p.data as Float32Array, i * per));
  return {
    images: { dtype: 'float32', dims: [parts.length, ...dims], data },
    files,
    labels: all.labels?.slice(start, end),
    classes: all.classes,
    conversion: summarizeConversions(conversions)?.replace(/^/, `${root}: `),
  };
}
