/**
 * Procedural faces (issue 17): the generator is deterministic per seed, every cue changes pixels
 * only inside its documented box, the KDEF-like set varies only the expression, and `relprop faces
 * generate` writes the documented files.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Box,
  type Expression,
  type Identity,
  cueBoxes,
  generateFaces,
  generateKdef,
  makeExpression,
  makeIdentity,
  renderFace,
} from '../src/core/faces/generator.js';
import { readNpy } from '../src/core/onnx/npy.js';
import { relprop } from './helpers/cli.js';

const S = 32;

/** Indices of the pixels that differ between two renders. */
function changed(a: Float32Array, b: Float32Array): number[] {
  const out: number[] = [];
  for (let p = 0; p < a.length; p++) if (a[p] !== b[p]) out.push(p);
  return out;
}
const inside = (p: number, [x0, y0, x1, y1]: Box) => p % S >= x0 && p % S < x1 && Math.floor(p / S) >= y0 && Math.floor(p / S) < y1;

describe('face generator', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = generateFaces('base', 6, S, 3);
    const b = generateFaces('base', 6, S, 3);
    const c = generateFaces('base', 6, S, 4);
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(true);
    expect(a.records).toEqual(b.records);
    expect(changed(a.pixels, c.pixels).length).toBeGreaterThan(1000);
    for (const v of a.pixels) expect(v >= 0 && v <= 1).toBe(true);
  });

  // For many identities: move one cue to its extremes, with the same noise; the pixels that change lie inside its box.
  // The last number: how many pixels (at 32 pixels; scaled with the size) a side of the box may lie beyond the changed pixels.
  type Case = [string, 'mouth' | 'eyes' | 'forehead' | 'mark', (id: Identity, ex: Expression, lo: boolean) => [Identity, Expression], number];
  const cases: Case[] = [
    ['mouth curvature', 'mouth', (id, ex, lo) => [id, { ...ex, curvature: lo ? -1 : 1 }], 2],
    ['eye opening', 'eyes', (id, ex, lo) => [id, { ...ex, opening: lo ? 0.3 : 1 }], 1000],
    ['brow raise', 'eyes', (id, ex, lo) => [id, { ...ex, browRaise: lo ? -1 : 1 }], 1000],
    ['eye opening and brow raise', 'eyes', (id, ex, lo) => [id, { ...ex, opening: lo ? 0.3 : 1, browRaise: lo ? 1 : -1 }], 2],
    ['wrinkle depth', 'forehead', (id, ex, lo) => [{ ...id, wrinkles: lo ? 0 : 1, wrinkleLines: 3 }, ex], 3],
    ['the mark', 'mark', (id, ex, lo) => [id, { ...ex, mark: lo ? { ...ex.mark!, darkness: 0 } : { ...ex.mark!, darkness: 1 } }], 1],
  ];
  // Two sizes: at 32 pixels the boxes' one-pixel safety margin alone covers small movements.
  for (const [what, cue, set, maxSlack] of cases)
    it.each([32, 96])(`${what} changes pixels only inside the ${cue} box (%i pixels)`, (S) => {
      const inside = (p: number, [x0, y0, x1, y1]: Box) => p % S >= x0 && p % S < x1 && Math.floor(p / S) >= y0 && Math.floor(p / S) < y1;
      let total = 0;
      let slack = 0;
      for (let k = 0; k < 40; k++) {
        const id = makeIdentity(1, k);
        const ex = { ...makeExpression(1, k), mark: { x: k % 2 ? 0.31 : 0.68, y: 0.61, r: 0.04, darkness: 0.5 } };
        const [idA, exA] = set(id, ex, true);
        const [idB, exB] = set(id, ex, false);
        const diff = changed(renderFace(idA, exA, S, 1, k), renderFace(idB, exB, S, 1, k));
        const box = cueBoxes(idB, exB, S)[cue]!;
        expect(box).toBeDefined();
        expect(diff.filter((p) => !inside(p, box))).toEqual([]);
        total += diff.length;
        // …and the box is tight: each side within 2 pixels of the changed pixels.
        if (diff.length === 0) continue;
        const xs = diff.map((p) => p % S);
        const ys = diff.map((p) => Math.floor(p / S));
        slack = Math.max(slack, Math.min(...xs) - box[0], box[2] - 1 - Math.max(...xs), Math.min(...ys) - box[1], box[3] - 1 - Math.max(...ys));
      }
      expect(total).toBeGreaterThan(40); // the cue is drawn at all
      expect(slack).toBeLessThanOrEqual(Math.ceil((maxSlack * S) / 32));
    });

  it('the KDEF-like set keeps each identity and changes only the expression cues', () => {
    const k = generateKdef(2, S, 0);
    expect(k.records.map((r) => r.expression).slice(0, 7)).toEqual(['neutral', 'happy', 'sad', 'surprised', 'angry', 'afraid', 'disgusted']);
    const neutral = k.pixels.subarray(0, S * S);
    const happy = k.pixels.subarray(S * S, 2 * S * S);
    const { mouth, eyes } = k.records[0]!.boxes;
    const diff = changed(neutral, happy);
    expect(diff.length).toBeGreaterThan(0);
    expect(diff.filter((p) => !inside(p, mouth!) && !inside(p, eyes!))).toEqual([]);
    expect(k.records[0]!.age).toBe(k.records[6]!.age);
    expect(k.records[0]!.attributes.happiness).toBeLessThan(k.records[1]!.attributes.happiness);
  });

  it('labels follow their cues: happiness rises with curvature, maturity with age', () => {
    const set = generateFaces('attributes', 400, S, 0);
    const corr = (a: number[], b: number[]) => {
      const m = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      const [ma, mb] = [m(a), m(b)];
      let sab = 0;
      let saa = 0;
      let sbb = 0;
      a.forEach((x, i) => {
        sab += (x - ma) * (b[i]! - mb);
        saa += (x - ma) ** 2;
        sbb += (b[i]! - mb) ** 2;
      });
      return sab / Math.sqrt(saa * sbb);
    };
    const r = set.records;
    expect(
      corr(
        r.map((x) => x.latent.curvature),
        r.map((x) => x.attributes.happiness),
      ),
    ).toBeGreaterThan(0.9);
    expect(
      corr(
        r.map((x) => x.age),
        r.map((x) => x.attributes.maturity),
      ),
    ).toBeGreaterThan(0.8);
    expect(r.filter((x) => x.boxes.mark).length).toBe(r.filter((x) => x.latent.mark > 0).length);
  });
});

describe('relprop faces generate', () => {
  it('writes the sets with labels and boxes', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'relprop-faces-')), 'faces');
    const r = await relprop(['faces', 'generate', '--out', out, '--base', '20', '--attributes', '10', '--kdef', '2', '--seed', '5', '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const x = readNpy(readFileSync(join(out, 'attributes', 'images.npy')));
    expect(x.dims).toEqual([10, 1, 32, 32]);
    expect(readNpy(readFileSync(join(out, 'base', 'age.npy'))).dims).toEqual([20]);
    expect(readNpy(readFileSync(join(out, 'kdef', 'happiness.npy'))).dims).toEqual([14]);
    const lines = readFileSync(join(out, 'attributes', 'boxes-mouth.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(lines).toHaveLength(10);
    expect(JSON.parse(lines[0]!).boxes[0]).toEqual(generateFaces('attributes', 1, 32, 5).records[0]!.boxes.mouth);
    // A second run into the same folder is refused, not mixed.
    const again = await relprop(['faces', 'generate', '--out', out, '--base', '1', '--quiet']);
    expect(again.code).not.toBe(0);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, 'faces.json'))).toBe(true);
  });
});
