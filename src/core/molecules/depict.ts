/**
 * Pictures of per-atom relevance: the molecule drawn flat, atoms coloured by relevance, as SVG (and
 * an HTML page around it). Browser-safe; Node rasterises the SVG to PNG.
 *
 * Layout: the plane of the two largest principal axes of the coordinates (PCA of the centred
 * positions), each axis oriented so the projections have non-negative third moment (a fixed,
 * rotation- and translation-independent choice), tilted where that separates atoms a flat
 * projection would stack (layout2d); atoms farther away are drawn first. Bonds: atoms i, j closer than r_i + r_j + 0.4 Å, r the single-bond covalent radii of
 * Cordero et al. (Dalton Trans. 2008) — the distance rule of common chemistry toolkits.
 * Colours: relprop's heatmap convention (DESIGN §3): bwr, zero white, normalised by the largest
 * |relevance| of the molecule.
 */
import { symmetricEigen } from '../math/linalg.js';
import { colorize } from '../visualize/colormap.js';
import { escapeHtml, formatNumber, htmlPage } from '../visualize/html.js';
import { elementSymbol, type Molecule } from './molecule.js';
import type { AtomRelevance } from './relevance.js';

/** Covalent radii in Å (Cordero et al. 2008); 0.75 for elements not listed. */
const COVALENT: Record<number, number> = {
  1: 0.31,
  2: 0.28,
  3: 1.28,
  4: 0.96,
  5: 0.84,
  6: 0.76,
  7: 0.71,
  8: 0.66,
  9: 0.57,
  10: 0.58,
  15: 1.07,
  16: 1.05,
  17: 1.02,
  35: 1.2,
  53: 1.39,
};
const radius = (z: number) => COVALENT[z] ?? 0.75;

/** Pairs [i, j], i < j, bonded by the distance rule. */
export function bondsByDistance(m: Molecule, tolerance = 0.4): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < m.Z.length; i++)
    for (let j = i + 1; j < m.Z.length; j++) {
      const [a, b] = [m.xyz[i]!, m.xyz[j]!];
      if (Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]) < radius(m.Z[i]!) + radius(m.Z[j]!) + tolerance) out.push([i, j]);
    }
  return out;
}

/** Coordinates on the principal axes (Å), [u, v, depth] per atom, oriented by third moments. */
export function principalProjection(m: Molecule): [number, number, number][] {
  const n = m.Z.length;
  const c = [0, 1, 2].map((k) => m.xyz.reduce((s, p) => s + p[k]!, 0) / n);
  const X = m.xyz.map((p) => [p[0] - c[0]!, p[1] - c[1]!, p[2] - c[2]!]);
  const cov = new Float64Array(9);
  for (const p of X) for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) cov[a * 3 + b] = cov[a * 3 + b]! + p[a]! * p[b]!;
  const { values, vectors } = symmetricEigen(cov, 3);
  const axes = [0, 1, 2].sort((a, b) => values[b]! - values[a]! || a - b);
  const proj = X.map((p) => axes.map((k) => p[0]! * vectors[k]! + p[1]! * vectors[3 + k]! + p[2]! * vectors[6 + k]!));
  for (let a = 0; a < 3; a++) {
    const m3 = proj.reduce((s, q) => s + q[a]! ** 3, 0);
    if (m3 < -1e-9) for (const q of proj) q[a] = -q[a]!;
  }
  return proj as [number, number, number][];
}

/** The smallest distance between two atoms in the drawing plane. */
function closestPair(P: [number, number, number][]): number {
  let d = Infinity;
  for (let i = 0; i < P.length; i++) for (let j = 0; j < i; j++) d = Math.min(d, Math.hypot(P[i]![0] - P[j]![0], P[i]![1] - P[j]![1]));
  return d;
}

/**
 * The drawing's coordinates: the principal-axis frame tilted about its first two axes by
 * whichever of 0°, 10°, …, 60° (each) keeps the closest pair of atoms farthest apart in the plane,
 * so that atoms a flat projection would stack (the hydrogens of a CH₃) stay visible. [x, y, depth].
 */
export function layout2d(m: Molecule): [number, number, number][] {
  const P = principalProjection(m);
  let best = P;
  let bestD = closestPair(P);
  for (let a = 0; a <= 60; a += 10)
    for (let b = 0; b <= 60; b += 10) {
      const [ca, sa, cb, sb] = [Math.cos((a * Math.PI) / 180), Math.sin((a * Math.PI) / 180), Math.cos((b * Math.PI) / 180), Math.sin((b * Math.PI) / 180)];
      // Rotate about the first axis (y, depth), then about the second (x, depth).
      const Q = P.map(([x, y, z]) => {
        const [y1, z1] = [ca * y - sa * z, sa * y + ca * z];
        return [cb * x + sb * z1, y1, -sb * x + cb * z1] as [number, number, number];
      });
      // A tilt must separate the closest pair clearly to replace the flat view.
      const d = closestPair(Q);
      if (d > bestD + 1e-6) [best, bestD] = [Q, d];
    }
  return best;
}

const rgb = (c: [number, number, number]) => `rgb(${c[0]},${c[1]},${c[2]})`;
const FONT = 'DejaVu Sans, Arial, sans-serif';

/** The molecule as SVG: atoms coloured by relevance and labelled with element and value; title, conservation line and colour bar. */
export function moleculeSvg(m: Molecule, r: AtomRelevance, o: { width?: number } = {}): string {
  const W = o.width ?? 560;
  const head = 72;
  const foot = 44;
  const pad = 34;
  const P = layout2d(m);
  const us = P.map((p) => p[0]);
  const vs = P.map((p) => p[1]);
  const [u0, u1, v0, v1] = [Math.min(...us), Math.max(...us), Math.min(...vs), Math.max(...vs)];
  const scale = Math.min(60, (W - 2 * pad) / Math.max(u1 - u0, 1e-6));
  const H0 = Math.max(160, (v1 - v0) * scale + 2 * pad);
  const H = head + H0 + foot;
  const x = (p: [number, number, number]) => W / 2 + (p[0] - (u0 + u1) / 2) * scale;
  const y = (p: [number, number, number]) => head + H0 / 2 - (p[1] - (v0 + v1) / 2) * scale;
  const max = Math.max(...r.atoms.map(Math.abs), 1e-30);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H.toFixed(0)}" viewBox="0 0 ${W} ${H.toFixed(0)}" font-family="${FONT}">`);
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  const text = (y: number, size: number, t: string, fill = 'black') =>
    parts.push(`<text x="${W / 2}" y="${y}" font-size="${size}" fill="${fill}" text-anchor="middle">${escapeHtml(t)}</text>`);
  // About 0.55 em per character: long names are cut to the width.
  const clip = (t: string, size: number) => {
    const n = Math.floor((W - 20) / (0.55 * size));
    return t.length > n ? `${t.slice(0, n - 1)}…` : t;
  };
  text(20, 14, clip(m.name, 14));
  text(40, 12, clip(`${r.property}: prediction ${formatNumber(r.prediction)} ${r.unit}`, 12));
  text(
    57,
    11,
    clip(
      `= training mean ${formatNumber(r.baseline)} + atoms ${formatNumber(r.relevance - r.padding)} + padding ${formatNumber(r.padding)} + absorbed ${formatNumber(r.absorbed)}`,
      11,
    ),
    '#333',
  );
  for (const [i, j] of bondsByDistance(m))
    parts.push(
      `<line x1="${x(P[i]!).toFixed(1)}" y1="${y(P[i]!).toFixed(1)}" x2="${x(P[j]!).toFixed(1)}" y2="${y(P[j]!).toFixed(1)}" stroke="#555" stroke-width="3"/>`,
    );
  const order = P.map((_, i) => i).sort((a, b) => P[a]![2] - P[b]![2] || a - b);
  for (const i of order) {
    const [cx, cy] = [x(P[i]!), y(P[i]!)];
    const rad = m.Z[i] === 1 ? 10 : 15;
    parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${rad}" fill="${rgb(colorize(r.atoms[i]! / max))}" stroke="black" stroke-width="1.2"/>`);
    parts.push(
      `<text x="${cx.toFixed(1)}" y="${(cy + 4).toFixed(1)}" font-size="${m.Z[i] === 1 ? 10 : 12}" text-anchor="middle">${elementSymbol(m.Z[i]!)}</text>`,
    );
    // The value sits outside the atom, on the side away from the molecule's centre.
    const [dx, dy] = [cx - W / 2, cy - (head + H0 / 2)];
    const len = Math.hypot(dx, dy) || 1;
    const [lx, ly] = [cx + (dx / len) * (rad + 14), cy + (dy / len) * (rad + 8) + 3];
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" font-size="9" fill="#333" text-anchor="middle">${escapeHtml(formatNumber(r.atoms[i]!))}</text>`,
    );
  }
  // Colour bar: −max … 0 … +max.
  const [bx, by, bw, bh] = [W / 2 - 120, head + H0 + 14, 240, 10];
  parts.push(
    '<defs><linearGradient id="bwr"><stop offset="0" stop-color="rgb(0,0,255)"/><stop offset="0.5" stop-color="white"/><stop offset="1" stop-color="rgb(255,0,0)"/></linearGradient></defs>',
  );
  parts.push(`<rect x="${bx}" y="${by.toFixed(1)}" width="${bw}" height="${bh}" fill="url(#bwr)" stroke="#333" stroke-width="0.5"/>`);
  const lab = (at: number, s: string, anchor: string) =>
    parts.push(`<text x="${at}" y="${(by + bh + 13).toFixed(1)}" font-size="10" text-anchor="${anchor}">${escapeHtml(s)}</text>`);
  lab(bx, formatNumber(-max), 'start');
  lab(bx + bw / 2, `0 ${r.unit}`, 'middle');
  lab(bx + bw, formatNumber(max), 'end');
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** A self-contained HTML page: per molecule its picture and a table of atoms with their relevance. */
export function relevanceHtml(items: { molecule: Molecule; relevance: AtomRelevance; svg: string }[], title: string): string {
  const body = items.map(({ molecule: m, relevance: r, svg }) => {
    const rows = Array.from(
      r.atoms,
      (v, i) =>
        `<tr><td>${i + 1}</td><td>${elementSymbol(m.Z[i]!)}</td><td>${m.xyz[i]!.map((c) => c.toFixed(3)).join(' ')}</td><td>${escapeHtml(formatNumber(v))}</td></tr>`,
    ).join('\n');
    return [
      `<section><h2>${escapeHtml(m.name)}</h2>`,
      svg,
      `<p>${escapeHtml(`${r.property}: prediction ${formatNumber(r.prediction)} ${r.unit}; training mean ${formatNumber(r.baseline)}; Σ atoms ${formatNumber(r.relevance - r.padding)}, padding ${formatNumber(r.padding)}, absorbed by biases and ε ${formatNumber(r.absorbed)}; ${r.realisations} random Coulomb matrices.`)}</p>`,
      `<table><thead><tr><th>atom</th><th>element</th><th>x y z (Å)</th><th>relevance (${escapeHtml(r.unit)})</th></tr></thead><tbody>\n${rows}\n</tbody></table></section>`,
    ].join('\n');
  });
  const css =
    'body{font-family:sans-serif;margin:1.5em}section{margin-bottom:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}';
  return htmlPage(title, `<h1>${escapeHtml(title)}</h1>\n${body.join('\n')}`, css);
}
