/**
 * A 5×7 bitmap font (plus a descender row for g, j, p, q, y) for the labels of heatmap figures (colour-bar values, titles, class names).
 * Drawn in code so that figures look the same everywhere: no system fonts, no native renderer,
 * and it runs in browsers too. Characters without a glyph are drawn as '?'.
 */

const G = 8; // glyph rows: 7 above the baseline, 1 for descenders
export const GLYPH_W = 5;
export const GLYPH_H = G;

// Each glyph: 8 rows of 5 columns, '#' = ink.
const GLYPHS: Record<string, string> = {
  ' ': '                                        ',
  '0': ' ### #   ##  ### # ###  ##   # ###      ',
  '1': '  #   ##    #    #    #    #   ###      ',
  '2': ' ### #   #    #   #   #   #   #####     ',
  '3': '#####   #   #     #     ##   # ###      ',
  '4': '   #   ##  # # #  # #####   #    #      ',
  '5': '######    ####     #    ##   # ###      ',
  '6': '  ##  #   #    #### #   ##   # ###      ',
  '7': '#####    #   #   #   #    #    #        ',
  '8': ' ### #   ##   # ### #   ##   # ###      ',
  '9': ' ### #   ##   # ####    #   #  ##       ',
  A: ' ### #   ##   #######   ##   ##   #     ',
  B: '#### #   ##   ##### #   ##   #####      ',
  C: ' ### #   ##    #    #    #   # ###      ',
  D: '#### #   ##   ##   ##   ##   #####      ',
  E: '######    #    #### #    #    #####     ',
  F: '######    #    #### #    #    #         ',
  G: ' ### #   ##    # ####   ##   # ####     ',
  H: '#   ##   ##   #######   ##   ##   #     ',
  I: ' ###   #    #    #    #    #   ###      ',
  J: '  ###   #    #    #    # #  #  ##       ',
  K: '#   ##  # # #  ##   # #  #  # #   #     ',
  L: '#    #    #    #    #    #    #####     ',
  M: '#   ### ### # ## # ##   ##   ##   #     ',
  N: '#   ##   ###  ## # ##  ###   ##   #     ',
  O: ' ### #   ##   ##   ##   ##   # ###      ',
  P: '#### #   ##   ##### #    #    #         ',
  Q: ' ### #   ##   ##   ## # ##  #  ## #     ',
  R: '#### #   ##   ##### # #  #  # #   #     ',
  S: ' #####    #     ###     #    #####      ',
  T: '#####  #    #    #    #    #    #       ',
  U: '#   ##   ##   ##   ##   ##   # ###      ',
  V: '#   ##   ##   ##   ##   # # #   #       ',
  W: '#   ##   ##   ## # ## # ## # # # #      ',
  X: '#   ##   # # #   #   # # #   ##   #     ',
  Y: '#   ##   # # #   #    #    #    #       ',
  Z: '#####    #   #   #   #   #    #####     ',
  a: '           ###     # #####   # ####     ',
  b: '#    #    # ## ##  ##   ##   #####      ',
  c: '           ### #    #    #   # ###      ',
  d: '    #    # ## ##  ###   ##   # ####     ',
  e: '           ### #   #######     ###      ',
  f: '  ##  #  # #   ###   #    #    #        ',
  g: '           #####   ##   # ####    # ### ',
  h: '#    #    # ## ##  ##   ##   ##   #     ',
  i: '  #        ##    #    #    #   ###      ',
  j: '   #        ##    #    #    # #  #  ##  ',
  k: '#    #    #  # # #  ##   # #  #  #      ',
  l: ' ##    #    #    #    #    #   ###      ',
  m: '          ## # # # ## # ##   ##   #     ',
  n: '          # ## ##  ##   ##   ##   #     ',
  o: '           ### #   ##   ##   # ###      ',
  p: '          #### #   ##   ##### #    #    ',
  q: '           #####   ##   # ####    #    #',
  r: '          # ## ##  ##    #    #         ',
  s: '           ### #     ###     #####      ',
  t: ' #    #   ###   #    #    #  #  ##      ',
  u: '          #   ##   ##   ##  ## ## #     ',
  v: '          #   ##   ##   # # #   #       ',
  w: '          #   ##   ## # ## # # # #      ',
  x: '          #   # # #   #   # # #   #     ',
  y: '          #   ##   ##   # ####    # ### ',
  z: '          #####   #   #   #   #####     ',
  '.': '                          ##   ##       ',
  ',': '                     ##    #   #        ',
  '-': '                ###                     ',
  '+': '       #    #  #####  #    #            ',
  ':': '      ##   ##        ##   ##            ',
  '/': '         #   #   #   #   #              ',
  '(': '   #   #   #    #    #     #     #      ',
  ')': ' #     #     #    #    #   #   #        ',
  '=': '          #####     #####               ',
  '<': '   #   #   #   #     #     #     #      ',
  '>': ' #     #     #     #   #   #   #        ',
  '|': '  #    #    #    #    #    #    #       ',
  '%': '##   ##  #   #   #   #   #  ##   ##     ',
  "'": ' ##    #   #                            ',
  _: '                              #####     ',
  '#': ' # #  # # ##### # # ##### # #  # #      ',
  '?': ' ### #   #    #   #   #         #       ',
  '!': '  #    #    #    #    #         #       ',
  '[': ' ###  #    #    #    #    #    ###      ',
  ']': ' ###    #    #    #    #    #  ###      ',
  '*': '       #  # # # ### # # #  #            ',
  '×': '     #   # # #   #   # # #   #          ',
  '±': '  #    #  #####  #    #       #####     ',
  '≥': ' #     #     #   #   #        #####     ',
  Σ: '######     #     #   #   #    #####     ',
};
// Unicode minus as the ASCII hyphen.
GLYPHS['−'] = GLYPHS['-']!;

function glyph(ch: string): string {
  const g = GLYPHS[ch] ?? GLYPHS['?']!;
  return g.padEnd(GLYPH_W * G, ' ');
}

/** Width in pixels of `text` at `scale` (one blank column between characters). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * (GLYPH_W + 1) - 1) * scale;
}

/** Cut `text` so that it fits in `maxWidth` pixels, marking the cut with '..'. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  if (textWidth(text, scale) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidth(`${chars.join('')}..`, scale) > maxWidth) chars.pop();
  return chars.length > 0 ? `${chars.join('')}..` : '';
}

/**
 * Draw `text` into an RGBA image (`width` pixels per row) with its top-left corner at (x, y), each
 * font pixel as a scale×scale block; pixels outside the image are skipped.
 */
export function drawText(
  rgba: Uint8Array,
  width: number,
  x: number,
  y: number,
  text: string,
  scale = 1,
  color: readonly [number, number, number] = [0, 0, 0],
): void {
  const height = rgba.length / (4 * width);
  let cx = x;
  for (const ch of text) {
    const g = glyph(ch);
    for (let r = 0; r < G; r++)
      for (let c = 0; c < GLYPH_W; c++) {
        if (g[r * GLYPH_W + c] !== '#') continue;
        for (let dy = 0; dy < scale; dy++)
          for (let dx = 0; dx < scale; dx++) {
            const px = cx + c * scale + dx;
            const py = y + r * scale + dy;
            if (px < 0 || py < 0 || px >= width || py >= height) continue;
            rgba.set([color[0], color[1], color[2], 255], 4 * (py * width + px));
          }
      }
    cx += (GLYPH_W + 1) * scale;
  }
}
