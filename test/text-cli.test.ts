/**
 * `relprop explain-text`, `text-vocab`, `text-encode` end to end (the built CLI) on the bundled
 * stand-in text model, including the bad inputs: empty text, only unknown words, invalid UTF-8,
 * very long text.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relprop } from './helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { FIXTURES } from './helpers/fixtures.js';

const ROOT = join(import.meta.dirname, '..');
const MODEL = join(ROOT, 'examples', 'text', 'standin', 'textcnn.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'relprop-text-cli-'));

const explain = (args: string[], input?: string) => relprop(['explain-text', '--model', MODEL, '--threads', '1', ...args], input);

describe('relprop explain-text', () => {
  it('prints the prediction and top words, writes escaped HTML with a legend and JSON', async () => {
    const html = join(tmp, 'a.html');
    const json = join(tmp, 'a.json');
    const text = 'A <b>fast</b> arcade game: fly your spaceship & shoot the alien invaders, 12 levels.';
    const r = await explain(['--html', html, '--json', json, '--top', '5', text]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^predicted: games \(0\), p = /);
    expect(r.stdout).toMatch(/top 5 words:\n( {2}.*\n){5}/);
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('relprop-legend');
    expect(page).not.toContain('<b>fast</b>');
    expect(page).toContain('&lt;b&gt;fast&lt;/b&gt;');
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.predicted_label).toBe('games');
    expect(j.tokens.map((t: { token: string }) => t.token)).toEqual([
      'a',
      'b',
      'fast',
      'b',
      'arcade',
      'game',
      'fly',
      'your',
      'spaceship',
      'shoot',
      'the',
      'alien',
      'invaders',
      '<num>',
      'levels',
    ]);
    expect(j.truncated).toBe(false);
    for (const t of j.tokens) expect(text.slice(t.start, t.end)).toBe(t.surface);
  });

  it('sensitivity analysis, a target by label name, text from stdin', async () => {
    const json = join(tmp, 'sa.json');
    const r = await explain(
      ['--method', 'sa', '--target', 'mail', '--json', json, '--quiet', '--file', '-'],
      'An email client with spam filtering and IMAP support.',
    );
    expect(r.stderr).toBe('');
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.target_label).toBe('mail');
    expect(j.method).toMatch(/sensitivity analysis/);
    expect(j.tokens.every((t: { relevance: number }) => t.relevance >= 0)).toBe(true);
  });

  it('empty or word-less text is an error and writes nothing', async () => {
    const html = join(tmp, 'empty.html');
    const texts = ['', '   ', '!!! ... ???'];
    const [none, ...rs] = await Promise.all([explain(['--html', html]), ...texts.map((t) => explain(['--html', html, t]))]);
    rs.forEach((r, i) => {
      expect(r.code, JSON.stringify(texts[i])).toBe(1);
      expect(r.stderr).toMatch(/^relprop: error: the text (is empty|holds no words)/);
    });
    expect(none.stderr).toMatch(/^relprop: error: no text given/);
    expect(existsSync(html)).toBe(false);
  });

  it('only unknown words: explained, with a warning', async () => {
    const json = join(tmp, 'unk.json');
    const r = await explain(['--json', json, 'qwzx vbnmk plokij']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: none of the 3 words is in the vocabulary/);
    const j = JSON.parse(readFileSync(json, 'utf8'));
    expect(j.unknown).toBe(3);
    expect(j.tokens.every((t: { id: number }) => t.id === 1)).toBe(true);
  });

  it('invalid UTF-8 in a file: replaced and reported; very long text: truncated and reported', async () => {
    const bad = join(tmp, 'bad.txt');
    writeFileSync(bad, Buffer.concat([Buffer.from('a music player for audio files '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' with playlists')]));
    const json = join(tmp, 'bad.json');
    const r = await explain(['--file', bad, '--json', json, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*bad\.txt is not valid UTF-8: 3 invalid byte sequence\(s\) \(first at byte 31\)/);
    expect(JSON.parse(readFileSync(json, 'utf8')).notes[0]).toMatch(/not valid UTF-8/);

    const long = join(tmp, 'long.txt');
    writeFileSync(long, 'the image editor supports layers and filters. '.repeat(100));
    const lj = join(tmp, 'long.json');
    const l = await explain(['--file', long, '--json', lj, '--quiet']);
    expect(l.code).toBe(0);
    expect(l.stderr).toMatch(/warning: the text has 700 tokens; only the first 509 are explained/);
    const j = JSON.parse(readFileSync(lj, 'utf8'));
    expect(j).toMatchObject({ truncated: true, total_tokens: 700, row_length: 512 });
    expect(j.tokens.length).toBe(509);
  });

  it('bad options and models: one error line, non-zero exit', async () => {
    const cases: [string[], RegExp][] = [
      [['--target', 'sports', 'x'], /--target needs a class index, a label name/],
      [['--target', '12', 'x'], /target 12 is out of range/],
      [['--method', 'magic', 'x'], /unknown method "magic"/],
      [['--method', 'sa', '--rule', 'epsilon', 'x'], /apply to --method lrp/],
      [['--vocab', join(tmp, 'missing.json'), 'x'], /cannot read vocabulary .*missing\.json: ENOENT/],
    ];
    const rs = await Promise.all(cases.map(([args]) => explain(args)));
    rs.forEach((r, i) => {
      const [args, re] = cases[i]!;
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(re);
      expect(r.stderr.trim().split('\n').length).toBe(1);
    });
    const notText = await relprop(['explain-text', '--model', join(FIXTURES, 'cnn', 'model.onnx'), '--vocab', MODEL.replace(/\.onnx$/, '.vocab.json'), 'x']);
    expect(notText.stderr).toMatch(/^relprop: error: /);
    expect(notText.code).not.toBe(0);
  });
});

describe('relprop text-vocab / text-encode', () => {
  it('builds a vocabulary and encodes documents with it', async () => {
    const data = join(tmp, 'd.jsonl');
    writeFileSync(
      data,
      ['{"label":"a","text":"red apple, red cherry"}', '{"label":"b","text":"blue sky; blue sea 42"}', '{"label":"a","text":"a red rose"}'].join('\n'),
    );
    const vocab = join(tmp, 'd.vocab.json');
    const v = await relprop(['text-vocab', '--data', data, '--out', vocab, '--min-count', '2', '--buckets', '8,16', '--min-pad', '2']);
    expect(v.stderr).toBe('');
    const vj = JSON.parse(readFileSync(vocab, 'utf8'));
    expect(vj.tokens).toEqual(['<pad>', '<unk>', 'red', 'blue']);
    expect(vj.labels).toEqual(['a', 'b']);
    expect(vj.length).toEqual({ mode: 'bucketed', buckets: [8, 16], minPad: 2 });
    const out = join(tmp, 'd.ids.jsonl');
    const e = await relprop(['text-encode', '--vocab', vocab, '--data', data, '--out', out]);
    expect(e.stderr).toBe('');
    const rows = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows[0]).toMatchObject({ y: 0, n: 4, ids: [2, 1, 2, 1, 0, 0, 0, 0] });
    expect(rows[1]).toMatchObject({ y: 1, n: 5, ids: [3, 1, 3, 1, 1, 0, 0, 0] });
    const bad = await relprop(['text-vocab', '--data', data, '--out', vocab, '--length', '8', '--buckets', '8']);
    expect(bad.stderr).toMatch(/either --length .* or --buckets/);
  });
});
