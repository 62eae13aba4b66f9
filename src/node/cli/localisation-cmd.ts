/**
 * `relprop evaluate-localisation`: the share of relevance inside given regions (boxes or masks per
 * sample), for any model and any method spec (src/core/evaluate/localisation.ts has the formulas).
 * Writes results.json, table.md and samples.csv into --out.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { boxMask, checkBoxes, localisationScore, meanDefined, type LocalisationScore } from '../../core/evaluate/localisation.js';
import { parseMethodSpec } from '../../core/evaluate/methods.js';
import { imageGeometry, poolChannels } from '../../core/evaluate/regions.js';
import { splitMethodList } from '../../core/explain/method-spec.js';
import { readNpy } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { cardInputRange, Explainer } from '../api.js';
import { loadDataset } from '../evaluate/dataset.js';
import { checkOutputFolder, writeOutputFolder } from '../io/atomic.js';
import { batchSizeOption, explainerOptions, inputRangeOption, quietOption, threadsOption } from './options.js';
import { nonNegInt, parseTarget, posInt } from './values.js';

interface LocalisationFlags {
  model: string;
  data: string;
  boxes?: string;
  masks?: string;
  methods: string;
  target?: string;
  offset?: number;
  limit?: number;
  inputRange?: number[];
  batchSize?: number;
  threads?: number;
  out: string;
  quiet?: boolean;
}

/** Per sample: its mask, or null where it has no region (an empty box list). */
function readRegions(f: LocalisationFlags, N: number, H: number, W: number, offset: number): (Uint8Array | null)[] {
  if (!!f.boxes === !!f.masks) throw new Error('give the regions as either --boxes FILE.jsonl or --masks FILE.npy');
  let text: string | Uint8Array;
  const file = (f.boxes ?? f.masks)!;
  try {
    text = f.boxes ? readFileSync(file, 'utf8') : readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (typeof text === 'string') {
    const lines = text.split('\n').filter((l) => l.trim());
    if (lines.length < offset + N) throw new Error(`${file} has ${lines.length} lines, the data ${offset + N} samples`);
    return lines.slice(offset, offset + N).map((l, i) => {
      const where = `${file}:${offset + i + 1}`;
      let o: unknown;
      try {
        o = JSON.parse(l);
      } catch (e) {
        throw new Error(`${where}: not JSON (${(e as Error).message})`);
      }
      const boxes = Array.isArray(o) ? o : (o as { boxes?: unknown } | null)?.boxes;
      const b = checkBoxes(boxes, H, W, where);
      return b.length ? boxMask(b, H, W) : null;
    });
  }
  const t = readNpy(text);
  const spatial = t.dims.length === 4 && t.dims[1] === 1 ? [t.dims[0], t.dims[2], t.dims[3]] : t.dims;
  if (spatial.length !== 3 || spatial[1] !== H || spatial[2] !== W)
    throw new Error(`${file}: masks must be [N, ${H}, ${W}] (or [N, 1, ${H}, ${W}]) for these ${W}×${H} images, got ${JSON.stringify(t.dims)}`);
  if (spatial[0]! < offset + N) throw new Error(`${file} holds ${spatial[0]} masks, the data ${offset + N} samples`);
  const per = H * W;
  const values = t.data as ArrayLike<number | bigint>;
  return Array.from({ length: N }, (_, i) => {
    const m = new Uint8Array(per);
    let any = false;
    for (let p = 0; p < per; p++)
      if (Number(values[(offset + i) * per + p]) !== 0) {
        m[p] = 1;
        any = true;
      }
    return any ? m : null;
  });
}

async function localisationCommand(f: LocalisationFlags): Promise<void> {
  checkOutputFolder('--out', f.out);
  const base = explainerOptions({ method: 'lrp', inputRange: f.inputRange, batchSize: f.batchSize, threads: f.threads });
  const specs = splitMethodList(f.methods).map((s) => parseMethodSpec(s, base));
  const noMap = specs.find((s) => !s.options || s.method === 'sensitivity' || s.method === 'taylor');
  if (noMap) throw new Error(`method "${noMap.label}": evaluate-localisation takes explainer methods (LRP, gradient, …), not ${noMap.method}`);
  const data = loadDataset(f.data, { offset: f.offset, limit: f.limit });
  const N = data.x.dims[0] ?? 0;
  if (N === 0) throw new Error(`the data set ${f.data} holds no samples${f.offset ? ` from offset ${f.offset}` : ''}`);
  const g = imageGeometry(data.x.dims);
  const regions = readRegions(f, N, g.H, g.W, f.offset ?? 0);
  const target = parseTarget(f.target);
  const card = base.inputRange ? undefined : cardInputRange(f.model, base);
  const results: Record<string, unknown>[] = [];
  const rows: string[] = ['method,sample,target,output,positive_share,absolute_share,area'];
  for (const spec of specs) {
    const options = { ...spec.options!, inputRange: spec.options!.inputRange ?? card?.range };
    const ex = await Explainer.create(f.model, options);
    let res;
    try {
      res = await ex.explain(data.x as TensorData, { target });
    } finally {
      await ex.release();
    }
    const K = res.logits.dims[1] as number;
    const per = data.x.data.length / N;
    const scores: (LocalisationScore | null)[] = [];
    for (let i = 0; i < N; i++) {
      const m = regions[i];
      if (!m) {
        scores.push(null);
        continue;
      }
      const map = poolChannels((res.relevance.data as Float32Array).subarray(i * per, (i + 1) * per), g, spec.pooling);
      const s = localisationScore(map, m);
      scores.push(s);
      const t = res.targets[i]!;
      const out = (res.logits.data as Float32Array)[i * K + t]!;
      rows.push(`${spec.label},${data.ids?.[i] ?? (f.offset ?? 0) + i},${t},${out},${s.positive ?? ''},${s.absolute ?? ''},${s.area}`);
    }
    const got = scores.filter((s): s is LocalisationScore => s !== null);
    results.push({
      method: spec.label,
      samples_with_region: got.length,
      positive_share: meanDefined(got.map((s) => s.positive)),
      absolute_share: meanDefined(got.map((s) => s.absolute)),
      area: meanDefined(got.map((s) => s.area)).mean,
    });
  }
  const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(3) : '–');
  const table = [
    '| method | samples | positive share | absolute share | area (uniform map) |',
    '|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.method} | ${r.samples_with_region} | ${fmt((r.positive_share as { mean: number | null }).mean)} | ${fmt((r.absolute_share as { mean: number | null }).mean)} | ${fmt(r.area)} |`,
    ),
  ].join('\n');
  await writeOutputFolder(f.out, [
    [
      'results.json',
      JSON.stringify({ model: f.model, data: f.data, regions: f.boxes ?? f.masks, target: f.target ?? 'predicted', methods: results }, null, 2) + '\n',
    ],
    ['table.md', table + '\n'],
    ['samples.csv', rows.join('\n') + '\n'],
  ]);
  if (!f.quiet) process.stdout.write(`${table}\nwrote ${f.out}/results.json, table.md, samples.csv\n`);
}

export function registerLocalisationCommand(program: Command): void {
  const cmd = program
    .command('evaluate-localisation')
    .description('share of relevance inside given boxes or masks (per sample), for any model and method')
    .requiredOption('--model <file>', 'ONNX model')
    .requiredOption('--data <path>', 'inputs: .npy (float32, first axis = samples), IDX, or an image folder')
    .option('--boxes <file.jsonl>', 'one line per sample: {"boxes": [[x0, y0, x1, y1], …]} (half-open pixels; [] = no region, skipped)')
    .option('--masks <file.npy>', 'masks [N, H, W] or [N, 1, H, W]; non-zero = inside')
    .option('--methods <list>', 'method specs, e.g. lrp:epsilon-gamma-box,gradient-x-input', 'lrp:epsilon-plus-flat')
    .option('--target <t>', 'output index, a list (one per sample), or "predicted" (a one-output regression model: 0)')
    .option('--offset <n>', 'first sample', nonNegInt('--offset'))
    .option('--limit <n>', 'number of samples', posInt('--limit'))
    .requiredOption('--out <dir>', 'output folder');
  inputRangeOption(cmd);
  batchSizeOption(cmd, 64);
  threadsOption(cmd);
  quietOption(cmd).action(async (opts) => localisationCommand(opts));
}
