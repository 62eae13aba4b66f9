import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { base64, escapeHtml, formatNumber } from '../src/core/visualize/html.js';
import { explanationReportHtml, type ReportItem } from '../src/core/visualize/report-html.js';
import { highlightTextHtml } from '../src/core/visualize/text-html.js';
import { encodePng } from '../src/node/visualize/png.js';

/** The text content of an HTML string with tags removed and entities decoded (enough for these tests). */
function textOf(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('helpers', () => {
  it('escapeHtml escapes the five special characters', () => {
    expect(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  });

  it('base64 matches Node for all padding cases', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      expect(base64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it('formatNumber is short and handles non-finite values', () => {
    expect(formatNumber(1.23456)).toBe('1.235');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-2.5e-7)).toBe('-2.500e-7');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });
});

describe('highlightTextHtml', () => {
  it('escapes tokens and never emits raw markup from the input', () => {
    const html = highlightTextHtml(['<script>alert(1)</script>', 'R&D', '"quoted"'], [1, -0.5, 0]);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('R&amp;D');
    expect(html).toContain('&quot;quoted&quot;');
    expect(textOf(html)).toContain('<script>alert(1)</script> R&D "quoted"');
  });

  it('colours positive red, negative blue, zero white, by relative strength', () => {
    const html = highlightTextHtml(['good', 'bad', 'meh', 'ok'], [2, -2, 0, 1]);
    const backgrounds = [...html.matchAll(/class="relprop-token" style="background:(rgb\([^)]*\))/g)].map((m) => m[1]);
    expect(backgrounds).toEqual(['rgb(255,0,0)', 'rgb(0,0,255)', 'rgb(255,255,255)', 'rgb(255,128,128)']);
    expect(html).toContain('title="relevance 2"');
  });

  it('all-zero relevance gives neutral words and a legend without NaN', () => {
    const html = highlightTextHtml(['a', 'b'], [0, 0]);
    expect(html).not.toContain('NaN');
    expect([...html.matchAll(/background:rgb\(255,255,255\)/g)].length).toBe(2);
  });

  it('has a legend with the scale, and an optional escaped title', () => {
    const html = highlightTextHtml(['x'], [-0.25], { title: 'Review <1>' });
    expect(html).toContain('relprop-legend');
    expect(html).toContain('>-0.25<');
    expect(html).toContain('>0.25<');
    expect(html).toContain('Review &lt;1&gt;');
    expect(highlightTextHtml(['x'], [1], { legend: false })).not.toContain('relprop-legend');
  });

  it('page: true gives a complete document, default a fragment', () => {
    const page = highlightTextHtml(['x'], [1], { page: true, title: 'T&T' });
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('<meta charset="utf-8">');
    expect(page).toContain('<title>T&amp;T</title>');
    expect(highlightTextHtml(['x'], [1]).startsWith('<div')).toBe(true);
  });

  it('rejects mismatched lengths and non-finite relevance', () => {
    expect(() => highlightTextHtml(['a', 'b'], [1])).toThrow(/2 tokens but 1/);
    expect(() => highlightTextHtml(['a'], [Number.NaN])).toThrow(/NaN/);
  });
});

describe('explanationReportHtml', () => {
  const png = encodePng(new Uint8Array([255, 0, 0, 255]), 1, 1);
  const item = (over: Partial<ReportItem> = {}): ReportItem => ({
    title: 'sample <0>',
    imagePng: png,
    predicted: 3,
    target: 3,
    label: 1,
    heatmaps: [
      { method: 'lrp <eps>', png, relevanceSum: 1.5, logit: 2 },
      { method: 'gradient', png, relevanceSum: 0.25, logit: 2 },
    ],
    ...over,
  });

  it('is a self-contained page with embedded PNGs that decode', () => {
    const html = explanationReportHtml([item()], { title: 'demo' });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).not.toMatch(/src="(?!data:)/); // nothing loaded from outside
    const uris = [...html.matchAll(/src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)].map((m) => m[1]!);
    expect(uris.length).toBe(3); // input + two heatmaps
    for (const u of uris) expect(PNG.sync.read(Buffer.from(u, 'base64')).width).toBe(1);
  });

  it('has one column per method (in order of first appearance) and one row per sample', () => {
    const second = item({ title: 'two', heatmaps: [{ method: 'deconvnet', png, relevanceSum: 0, logit: -1 }] });
    const html = explanationReportHtml([item(), second], { title: 'demo' });
    const headers = [...html.matchAll(/<th>(.*?)<\/th>/g)].map((m) => textOf(m[1]!));
    expect(headers).toEqual(['sample', 'input', 'lrp <eps>', 'gradient', 'deconvnet']);
    expect([...html.matchAll(/<tr>/g)].length).toBe(3); // header + 2 samples
    // the second sample has no lrp/gradient heatmap: placeholders instead
    expect([...html.matchAll(/<td>—<\/td>/g)].length).toBe(3);
  });

  it('shows ΣR, the logit and their ratio, and class names', () => {
    const html = explanationReportHtml([item()], { title: 'demo', classNames: ['a', 'b', 'c', 'dog'] });
    const text = textOf(html);
    expect(text).toContain('ΣR = 1.5');
    expect(text).toContain('logit = 2');
    expect(text).toContain('ΣR / logit = 0.75');
    expect(text).toContain('predicted: 3 (dog)');
    expect(text).toContain('label: 1 (b)');
    expect(html).toContain('class="wrong"'); // predicted 3 ≠ label 1
    expect(explanationReportHtml([item({ label: 3 })], { title: 'x' })).not.toContain('class="wrong"');
  });

  it('escapes every piece of text', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const html = explanationReportHtml([item({ title: evil, predicted: evil, heatmaps: [{ method: evil, png, relevanceSum: 1, logit: 1 }] })], {
      title: evil,
      model: evil,
      description: evil,
      details: { [evil]: evil },
      classNames: [evil],
    });
    expect(html).not.toContain('<img src=x');
    expect(html.split('&lt;img src=x onerror=alert(1)&gt;').length - 1).toBeGreaterThanOrEqual(8);
  });

  it('omits the input column when no item has an image', () => {
    const html = explanationReportHtml([item({ imagePng: undefined })], { title: 'demo' });
    expect(html).not.toContain('<th>input</th>');
  });
});
