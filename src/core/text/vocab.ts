/**
 * The vocabulary of a text model, saved beside it as `<model>.vocab.json`: the tokenizer
 * settings, the token list (the row order of the embedding table), the padding and unknown ids,
 * the length policy (fixed, or bucketed with truncation) and the class names. Everything needed
 * to turn raw text into the int64 ids [N, L] the model reads.
 */
import { tokenize, tokenizerSettings, DEFAULT_TOKENIZER, type Token, type TokenizerSettings } from './tokenizer.js';

export const VOCAB_FORMAT = 'relprop-text-vocab';

/**
 * How long the id rows are.
 * - fixed: every row has `length` ids.
 * - bucketed: a row has the smallest bucket length that holds its tokens plus `minPad` paddings.
 * In both, a text with more than `maxLength − minPad` tokens is truncated (its first tokens are
 * kept) and the truncation is reported. `minPad` trailing paddings make the prediction of a CNN
 * with max-over-time pooling independent of the bucket when `minPad` ≥ its filter width.
 */
export type LengthPolicy = { mode: 'fixed'; length: number; minPad: number } | { mode: 'bucketed'; buckets: number[]; minPad: number };

export const DEFAULT_BUCKETS = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512];

export interface VocabFile {
  format: typeof VOCAB_FORMAT;
  version: 1;
  tokenizer: TokenizerSettings;
  pad: string;
  unk: string;
  padId: number;
  unkId: number;
  /** Row i of the embedding table is tokens[i]. */
  tokens: string[];
  /** Training-set count of each token (0 for the special tokens), informative. */
  counts?: number[];
  minCount?: number;
  length: LengthPolicy;
  /** Class names by class index (optional). */
  labels?: string[];
  /** Where the vocabulary came from (informative). */
  source?: Record<string, unknown>;
}

export interface Encoded {
  /** Token ids, padded to `length`. */
  ids: number[];
  length: number;
  /** The tokens that were kept (ids[0..tokens.length)), with their spans. */
  tokens: Token[];
  /** How many tokens the text had before truncation. */
  totalTokens: number;
  truncated: boolean;
  /** How many kept tokens are unknown to the vocabulary. */
  unknown: number;
}

export interface BuildVocabOptions {
  minCount?: number;
  /** Keep at most this many tokens (most frequent first, ties alphabetical), specials included. */
  maxSize?: number;
  tokenizer?: Partial<TokenizerSettings>;
  length?: LengthPolicy;
  labels?: string[];
  source?: Record<string, unknown>;
}

function checkLength(p: LengthPolicy): LengthPolicy {
  const minPad = p.minPad ?? 0;
  if (!Number.isInteger(minPad) || minPad < 0) throw new Error(`length.minPad must be an integer ≥ 0, got ${JSON.stringify(p.minPad)}`);
  if (p.mode === 'fixed') {
    if (!Number.isInteger(p.length) || p.length <= minPad)
      throw new Error(`length.length must be an integer greater than minPad (${minPad}), got ${JSON.stringify(p.length)}`);
    return { mode: 'fixed', length: p.length, minPad };
  }
  if (p.mode === 'bucketed') {
    const b = p.buckets;
    if (!Array.isArray(b) || b.length === 0 || b.some((x, i) => !Number.isInteger(x) || x < 1 || (i > 0 && x <= b[i - 1]!))) {
      throw new Error(`length.buckets must be a non-empty increasing list of positive integers, got ${JSON.stringify(b)}`);
    }
    if (b[b.length - 1]! <= minPad) throw new Error(`the largest bucket (${b[b.length - 1]}) must exceed minPad (${minPad})`);
    return { mode: 'bucketed', buckets: [...b], minPad };
  }
  throw new Error(`length.mode must be "fixed" or "bucketed", got ${JSON.stringify((p as { mode: unknown }).mode)}`);
}

export class Vocabulary {
  readonly index = new Map<string, number>();
  readonly tokenizer: TokenizerSettings;
  readonly length: LengthPolicy;

  constructor(readonly file: VocabFile) {
    if (file.format !== VOCAB_FORMAT) throw new Error(`not a relprop vocabulary (format ${JSON.stringify(file.format)}, expected "${VOCAB_FORMAT}")`);
    if (file.version !== 1) throw new Error(`unsupported vocabulary version ${JSON.stringify(file.version)}`);
    if (!Array.isArray(file.tokens) || file.tokens.length < 2 || file.tokens.some((t) => typeof t !== 'string'))
      throw new Error('vocabulary tokens must be a list of at least two strings');
    file.tokens.forEach((t, i) => {
      if (this.index.has(t)) throw new Error(`vocabulary lists token ${JSON.stringify(t)} twice (ids ${this.index.get(t)} and ${i})`);
      this.index.set(t, i);
    });
    for (const k of ['padId', 'unkId'] as const) {
      const v = file[k];
      if (!Number.isInteger(v) || v < 0 || v >= file.tokens.length)
        throw new Error(`vocabulary ${k} ${JSON.stringify(v)} is outside [0, ${file.tokens.length})`);
    }
    if (file.padId === file.unkId) throw new Error('vocabulary padId and unkId must differ');
    if (file.labels !== undefined && (!Array.isArray(file.labels) || file.labels.some((l) => typeof l !== 'string')))
      throw new Error('vocabulary labels must be a list of strings');
    this.tokenizer = tokenizerSettings(file.tokenizer);
    this.length = checkLength(file.length);
  }

  get size(): number {
    return this.file.tokens.length;
  }
  get padId(): number {
    return this.file.padId;
  }
  get unkId(): number {
    return this.file.unkId;
  }
  get labels(): string[] | undefined {
    return this.file.labels;
  }
  /** The longest id row. */
  get maxLength(): number {
    return this.length.mode === 'fixed' ? this.length.length : this.length.buckets[this.length.buckets.length - 1]!;
  }
  /** Tokens beyond this many are cut off. */
  get maxTokens(): number {
    return this.maxLength - this.length.minPad;
  }

  id(token: string): number {
    return this.index.get(token) ?? this.file.unkId;
  }

  /** Row length for a text of n tokens (n ≤ maxTokens). */
  rowLength(n: number): number {
    const p = this.length;
    if (p.mode === 'fixed') return p.length;
    const need = n + p.minPad;
    return p.buckets.find((b) => b >= need) ?? p.buckets[p.buckets.length - 1]!;
  }

  tokenize(text: string): Token[] {
    return tokenize(text, this.tokenizer);
  }

  /** Tokenize, truncate, look up and pad one text (to `length` if given, else its own row length). */
  encode(text: string, length?: number): Encoded {
    const all = this.tokenize(text);
    const tokens = all.length > this.maxTokens ? all.slice(0, this.maxTokens) : all;
    const L = length ?? this.rowLength(tokens.length);
    if (L < tokens.length) throw new Error(`row length ${L} cannot hold ${tokens.length} tokens`);
    const ids = new Array<number>(L).fill(this.file.padId);
    let unknown = 0;
    tokens.forEach((t, i) => {
      const id = this.id(t.text);
      if (id === this.file.unkId) unknown++;
      ids[i] = id;
    });
    return { ids, length: L, tokens, totalTokens: all.length, truncated: all.length > tokens.length, unknown };
  }

  toJSON(): VocabFile {
    return this.file;
  }

  /** The vocabulary file's text (what `parse` reads back). */
  toJson(): string {
    return JSON.stringify(this.file) + '\n';
  }

  static parse(text: string, source = 'vocabulary'): Vocabulary {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new Error(`cannot parse ${source}: ${(e as Error).message}`);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) throw new Error(`${source} must hold a JSON object`);
    try {
      return new Vocabulary(obj as VocabFile);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
  }

  /** Count tokens over texts and keep those seen at least `minCount` times. Ids: <pad>=0, <unk>=1, then by count. */
  static build(texts: Iterable<string>, opts: BuildVocabOptions = {}): Vocabulary {
    const tokenizer = tokenizerSettings(opts.tokenizer ?? DEFAULT_TOKENIZER);
    const minCount = opts.minCount ?? 2;
    if (!Number.isInteger(minCount) || minCount < 1) throw new Error(`minCount must be a positive integer, got ${minCount}`);
    const counts = new Map<string, number>();
    let docs = 0;
    for (const t of texts) {
      docs++;
      for (const tok of tokenize(t, tokenizer)) counts.set(tok.text, (counts.get(tok.text) ?? 0) + 1);
    }
    const pad = '<pad>';
    const unk = '<unk>';
    counts.delete(pad);
    counts.delete(unk);
    let kept = [...counts.entries()].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    if (opts.maxSize !== undefined) {
      if (!Number.isInteger(opts.maxSize) || opts.maxSize < 3) throw new Error(`maxSize must be an integer ≥ 3, got ${opts.maxSize}`);
      kept = kept.slice(0, opts.maxSize - 2);
    }
    const length = checkLength(opts.length ?? { mode: 'bucketed', buckets: DEFAULT_BUCKETS, minPad: 3 });
    return new Vocabulary({
      format: VOCAB_FORMAT,
      version: 1,
      tokenizer,
      pad,
      unk,
      padId: 0,
      unkId: 1,
      tokens: [pad, unk, ...kept.map(([t]) => t)],
      counts: [0, 0, ...kept.map(([, c]) => c)],
      minCount,
      length,
      ...(opts.labels ? { labels: opts.labels } : {}),
      source: { documents: docs, distinctTokens: counts.size, ...(opts.source ?? {}) },
    });
  }
}
