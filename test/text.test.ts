/** Text pipeline units: tokenizer, vocabulary, JSONL loader, UTF-8 handling, PCA, deletion orders, the HTML page. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeLenient, firstInvalidUtf8, loadJsonlDataset, readTextLenient, readUtf8Strict } from '../src/node/text/dataset.js';
import { deletionOrder, randomOrder } from '../src/core/text/deletion.js';
import { rngFor } from '../src/core/math/rng.js';
import type { TextExplanation } from '../src/core/text/explain.js';
import { knnAccuracy, pca } from '../src/core/text/pca.js';
import { textExplanationHtml, topWords } from '../src/core/text/report.js';
import { tokenize, DEFAULT_TOKENIZER } from '../src/core/text/tokenizer.js';
import { Vocabulary } from '../src/core/text/vocab.js';
import { loadVocabulary, saveVocabulary, vocabPathFor } from '../src/node/files.js';

const tmp = mkdtempSync(join(tmpdir(), 'relprop-text-'));
const words = (s: string, o = DEFAULT_TOKENIZER) => tokenize(s, o).map((t) => t.text);

describe('tokenizer', () => {
  it('lower-cases, drops punctuation, maps numbers to <num>, keeps c++/mp3/x86', () => {
    expect(words('The GNU C++ compiler, version 12.2 (2023)!')).toEqual(['the', 'gnu', 'c++', 'compiler', 'version', '<num>', '<num>']);
    expect(words('Plays MP3 files on x86_64; 1,000 tracks & 8-bit sounds.')).toEqual([
      'plays',
      'mp3',
      'files',
      'on',
      'x86_64',
      '<num>',
      'tracks',
      '<num>',
      'bit',
      'sounds',
    ]);
    expect(words("Linley Henzel's entry, don’t miss node.js e.g. this")).toEqual(['linley', 'henzel', 'entry', "don't", 'miss', 'node.js', 'e.g', 'this']);
  });

  it('keeps spans into the original text and normalises with NFKC', () => {
    const s = '  ﬁle Ｆｕｌｌ\twidth — ok';
    const toks = tokenize(s);
    expect(toks.map((t) => t.text)).toEqual(['file', 'full', 'width', 'ok']);
    for (const t of toks) expect(s.slice(t.start, t.end)).toBe(t.surface);
  });

  it('honours the settings: keep punctuation, keep numbers, case', () => {
    const o = { lowercase: false, numbers: 'keep' as const, numberToken: '<n>', punctuation: 'keep' as const };
    expect(words('Hello, World 42!', o)).toEqual(['Hello', ',', 'World', '42', '!']);
  });

  it('handles empty, whitespace-only, punctuation-only and non-Latin text', () => {
    expect(words('')).toEqual([]);
    expect(words(' \n\t ')).toEqual([]);
    expect(words('!!! --- ???')).toEqual([]);
    expect(words('Живая музыка 音楽')).toEqual(['живая', 'музыка', '音楽']);
  });
});

describe('vocabulary', () => {
  const texts = ['A game about ships. A game!', 'Ships sail; games play.', 'game game ships 12'];
  it('counts with a minimum count, puts <pad>=0 and <unk>=1 first and sorts by count', () => {
    const v = Vocabulary.build(texts, { minCount: 2, labels: ['x', 'y'] });
    expect(v.file.tokens.slice(0, 2)).toEqual(['<pad>', '<unk>']);
    expect(v.file.tokens.slice(2)).toEqual(['game', 'ships', 'a']);
    expect(v.id('sail')).toBe(v.unkId);
    expect(v.labels).toEqual(['x', 'y']);
  });

  it('encodes with bucketed lengths and trailing paddings, truncates long texts and reports it', () => {
    const v = Vocabulary.build(texts, { minCount: 1, length: { mode: 'bucketed', buckets: [4, 8, 16], minPad: 2 } });
    const e = v.encode('game ships zebra');
    expect(e.length).toBe(8); // 3 tokens + 2 paddings > 4
    expect(e.ids.slice(0, 3)).toEqual([v.id('game'), v.id('ships'), v.unkId]);
    expect(e.ids.slice(3)).toEqual([0, 0, 0, 0, 0]);
    expect(e.unknown).toBe(1);
    expect(v.encode('').length).toBe(4);
    const long = v.encode('game '.repeat(40));
    expect(long).toMatchObject({ length: 16, totalTokens: 40, truncated: true });
    expect(long.tokens.length).toBe(14);
    const fixed = Vocabulary.build(texts, { minCount: 1, length: { mode: 'fixed', length: 5, minPad: 0 } });
    expect(fixed.encode('a b c d e f g')).toMatchObject({ length: 5, truncated: true, totalTokens: 7 });
  });

  it('round-trips through JSON and rejects broken files', async () => {
    const v = Vocabulary.build(texts, { minCount: 1 });
    const p = join(tmp, 'model.vocab.json');
    await saveVocabulary(v, p);
    expect(loadVocabulary(p).file.tokens).toEqual(v.file.tokens);
    expect(vocabPathFor('/a/b/model.onnx')).toBe('/a/b/model.vocab.json');
    const bad = (o: object) => () => Vocabulary.parse(JSON.stringify({ ...v.file, ...o }));
    expect(bad({ format: 'x' })).toThrow(/not a relprop vocabulary/);
    expect(bad({ padId: 99 })).toThrow(/padId/);
    expect(bad({ tokens: ['a', 'a', 'b'] })).toThrow(/twice/);
    expect(bad({ length: { mode: 'bucketed', buckets: [8, 4], minPad: 0 } })).toThrow(/increasing/);
    expect(() => Vocabulary.parse('{')).toThrow(/cannot parse/);
  });
});

describe('JSONL data and UTF-8', () => {
  it('loads documents with labels.txt beside the file and reports bad lines', () => {
    const dir = mkdtempSync(join(tmp, 'ds-'));
    writeFileSync(join(dir, 'labels.txt'), 'games\nmath\n');
    writeFileSync(join(dir, 'a.jsonl'), '{"id":"d1","label":"math","text":"x"}\n\n{"id":"d2","label":"games","text":"y"}\n');
    const ds = loadJsonlDataset(join(dir, 'a.jsonl'));
    expect(ds.labels).toEqual(['games', 'math']);
    expect(ds.docs.map((d) => d.y)).toEqual([1, 0]);
    writeFileSync(join(dir, 'b.jsonl'), '{"label":"math","text":"x"}\n{"label":"sport","text":"y"}\n');
    expect(() => loadJsonlDataset(join(dir, 'b.jsonl'))).toThrow(/line 2: label "sport" is not in the label list/);
    writeFileSync(join(dir, 'c.jsonl'), '{"label":"math"\n');
    expect(() => loadJsonlDataset(join(dir, 'c.jsonl'))).toThrow(/line 1: not valid JSON/);
  });

  // The project's shared data set, beside the repository in development and CI; not in a user's clone.
  const debianTest = join(import.meta.dirname, '..', '..', 'shared', 'datasets', 'debian-descriptions', 'test.jsonl');
  const missing = existsSync(debianTest)
    ? ''
    : ' (skipped: ../shared/datasets/debian-descriptions/test.jsonl is missing; put that file beside the repository to run it)';
  it.skipIf(missing !== '')(`reads the real debian-descriptions split${missing}`, () => {
    const ds = loadJsonlDataset(debianTest);
    expect(ds.docs.length).toBe(548);
    expect(ds.labels.length).toBe(12);
  });

  it('invalid UTF-8: strict reading names the offset, lenient reading replaces and counts', () => {
    const bytes = new Uint8Array([0x61, 0x62, 0xff, 0x63, 0xc3, 0xa9, 0xe2, 0x82]);
    expect(firstInvalidUtf8(bytes)).toBe(2);
    expect(firstInvalidUtf8(new TextEncoder().encode('héllo €'))).toBe(-1);
    const p = join(tmp, 'bad.txt');
    writeFileSync(p, bytes);
    expect(() => readUtf8Strict(p)).toThrow(/not valid UTF-8 \(first invalid byte at offset 2\)/);
    const r = readTextLenient(p);
    expect(r.text.startsWith('ab\uFFFDcé')).toBe(true);
    expect(r.invalidSequences).toBe(2);
    expect(decodeLenient(new TextEncoder().encode('ok \uFFFD')).invalidSequences).toBe(0);
  });
});

describe('PCA and k-NN', () => {
  it('projects onto the direction of largest variance', () => {
    const rng = rngFor(3, 'test');
    // Each point and its mirror across x0 = x1: the direction (1, 1, 0)/√2 is exact, whatever the draws.
    const rows = Array.from({ length: 100 }, () => {
      const t = (rng() - 0.5) * 10;
      const s = (rng() - 0.5) * 0.1;
      const u = 0.01 * rng();
      return [
        [t + s, t - s, u],
        [t - s, t + s, u],
      ];
    }).flat();
    const p = pca(rows, 2);
    expect(Math.abs(p.components[0]![0]!)).toBeCloseTo(Math.SQRT1_2, 4);
    expect(p.components[0]![0]!).toBeCloseTo(p.components[0]![1]!, 12);
    expect(p.explained[0]!).toBeGreaterThan(0.99);
    expect(p.projected.length).toBe(200);
  });

  it('k-NN accuracy is 1 for separated clusters and about chance for noise', () => {
    const pts = [
      [0, 0],
      [0, 1],
      [1, 0],
      [10, 10],
      [10, 11],
      [11, 10],
    ];
    expect(knnAccuracy(pts, [0, 0, 0, 1, 1, 1], 2)).toBe(1);
  });
});

describe('deletion orders', () => {
  it('sorts by relevance, decreasing or increasing, ties by position; random is a permutation', () => {
    const s = [0.5, -2, 3, 0.5, -1];
    expect(deletionOrder(s, 5, true)).toEqual([2, 0, 3, 4, 1]);
    expect(deletionOrder(s, 5, false)).toEqual([1, 4, 0, 3, 2]);
    const r = randomOrder(50, 7, 0, 3);
    expect([...r].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Keyed by seed, run and document: the same key repeats, any other part changes the order.
    expect(randomOrder(50, 7, 0, 3)).toEqual(r);
    for (const other of [randomOrder(50, 8, 0, 3), randomOrder(50, 7, 1, 3), randomOrder(50, 7, 0, 4)]) expect(other).not.toEqual(r);
  });
});

describe('report page', () => {
  const text = '<script>alert("x")</script> & games';
  const tokens = tokenize(text);
  const e: TextExplanation = {
    tokens,
    ids: tokens.map(() => 1),
    relevance: new Float32Array([0.5, -0.25, 1, 0.1, 2]),
    logits: [2, 1],
    probabilities: [0.73, 0.27],
    predicted: 0,
    target: 0,
    totalTokens: 5,
    truncated: false,
    unknown: 0,
    rowLength: 8,
    paddingRelevance: 0,
  };

  it('lists top and bottom words', () => {
    expect(topWords(e, 2).map((w) => w.word)).toEqual(['games', 'x']);
    expect(topWords(e, 1, true).map((w) => w.word)).toEqual(['alert']);
  });

  it('escapes every piece of user text and shows a legend', () => {
    const html = textExplanationHtml(e, { method: 'LRP <eps>', labels: ['a&b', '"q"'], notes: ['note <b>'], text });
    expect(html).not.toMatch(/<script>/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('a&amp;b');
    expect(html).toContain('note &lt;b&gt;');
    expect(html).toContain('relprop-legend');
    expect(html).toContain('Most negative 1 words');
  });
});
