/** Bars and stripes on a 3×3 grid (14 distinct patterns), the Boltzmann tests' small data set. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BinaryData } from '../../src/core/boltzmann/train.js';
import { encodeNpy } from '../../src/core/onnx/npy.js';
import { float32 } from '../../src/core/onnx/tensor.js';

/** The 14 patterns, each repeated `repeat` times (pattern order within each repetition). */
export function barsAndStripes(repeat: number): BinaryData {
  const rows: number[][] = [];
  for (let m = 0; m < 8; m++) {
    const on = [m & 1, (m >> 1) & 1, (m >> 2) & 1];
    rows.push(Array.from({ length: 9 }, (_, k) => on[Math.floor(k / 3)]!));
    rows.push(Array.from({ length: 9 }, (_, k) => on[k % 3]!));
  }
  const unique = rows.filter((r, i) => rows.findIndex((s) => s.join() === r.join()) === i);
  const x = new Float32Array(unique.length * repeat * 9);
  for (let r = 0; r < unique.length * repeat; r++) x.set(unique[r % unique.length]!, r * 9);
  return { x, n: unique.length * repeat, nv: 9 };
}

/** 14 patterns × 4 as a float32 .npy of 0/1 in `dir` (after `mutate`); returns its path. */
export function barsNpy(dir: string, mutate?: (x: Float32Array) => void): string {
  const { x, n } = barsAndStripes(4);
  mutate?.(x);
  const path = join(dir, 'bars.npy');
  writeFileSync(path, encodeNpy(float32([n, 9], x)));
  return path;
}
