/**
 * Procedural grey faces whose labels and the places of their evidence are known (issue 17; the
 * offline stand-in for Adience, 10k US Adult Faces and KDEF of arXiv 1606.07285, see
 * papers/model-papers.md §1.8). No external assets: every face is drawn from seeded latent
 * variables with anti-aliased primitives (coverage = clamp(½ − signed distance in pixels, 0, 1)).
 *
 * Coordinates are fractions of the image side (x right, y down), so every size draws the same face.
 * An image is an *identity* (face shape, skin, hair, background, nose, glasses, age group,
 * gender-like label) in an *expression* (mouth curvature, eye opening, brow raise, local mark):
 *
 *   age group a ∈ 0..7 (the paper's 0–2 … 60+). Cues: forehead wrinkles (depth w = clamp((a − 2)/5
 *     + N(0, 0.1²), 0, 1), up to 3 lines), hair greyness (rising from a = 4), and proportions
 *     (a ≤ 2: smaller head, larger eyes set lower).
 *   gender-like g ∈ {0, 1}. Cues, each drawn with probability 0.8 towards g (so no single cue decides):
 *     long hair down both sides of the face (g = 0), a square jaw (superellipse exponent 3.2 vs 2),
 *     thick brows (g = 1).
 *
 * Continuous attributes (a 1–9 scale like the 10k US Adult Faces ratings), each a noisy function of
 * cues inside one known box (see `cueBoxes`):
 *   happiness = 5 + 3·c + N(0, 0.4²)                         c: mouth curvature ∈ [−1, 1]   (box "mouth")
 *   surprise  = 5 + 2·(o − 0.65)/0.35 + 1.5·r + N(0, 0.4²)   o: eye opening ∈ [0.3, 1], r: brow raise ∈ [−1, 1]   (box "eyes")
 *   blemish   = 1.5 + 6·m + N(0, 0.3²)                       m: darkness of a cheek mark, 0 without (box "mark", absent without)
 *   maturity  = 2 + 5·w + N(0, 0.4²)                         w: wrinkle depth (from the age group)   (box "forehead")
 * all clipped to [1, 9]. Nuisances: background tone, a left–right lighting ramp, pixel noise N(0, 0.02²).
 */
import { gaussian, rngFor } from '../math/rng.js';

export const AGE_GROUPS = ['0-2', '4-6', '8-13', '15-20', '25-32', '38-43', '48-53', '60+'];
export const ATTRIBUTES = ['happiness', 'surprise', 'blemish', 'maturity'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];
/** The cue box each attribute's evidence lies in. */
export const ATTRIBUTE_CUE: Record<Attribute, CueName> = { happiness: 'mouth', surprise: 'eyes', blemish: 'mark', maturity: 'forehead' };
export type CueName = 'mouth' | 'eyes' | 'mark' | 'forehead';

export interface Identity {
  age: number;
  gender: number;
  cx: number;
  cy: number;
  /** Head half-width and half-height. */
  rx: number;
  ry: number;
  /** Lower-face superellipse exponent (2 round, >2 square jaw). */
  jaw: number;
  skin: number;
  hair: number;
  longHair: boolean;
  background: number;
  browThickness: number;
  eyeY: number;
  eyeDx: number;
  eyeSize: number;
  noseLength: number;
  mouthY: number;
  mouthHalfWidth: number;
  glasses: boolean;
  wrinkles: number;
  wrinkleLines: number;
}

export interface Expression {
  /** Mouth curvature: +1 corners up (smile), −1 corners down. */
  curvature: number;
  /** Eye opening, fraction of the full eye height. */
  opening: number;
  /** Brow raise: +1 high, −1 low. */
  browRaise: number;
  /** Cheek mark: centre, radius and darkness (0: none). */
  mark: { x: number; y: number; r: number; darkness: number } | null;
  /** Lighting ramp across the image (added tone at the right edge, minus at the left). */
  light: number;
}

/** [x0, y0, x1, y1] in pixels, half-open: pixels x0 ≤ x < x1, y0 ≤ y < y1. */
export type Box = [number, number, number, number];

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const uniform = (rng: () => number, lo: number, hi: number) => lo + (hi - lo) * rng();

/** The latent identity `id` of generator `seed` (age and gender-like label given, or drawn). */
export function makeIdentity(seed: number, id: number, fixed: { age?: number; gender?: number } = {}): Identity {
  const rng = rngFor('faces-identity', seed, id);
  const age = fixed.age ?? Math.floor(rng() * 8);
  const gender = fixed.gender ?? (rng() < 0.5 ? 0 : 1);
  const towards = (p: boolean) => (rng() < 0.8 ? p : !p);
  const child = age <= 2;
  const scale = child ? 0.86 + 0.04 * age : 1;
  const grey = clamp((age - 3) / 4, 0, 1) * uniform(rng, 0.7, 1);
  const darkHair = uniform(rng, 0.08, 0.35);
  const wrinkles = clamp((age - 2) / 5 + 0.1 * gaussian(rng), 0, 1);
  return {
    age,
    gender,
    cx: 0.5 + uniform(rng, -0.02, 0.02),
    cy: 0.53 + uniform(rng, -0.015, 0.015),
    rx: scale * uniform(rng, 0.27, 0.31),
    ry: scale * uniform(rng, 0.35, 0.39),
    jaw: towards(gender === 1) ? uniform(rng, 3, 3.5) : uniform(rng, 1.8, 2.2),
    skin: uniform(rng, 0.45, 0.8),
    hair: darkHair + grey * (0.85 - darkHair),
    longHair: towards(gender === 0),
    background: uniform(rng, 0.05, 0.95),
    browThickness: towards(gender === 1) ? uniform(rng, 0.03, 0.04) : uniform(rng, 0.014, 0.02),
    eyeY: child ? 0.5 : 0.45 + uniform(rng, -0.01, 0.01),
    eyeDx: uniform(rng, 0.11, 0.13),
    eyeSize: child ? 0.065 : uniform(rng, 0.048, 0.055),
    noseLength: uniform(rng, 0.05, 0.09),
    mouthY: 0.74 + uniform(rng, -0.01, 0.01),
    mouthHalfWidth: uniform(rng, 0.08, 0.11),
    glasses: rng() < 0.3,
    wrinkles,
    wrinkleLines: 1 + Math.floor(rng() * 3),
  };
}

/** A random expression (mark with probability `markShare`), keyed like makeIdentity. */
export function makeExpression(seed: number, key: number | string, markShare = 0.4): Expression {
  const rng = rngFor('faces-expression', seed, key);
  const curvature = uniform(rng, -1, 1);
  const opening = uniform(rng, 0.3, 1);
  const browRaise = uniform(rng, -1, 1);
  const side = rng() < 0.5 ? -1 : 1;
  const mark =
    rng() < markShare
      ? { x: 0.5 + side * uniform(rng, 0.17, 0.2), y: uniform(rng, 0.6, 0.62), r: uniform(rng, 0.03, 0.045), darkness: uniform(rng, 0.3, 1) }
      : null;
  return { curvature, opening, browRaise, mark, light: uniform(rng, -0.06, 0.06) };
}

/** KDEF's seven expressions as (curvature, opening, brow raise). */
export const KDEF_EXPRESSIONS: Record<string, [number, number, number]> = {
  neutral: [0, 0.65, 0],
  happy: [1, 0.6, 0.2],
  sad: [-0.8, 0.5, -0.3],
  surprised: [0.1, 1, 1],
  angry: [-0.4, 0.55, -1],
  afraid: [-0.3, 0.95, 0.6],
  disgusted: [-0.6, 0.35, -0.7],
};

/**
 * The boxes the cues are drawn in, in pixels of an S×S image. They depend on the identity only (the
 * mark's on the expression), so every expression of a face has the same mouth, eyes and forehead
 * boxes, and each bounds every pixel its cue can change (the anti-aliasing fringe included).
 */
export function cueBoxes(id: Identity, ex: Expression, S: number): Partial<Record<CueName, Box>> {
  const box = (x0: number, y0: number, x1: number, y1: number): Box => [
    clamp(Math.floor(x0 * S - 1), 0, S),
    clamp(Math.floor(y0 * S - 1), 0, S),
    clamp(Math.ceil(x1 * S + 1), 0, S),
    clamp(Math.ceil(y1 * S + 1), 0, S),
  ];
  const m = mouthGeometry(id);
  const eyeHalf = id.eyeSize + 0.005;
  const browTop = id.eyeY - 0.075 - 0.025 - 0.004 - id.browThickness / 2;
  const out: Partial<Record<CueName, Box>> = {
    mouth: box(id.cx - m.w - m.t, id.mouthY - m.bend - m.t, id.cx + m.w + m.t, id.mouthY + m.bend + m.t),
    eyes: box(id.cx - id.eyeDx - eyeHalf - 0.03, browTop, id.cx + id.eyeDx + eyeHalf + 0.03, id.eyeY + 0.6 * id.eyeSize + 0.005),
    forehead: box(id.cx - 0.15, foreheadTop(id) - 0.01, id.cx + 0.15, foreheadTop(id) + 0.1 + 0.01),
  };
  if (ex.mark && ex.mark.darkness > 0) out.mark = box(ex.mark.x - ex.mark.r, ex.mark.y - ex.mark.r, ex.mark.x + ex.mark.r, ex.mark.y + ex.mark.r);
  return out;
}

const foreheadTop = (id: Identity) => id.eyeY - 0.21;

function mouthGeometry(id: Identity) {
  return { w: id.mouthHalfWidth, bend: 0.03, t: 0.014 };
}

/** The attribute ratings of a face (noise keyed by `key`). */
export function attributes(id: Identity, ex: Expression, seed: number, key: number | string): Record<Attribute, number> {
  const rng = rngFor('faces-ratings', seed, key);
  const noisy = (v: number, sd: number) => clamp(v + sd * gaussian(rng), 1, 9);
  return {
    happiness: noisy(5 + 3 * ex.curvature, 0.4),
    surprise: noisy(5 + (2 * (ex.opening - 0.65)) / 0.35 + 1.5 * ex.browRaise, 0.4),
    blemish: noisy(1.5 + 6 * (ex.mark?.darkness ?? 0), 0.3),
    maturity: noisy(2 + 5 * id.wrinkles, 0.4),
  };
}

/** A canvas with anti-aliased painting: each primitive blends its tone by its pixel coverage. */
class Canvas {
  readonly px: Float32Array;
  constructor(readonly S: number) {
    this.px = new Float32Array(S * S);
  }
  /** Blend `tone` where the signed distance (in image fractions, < 0 inside) says, within a bounding box. */
  paint(x0: number, y0: number, x1: number, y1: number, tone: number, sd: (x: number, y: number) => number, strength = 1) {
    const S = this.S;
    const i0 = clamp(Math.floor(x0 * S) - 1, 0, S);
    const i1 = clamp(Math.ceil(x1 * S) + 1, 0, S);
    const j0 = clamp(Math.floor(y0 * S) - 1, 0, S);
    const j1 = clamp(Math.ceil(y1 * S) + 1, 0, S);
    for (let j = j0; j < j1; j++)
      for (let i = i0; i < i1; i++) {
        const a = strength * clamp(0.5 - sd((i + 0.5) / S, (j + 0.5) / S) * S, 0, 1);
        if (a > 0) this.px[j * S + i] = this.px[j * S + i]! * (1 - a) + tone * a;
      }
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, tone: number, strength = 1) {
    this.paint(cx - rx, cy - ry, cx + rx, cy + ry, tone, (x, y) => ellipseDistance(x - cx, y - cy, rx, ry), strength);
  }
  /** A stroke of half-thickness t along the polyline `pts`. */
  stroke(pts: [number, number][], t: number, tone: number, strength = 1) {
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    this.paint(Math.min(...xs) - t, Math.min(...ys) - t, Math.max(...xs) + t, Math.max(...ys) + t, tone, (x, y) => polylineDistance(pts, x, y) - t, strength);
  }
}

/** Approximate signed distance to an ellipse boundary (exact for circles). */
function ellipseDistance(dx: number, dy: number, rx: number, ry: number): number {
  const k = Math.hypot(dx / rx, dy / ry);
  return (k - 1) * Math.min(rx, ry);
}

function polylineDistance(pts: [number, number][], x: number, y: number): number {
  let best = Infinity;
  for (let k = 0; k + 1 < pts.length; k++) {
    const [ax, ay] = pts[k]!;
    const [bx, by] = pts[k + 1]!;
    const vx = bx - ax;
    const vy = by - ay;
    const t = clamp(((x - ax) * vx + (y - ay) * vy) / (vx * vx + vy * vy || 1), 0, 1);
    best = Math.min(best, Math.hypot(x - ax - t * vx, y - ay - t * vy));
  }
  return best;
}

/** Head: the upper half an ellipse, the lower half a superellipse of exponent `jaw`. */
function headDistance(id: Identity, x: number, y: number): number {
  const dx = (x - id.cx) / id.rx;
  const dy = (y - id.cy) / id.ry;
  const p = dy > 0 ? id.jaw : 2;
  const k = (Math.abs(dx) ** p + Math.abs(dy) ** p) ** (1 / p);
  return (k - 1) * Math.min(id.rx, id.ry);
}

/** Draw one face: pixels in [0, 1], row-major S×S. `noiseKey` keys the pixel noise. */
export function renderFace(id: Identity, ex: Expression, S: number, seed: number, noiseKey: number | string): Float32Array {
  const c = new Canvas(S);
  c.px.fill(id.background);
  // Hair behind the head: a larger dome, and with long hair two bands down the sides.
  c.ellipse(id.cx, id.cy - 0.04, id.rx + 0.045, id.ry + 0.02, id.hair);
  if (id.longHair) {
    for (const s of [-1, 1]) {
      const x = id.cx + s * (id.rx + 0.005);
      c.stroke(
        [
          [x, id.cy - 0.1],
          [x + s * 0.01, 0.98],
        ],
        0.04,
        id.hair,
      );
    }
  }
  c.paint(id.cx - id.rx, id.cy - id.ry, id.cx + id.rx, id.cy + id.ry, id.skin, (x, y) => headDistance(id, x, y));
  // Fringe: hair over the top of the head, above the forehead box.
  const fTop = foreheadTop(id);
  c.paint(id.cx - id.rx, id.cy - id.ry, id.cx + id.rx, fTop - 0.015, id.hair, (x, y) => Math.max(headDistance(id, x, y), y - (fTop - 0.025)));
  // Wrinkles: horizontal lines across the forehead, darker with depth.
  for (let k = 0; k < id.wrinkleLines && id.wrinkles > 0.02; k++) {
    const y = fTop + 0.03 + 0.025 * k;
    c.stroke(
      [
        [id.cx - 0.12, y + 0.006],
        [id.cx, y],
        [id.cx + 0.12, y + 0.006],
      ],
      0.007,
      id.skin * 0.45,
      id.wrinkles,
    );
  }
  // Eyes: a white of height ∝ opening, an iris inside it; brows above, raised by browRaise.
  const browTone = Math.min(id.hair, 0.3 + 0.5 * (id.hair - 0.3));
  for (const s of [-1, 1]) {
    const ex0 = id.cx + s * id.eyeDx;
    const h = Math.max(0.004, 0.55 * id.eyeSize * ex.opening);
    c.ellipse(ex0, id.eyeY, id.eyeSize, h, 0.95);
    c.paint(ex0 - 0.03, id.eyeY - h, ex0 + 0.03, id.eyeY + h, 0.08, (x, y) =>
      Math.max(Math.hypot(x - ex0, y - id.eyeY) - 0.6 * id.eyeSize, ellipseDistance(x - ex0, y - id.eyeY, id.eyeSize, h)),
    );
    const by = id.eyeY - 0.075 - 0.025 * ex.browRaise;
    c.stroke(
      [
        [ex0 - s * 0.05, by + 0.005],
        [ex0 + s * 0.045, by - 0.004],
      ],
      id.browThickness / 2,
      browTone,
    );
    if (id.glasses) {
      const r = id.eyeSize + 0.02;
      c.paint(ex0 - r - 0.01, id.eyeY - r - 0.01, ex0 + r + 0.01, id.eyeY + r + 0.01, 0.1, (x, y) => Math.abs(Math.hypot(x - ex0, y - id.eyeY) - r) - 0.006);
    }
  }
  if (id.glasses)
    c.stroke(
      [
        [id.cx - id.eyeDx + id.eyeSize + 0.02, id.eyeY],
        [id.cx + id.eyeDx - id.eyeSize - 0.02, id.eyeY],
      ],
      0.006,
      0.1,
    );
  // Nose: a short shaded line down the middle.
  c.stroke(
    [
      [id.cx, id.eyeY + 0.07],
      [id.cx + 0.01, id.eyeY + 0.07 + id.noseLength],
      [id.cx - 0.015, id.eyeY + 0.08 + id.noseLength],
    ],
    0.008,
    id.skin * 0.65,
  );
  // Mouth: a parabola through the corners; corners up by curvature·bend, the middle down as much.
  const m = mouthGeometry(id);
  const pts: [number, number][] = [];
  for (let k = 0; k <= 8; k++) {
    const t = -1 + k / 4;
    pts.push([id.cx + t * m.w, id.mouthY + ex.curvature * m.bend * (1 - 2 * t * t) * 0.5]);
  }
  c.stroke(pts, m.t - 0.002, 0.12);
  // The local mark: a dark disc on a cheek.
  if (ex.mark && ex.mark.darkness > 0) c.ellipse(ex.mark.x, ex.mark.y, ex.mark.r, ex.mark.r, 0.05, ex.mark.darkness);
  // Lighting ramp and sensor noise.
  const rng = rngFor('faces-noise', seed, noiseKey);
  for (let j = 0; j < S; j++)
    for (let i = 0; i < S; i++) {
      const k = j * S + i;
      c.px[k] = clamp(c.px[k]! + ex.light * (2 * ((i + 0.5) / S) - 1) + 0.02 * gaussian(rng), 0, 1);
    }
  return c.px;
}

export interface FaceRecord {
  index: number;
  identity: number;
  expression: string;
  age: number;
  gender: number;
  attributes: Record<Attribute, number>;
  boxes: Partial<Record<CueName, Box>>;
  latent: { curvature: number; opening: number; browRaise: number; mark: number; wrinkles: number; longHair: boolean; jaw: number; glasses: boolean };
}

export interface FaceSet {
  size: number;
  /** [N·S·S] pixels in [0, 1]. */
  pixels: Float32Array;
  records: FaceRecord[];
}

function record(index: number, identity: number, expression: string, id: Identity, ex: Expression, S: number, seed: number, key: string): FaceRecord {
  return {
    index,
    identity,
    expression,
    age: id.age,
    gender: id.gender,
    attributes: attributes(id, ex, seed, key),
    boxes: cueBoxes(id, ex, S),
    latent: {
      curvature: ex.curvature,
      opening: ex.opening,
      browRaise: ex.browRaise,
      mark: ex.mark?.darkness ?? 0,
      wrinkles: id.wrinkles,
      longHair: id.longHair,
      jaw: id.jaw,
      glasses: id.glasses,
    },
  };
}

/**
 * `count` faces, one identity each, with random expressions. `kind` keys the streams, so the base
 * set ("base") and the attribute set ("attributes") of one seed share no identity.
 */
export function generateFaces(kind: string, count: number, S: number, seed: number): FaceSet {
  const pixels = new Float32Array(count * S * S);
  const records: FaceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const idKey = `${kind}:${i}`;
    const id = makeIdentity(seed, hashId(idKey));
    const ex = makeExpression(seed, idKey);
    pixels.set(renderFace(id, ex, S, seed, idKey), i * S * S);
    records.push(record(i, i, 'random', id, ex, S, seed, idKey));
  }
  return { size: S, pixels, records };
}

/**
 * The KDEF-like set: `identities` faces, each in the seven KDEF expressions (same identity, same
 * mark and lighting, same noise), so that only the expression cues change between an identity's images.
 */
export function generateKdef(identities: number, S: number, seed: number): FaceSet {
  const names = Object.keys(KDEF_EXPRESSIONS);
  const pixels = new Float32Array(identities * names.length * S * S);
  const records: FaceRecord[] = [];
  for (let p = 0; p < identities; p++) {
    const idKey = `kdef:${p}`;
    const id = makeIdentity(seed, hashId(idKey));
    const base = makeExpression(seed, idKey);
    for (const name of names) {
      const [curvature, opening, browRaise] = KDEF_EXPRESSIONS[name]!;
      const ex: Expression = { ...base, curvature, opening, browRaise };
      const n = records.length;
      pixels.set(renderFace(id, ex, S, seed, idKey), n * S * S);
      records.push(record(n, p, name, id, ex, S, seed, `${idKey}:${name}`));
    }
  }
  return { size: S, pixels, records };
}

const hashId = (key: string) => {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (Math.imul(h, 31) + key.charCodeAt(i)) | 0;
  return h;
};
