/**
 * Text data: the JSONL document format of ../shared/datasets/debian-descriptions (one JSON object
 * per line with at least `text` and `label`), its labels.txt, and reading text files that may
 * not be valid UTF-8.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TextDocument {
  id: string;
  text: string;
  label: string;
  /** Index of `label` in the label list. */
  y: number;
}

export interface TextDataset {
  docs: TextDocument[];
  labels: string[];
  source: string;
}

function readBytes(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Read a UTF-8 file strictly: invalid UTF-8 is an error naming the byte offset. */
export function readUtf8Strict(path: string, what = 'file'): string {
  const bytes = readBytes(path, what);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new Error(`${what} ${path} is not valid UTF-8 (first invalid byte at offset ${at})`);
  }
}

/**
 * Read a text file leniently: invalid UTF-8 sequences become U+FFFD (as browsers do) and are
 * counted, so callers can report them.
 */
export function readTextLenient(path: string, what = 'text file'): { text: string; invalidSequences: number; firstInvalid?: number } {
  return decodeLenient(readBytes(path, what));
}

export function decodeLenient(bytes: Uint8Array): { text: string; invalidSequences: number; firstInvalid?: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), invalidSequences: 0 };
  } catch {
    const text = new TextDecoder('utf-8').decode(bytes);
    let replaced = 0;
    for (const ch of text) if (ch === '\uFFFD') replaced++;
    // U+FFFD characters that were in the file as such (EF BF BD) are not decoding errors.
    let genuine = 0;
    for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) genuine++;
    return { text, invalidSequences: Math.max(1, replaced - genuine), firstInvalid: firstInvalidUtf8(bytes) };
  }
}

/** Byte offset of the first invalid UTF-8 sequence (or -1). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

/** Read a label list (one per line, blank lines ignored). */
export function readLabels(path: string): string[] {
  const labels = readUtf8Strict(path, 'label list')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (labels.length < 2) throw new Error(`label list ${path} holds ${labels.length} labels; a classifier needs at least 2`);
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw new Error(`label list ${path} lists "${l}" twice`);
    seen.add(l);
  }
  return labels;
}

/**
 * Load a JSONL document file. Labels come from `labels` (a list or a labels.txt path), else from
 * labels.txt beside the file, else from the labels seen, in order of first appearance.
 */
export function loadJsonlDataset(path: string, labels?: string[] | string): TextDataset {
  let names: string[] | undefined;
  if (Array.isArray(labels)) names = labels;
  else if (typeof labels === 'string') names = readLabels(labels);
  else if (existsSync(join(dirname(path), 'labels.txt'))) names = readLabels(join(dirname(path), 'labels.txt'));
  const fixed = names !== undefined;
  const list = names ? [...names] : [];
  const index = new Map(list.map((l, i) => [l, i]));
  const docs: TextDocument[] = [];
  const lines = readUtf8Strict(path, 'data file').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path} line ${i + 1}`;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) throw new Error(`${where}: expected a JSON object`);
    const r = o as Record<string, unknown>;
    if (typeof r.text !== 'string') throw new Error(`${where}: "text" must be a string`);
    if (typeof r.label !== 'string') throw new Error(`${where}: "label" must be a string`);
    let y = index.get(r.label);
    if (y === undefined) {
      if (fixed) throw new Error(`${where}: label "${r.label}" is not in the label list (${list.join(', ')})`);
      y = list.length;
      list.push(r.label);
      index.set(r.label, y);
    }
    docs.push({ id: typeof r.id === 'string' ? r.id : `${docs.length}`, text: r.text, label: r.label, y });
  });
  if (docs.length === 0) throw new Error(`data file ${path} holds no documents`);
  return { docs, labels: list, source: path };
}
