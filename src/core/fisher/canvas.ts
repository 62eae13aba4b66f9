/**
 * "VOC-like" canvases from Fashion-MNIST (papers/model-papers.md §2.8): each 64×64 grey canvas
 * holds one 28×28 item, rescaled to a random side and pasted at a random position, so its box is
 * known exactly; the background is a texture that is correlated with some classes (context). A
 * small fixed mark in the lower-left corner can be stamped on a share of one class's images (the
 * "copyright tag" of the paper's horse class). Every draw comes from rngFor(seed, purpose, index):
 * the same seed gives the same canvases, in any order.
 */
import { rngFor } from '../math/rng.js';

export const TEXTURES = ['plain', 'noise', 'stripes', 'blobs', 'grid'] as const;
export type Texture = (typeof TEXTURES)[number];

export interface CanvasOptions {
  size: number;
  /** Side of the pasted item, pixels (uniform in [min, max]). */
  minScale: number;
  maxScale: number;
  /** class → texture it is correlated with. */
  context: Record<number, Texture>;
  /** Share of a context class's images that get its texture (the rest: uniform over all textures). */
  contextShare: number;
  /** 'matched': the training distribution; 'swapped': context classes get another context class's texture. */
  mode: 'matched' | 'swapped';
  /** Stamp the mark on this share of `stampClass`'s images (or on every image with stampAll). */
  stampClass?: number;
  stampShare?: number;
  stampAll?: boolean;
}

export const DEFAULT_CANVAS: CanvasOptions = {
  size: 64,
  minScale: 22,
  maxScale: 40,
  context: { 5: 'stripes', 8: 'blobs', 7: 'grid' },
  contextShare: 0.7,
  mode: 'matched',
};

export interface Canvas {
  pixels: Float32Array;
  label: number;
  /** Object box [x0, y0, x1, y1), pixels: the item's non-zero extent after pasting. */
  box: [number, number, number, number];
  texture: Texture;
  /** Box of the stamped mark, when stamped. */
  stamp?: [number, number, number, number];
}

/** The mark: a 6×6 ring with a bar, "©"-like, drawn bright. */
export const STAMP: number[][] = [
  [0, 1, 1, 1, 1, 0],
  [1, 0, 0, 0, 0, 1],
  [1, 0, 1, 1, 0, 1],
  [1, 0, 1, 0, 0, 1],
  [1, 0, 1, 1, 0, 1],
  [0, 1, 1, 1, 1, 0],
];

function texture(kind: Texture, size: number, rng: () => number): Float32Array {
  const t = new Float32Array(size * size);
  const base = 0.15 + 0.1 * rng();
  const phase = Math.floor(rng() * 6);
  const blobs = Array.from({ length: 10 }, () => [rng() * size, rng() * size, 2 + 3 * rng()] as const);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let v = base;
      if (kind === 'noise') v += 0.25 * rng();
      else if (kind === 'stripes') v += (y + phase) % 6 < 3 ? 0.35 : 0;
      else if (kind === 'grid') v += (x + phase) % 8 === 0 || (y + phase) % 8 === 0 ? 0.4 : 0;
      else if (kind === 'blobs') for (const [cx, cy, r] of blobs) if ((x - cx) ** 2 + (y - cy) ** 2 < r * r) v = base + 0.4;
      t[y * size + x] = v + 0.03 * rng();
    }
  return t;
}

/** Bilinear resize of a square item to side s. */
function resize(item: ArrayLike<number>, side: number, s: number): Float32Array {
  const out = new Float32Array(s * s);
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      const fy = Math.min(side - 1, Math.max(0, ((y + 0.5) * side) / s - 0.5));
      const fx = Math.min(side - 1, Math.max(0, ((x + 0.5) * side) / s - 0.5));
      const y0 = Math.floor(fy);
      const x0 = Math.floor(fx);
      const y1 = Math.min(side - 1, y0 + 1);
      const x1 = Math.min(side - 1, x0 + 1);
      const dy = fy - y0;
      const dx = fx - x0;
      out[y * s + x] =
        (1 - dy) * ((1 - dx) * item[y0 * side + x0]! + dx * item[y0 * side + x1]!) + dy * ((1 - dx) * item[y1 * side + x0]! + dx * item[y1 * side + x1]!);
    }
  return out;
}

/** Canvas `index` of a set from item (values in [0, 1], side × side) with class `label`. */
export function makeCanvas(item: ArrayLike<number>, side: number, label: number, index: number, seed: number, o: CanvasOptions): Canvas {
  const rng = rngFor(seed, 'fv-canvas', o.mode, index);
  const size = o.size;
  const ctx = o.context[label];
  const contextClasses = Object.keys(o.context)
    .map(Number)
    .sort((a, b) => a - b);
  let kind: Texture;
  if (ctx !== undefined && o.mode === 'swapped') {
    const others = contextClasses.filter((c) => c !== label);
    kind = others.length ? o.context[others[Math.floor(rng() * others.length)]!]! : ctx;
  } else if (ctx !== undefined && rng() < o.contextShare) kind = ctx;
  else kind = TEXTURES[Math.floor(rng() * TEXTURES.length)]!;
  const px = texture(kind, size, rng);
  const s = o.minScale + Math.floor(rng() * (o.maxScale - o.minScale + 1));
  const ox = Math.floor(rng() * (size - s + 1));
  const oy = Math.floor(rng() * (size - s + 1));
  const obj = resize(item, side, s);
  let x0 = size;
  let y0 = size;
  let x1 = 0;
  let y1 = 0;
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++) {
      const v = obj[y * s + x]!;
      const a = Math.min(1, v * 4); // soft mask: dark item pixels let the background through
      if (a <= 0.02) continue;
      const p = (oy + y) * size + ox + x;
      px[p] = a * v + (1 - a) * px[p]!;
      x0 = Math.min(x0, ox + x);
      y0 = Math.min(y0, oy + y);
      x1 = Math.max(x1, ox + x + 1);
      y1 = Math.max(y1, oy + y + 1);
    }
  const c: Canvas = { pixels: px, label, box: x1 > x0 ? [x0, y0, x1, y1] : [ox, oy, ox + s, oy + s], texture: kind };
  const stamped = o.stampAll || (o.stampClass === label && rngFor(seed, 'fv-stamp', index)() < (o.stampShare ?? 0));
  if (stamped) {
    const sx = 2;
    const sy = size - 2 - STAMP.length;
    STAMP.forEach((row, y) =>
      row.forEach((on, x) => {
        if (on) px[(sy + y) * size + sx + x] = 0.95;
      }),
    );
    c.stamp = [sx, sy, sx + STAMP[0]!.length, sy + STAMP.length];
  }
  for (let i = 0; i < px.length; i++) px[i] = Math.min(1, Math.max(0, px[i]!));
  return c;
}
