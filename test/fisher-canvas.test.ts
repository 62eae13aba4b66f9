/** The §2.8 canvas generator: seeded and order-free, exact boxes, context textures, the stamp. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CANVAS, makeCanvas, STAMP } from '../src/core/fisher/canvas.js';

/** A 28×28 item: a filled rectangle at rows 4..23, cols 8..19. */
const item = Float32Array.from({ length: 784 }, (_, i) => {
  const r = Math.floor(i / 28);
  const c = i % 28;
  return r >= 4 && r < 24 && c >= 8 && c < 20 ? 1 : 0;
});

describe('canvas generator', () => {
  it('repeats with the seed and does not depend on order', () => {
    const a = makeCanvas(item, 28, 3, 7, 1, DEFAULT_CANVAS);
    makeCanvas(item, 28, 3, 8, 1, DEFAULT_CANVAS);
    const b = makeCanvas(item, 28, 3, 7, 1, DEFAULT_CANVAS);
    expect(Array.from(a.pixels)).toEqual(Array.from(b.pixels));
    expect(Array.from(makeCanvas(item, 28, 3, 7, 2, DEFAULT_CANVAS).pixels)).not.toEqual(Array.from(a.pixels));
  });

  it('the box is the pasted item’s extent: item pixels are bright inside, none outside', () => {
    for (let i = 0; i < 20; i++) {
      const c = makeCanvas(item, 28, 0, i, 0, { ...DEFAULT_CANVAS, context: {}, contextShare: 0 });
      const [x0, y0, x1, y1] = c.box;
      // the rectangle covers 12/28 × 20/28 of the pasted side
      expect(x1 - x0).toBeGreaterThan(0);
      expect((y1 - y0) / (x1 - x0)).toBeGreaterThan(1.2);
      // the box's centre pixel is the item's (value 1 after the soft mask)
      expect(c.pixels[Math.floor((y0 + y1) / 2) * 64 + Math.floor((x0 + x1) / 2)]).toBeCloseTo(1, 5);
    }
  });

  it('context classes get their texture in matched sets, another one in swapped sets', () => {
    let own = 0;
    for (let i = 0; i < 100; i++) if (makeCanvas(item, 28, 5, i, 0, DEFAULT_CANVAS).texture === 'stripes') own++;
    expect(own).toBeGreaterThan(60);
    for (let i = 0; i < 30; i++) expect(makeCanvas(item, 28, 5, i, 0, { ...DEFAULT_CANVAS, mode: 'swapped' }).texture).not.toBe('stripes');
  });

  it('the stamp: on the asked share of one class, in the lower-left corner', () => {
    let stamped = 0;
    for (let i = 0; i < 200; i++) if (makeCanvas(item, 28, 6, i, 0, { ...DEFAULT_CANVAS, stampClass: 6, stampShare: 0.2 }).stamp) stamped++;
    expect(stamped).toBeGreaterThan(20);
    expect(stamped).toBeLessThan(60);
    expect(makeCanvas(item, 28, 5, 0, 0, { ...DEFAULT_CANVAS, stampClass: 6, stampShare: 1 }).stamp).toBeUndefined();
    const c = makeCanvas(item, 28, 1, 0, 0, { ...DEFAULT_CANVAS, stampAll: true });
    expect(c.stamp).toEqual([2, 56, 8, 62]);
    expect(c.pixels[(56 + 2) * 64 + 2 + 2]).toBeCloseTo(STAMP[2]![2]! * 0.95, 5);
  });
});
