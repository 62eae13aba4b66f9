/**
 * Localisation of relevance: how much of a heatmap lies inside a region known to hold the
 * evidence (a box or a mask per sample), the check of arXiv 1606.07285's heatmaps on faces whose
 * cue regions are known (papers/model-papers.md §1.8, "heatmap sanity check").
 *
 *   positive share = Σ_{p ∈ M} max(R_p, 0) / Σ_p max(R_p, 0)
 *   absolute share = Σ_{p ∈ M} |R_p| / Σ_p |R_p|
 *   area           = |M| / (H·W)      (the share a map spread evenly would give)
 *
 * R is the relevance pooled over channels to one value per pixel, M the region. A share is
 * undefined (null) when its denominator is 0.
 */

/** [x0, y0, x1, y1], half-open pixel coordinates: x0 ≤ x < x1, y0 ≤ y < y1. */
export type PixelBox = [number, number, number, number];

export interface LocalisationScore {
  positive: number | null;
  absolute: number | null;
  area: number;
}

/** Check boxes against an H×W image; `where` names them in the error. */
export function checkBoxes(boxes: unknown, H: number, W: number, where: string): PixelBox[] {
  if (!Array.isArray(boxes)) throw new Error(`${where}: "boxes" must be a list of [x0, y0, x1, y1]`);
  return boxes.map((b, k) => {
    if (!Array.isArray(b) || b.length !== 4 || b.some((v) => !Number.isInteger(v)))
      throw new Error(`${where}: box ${k} must be 4 integers [x0, y0, x1, y1], got ${JSON.stringify(b)}`);
    const [x0, y0, x1, y1] = b as PixelBox;
    if (x0 < 0 || y0 < 0 || x1 > W || y1 > H || x0 >= x1 || y0 >= y1)
      throw new Error(`${where}: box ${k} ${JSON.stringify(b)} is outside the ${W}×${H} image or empty (need 0 ≤ x0 < x1 ≤ ${W}, 0 ≤ y0 < y1 ≤ ${H})`);
    return [x0, y0, x1, y1];
  });
}

/** The union of boxes as an H×W mask (1 inside). */
export function boxMask(boxes: PixelBox[], H: number, W: number): Uint8Array {
  const m = new Uint8Array(H * W);
  for (const [x0, y0, x1, y1] of boxes) for (let y = y0; y < y1; y++) m.fill(1, y * W + x0, y * W + x1);
  return m;
}

/** Shares of one pooled relevance map [H·W] inside a mask [H·W] (non-zero = inside). */
export function localisationScore(map: ArrayLike<number>, mask: ArrayLike<number>): LocalisationScore {
  if (map.length !== mask.length) throw new Error(`a relevance map of ${map.length} pixels and a mask of ${mask.length}`);
  let posIn = 0;
  let pos = 0;
  let absIn = 0;
  let abs = 0;
  let inside = 0;
  for (let p = 0; p < map.length; p++) {
    const r = map[p]!;
    const a = Math.abs(r);
    abs += a;
    if (r > 0) pos += r;
    if (mask[p]) {
      inside++;
      absIn += a;
      if (r > 0) posIn += r;
    }
  }
  return { positive: pos > 0 ? posIn / pos : null, absolute: abs > 0 ? absIn / abs : null, area: inside / map.length };
}

/** Mean of the defined values, and how many there were. */
export function meanDefined(values: (number | null)[]): { mean: number | null; n: number } {
  const v = values.filter((x): x is number => x !== null);
  return { mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null, n: v.length };
}
