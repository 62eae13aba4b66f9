/**
 * The word tokenizer of relprop's text models. Its settings are saved in the vocabulary JSON
 * beside a model, so that explaining raw text later tokenizes exactly as training did.
 *
 * Rules (in this order):
 * - Words are runs of letters, digits, marks and `_`, joined across an inner apostrophe or dot
 *   (`don't`, `node.js`, `e.g`) and across a comma between digits (`1,000`); trailing `+`/`#`
 *   stay attached (`c++`, `gtk+`, `c#`). Hyphens and slashes split words (`8-bit` → `8`, `bit`).
 * - Each word is NFKC-normalised, curly apostrophes become `'`, and (by default) it is
 *   lower-cased; a possessive `'s` is removed (`henzel's` → `henzel`).
 * - A word made only of digits and digit separators (`42`, `3.14`, `1,000`) becomes the number
 *   token (default `<num>`), unless `numbers: 'keep'`. Words mixing letters and digits (`mp3`,
 *   `x86`, `2nd`) are kept.
 * - Any other non-space character is punctuation: dropped (default) or one token per character.
 *
 * Every token keeps the UTF-16 span of its source text, so explanations can be shown on the
 * text as written.
 */

export interface TokenizerSettings {
  /** Lower-case words (default true). */
  lowercase: boolean;
  /** Pure numbers become `numberToken` ('token', default) or are kept as written ('keep'). */
  numbers: 'token' | 'keep';
  numberToken: string;
  /** Punctuation characters: dropped (default) or kept as one token each. */
  punctuation: 'drop' | 'keep';
}

export const DEFAULT_TOKENIZER: TokenizerSettings = {
  lowercase: true,
  numbers: 'token',
  numberToken: '<num>',
  punctuation: 'drop',
};

export interface Token {
  /** The normalised token (what the vocabulary looks up). */
  text: string;
  /** The source text it came from, as written. */
  surface: string;
  /** UTF-16 offsets into the input string: text.slice(start, end) === surface. */
  start: number;
  end: number;
}

const WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}_]`;
const WORD = String.raw`${WORD_CHAR}+(?:(?:['’.]|,(?=\p{N}))${WORD_CHAR}+)*[+#]*`;
const TOKEN_RE = new RegExp(`(${WORD})|([^\\s\\p{L}\\p{N}\\p{M}_])`, 'gu');
const NUMBER_RE = /^\p{N}+(?:[.,'’]\p{N}+)*$/u;
const POSSESSIVE_RE = /^(.+)'s$/u;

/** Check and complete tokenizer settings read from a file. */
export function tokenizerSettings(s: Partial<TokenizerSettings> | undefined): TokenizerSettings {
  const out: TokenizerSettings = { ...DEFAULT_TOKENIZER, ...(s ?? {}) };
  if (typeof out.lowercase !== 'boolean') throw new Error(`tokenizer.lowercase must be true or false, got ${JSON.stringify(out.lowercase)}`);
  if (out.numbers !== 'token' && out.numbers !== 'keep') throw new Error(`tokenizer.numbers must be "token" or "keep", got ${JSON.stringify(out.numbers)}`);
  if (out.punctuation !== 'drop' && out.punctuation !== 'keep')
    throw new Error(`tokenizer.punctuation must be "drop" or "keep", got ${JSON.stringify(out.punctuation)}`);
  if (typeof out.numberToken !== 'string' || out.numberToken === '') throw new Error('tokenizer.numberToken must be a non-empty string');
  return out;
}

/** Split text into tokens with their source spans. */
export function tokenize(text: string, settings: TokenizerSettings = DEFAULT_TOKENIZER): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    const surface = m[0];
    const start = m.index;
    if (m[1] !== undefined) {
      let t = surface.normalize('NFKC').replace(/’/g, "'");
      if (settings.lowercase) t = t.toLowerCase();
      const poss = POSSESSIVE_RE.exec(t);
      if (poss) t = poss[1]!;
      if (settings.numbers === 'token' && NUMBER_RE.test(t)) t = settings.numberToken;
      out.push({ text: t, surface, start, end: start + surface.length });
    } else if (settings.punctuation === 'keep') {
      out.push({ text: surface.normalize('NFKC'), surface, start, end: start + surface.length });
    }
  }
  return out;
}
