/**
 * `relprop explain --data SET --out DIR`: explain every sample of a data set of any size, a batch
 * at a time (memory for one batch, not for the set), into a folder:
 *   relevance.npy  [N, ...sample] float32, rows in the set's order
 *   samples.csv    per sample: index in the set, file, label, predicted, target, target logit,
 *                  relevance sum (and the image conversion, for image folders)
 *   heatmaps/      with --heatmaps, one PNG per sample
 *   summary.json   settings, counts, accuracy where labels exist, throughput
 * While it runs, relevance.npy and samples.csv are `.partial` files and progress.json records how
 * many samples are complete; Ctrl-C stops after the current batch and the same command resumes
 * there (a folder holding another run's progress is refused). The finished files appear under
 * their names only at the end.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import type { Target } from '../../core/explain/explainer.js';
import { checkMethod, METHODS } from '../../core/explain/resolve.js';
import { TAYLOR_BASELINES, type TaylorBaseline } from '../../core/explain/taylor.js';
import { describeConversion } from '../../core/image/prepare.js';
import { unknownNameError } from '../../core/names.js';
import { npyHeaderBytes } from '../../core/onnx/npy.js';
import type { TensorData } from '../../core/onnx/tensor.js';
import { Explainer } from '../api.js';
import { openSampleStream, type SampleStream } from '../data/stream.js';
import { isFisherModel } from '../fisher/model-file.js';
import { ensureDir, removeFolders, writeFileAtomic, writeFileAtomicSync } from '../io/atomic.js';
import { classLabel, classNamesFor } from './class-names.js';
import { type ExplainFlags, EXPLAIN_METHODS, explainBaseline, heatmapFlags } from './explain-cmd.js';
import { heatmapPngs } from './heatmaps.js';
import { imageOptionsFor } from './inputs.js';
import { explainerOptions } from './options.js';

export interface ExplainSetFlags extends ExplainFlags {
  data: string;
  labels?: string;
  split?: string;
  offset?: number;
  limit?: number;
  heatmaps?: boolean;
  fresh?: boolean;
}

interface Progress {
  kind: 'relprop explain --data';
  version: 1;
  hash: string;
  /** Samples whose relevance, CSV row and heatmap are on disk. */
  done: number;
  /** Length of samples.csv.partial after them. */
  csvBytes: number;
  /** Seconds spent explaining so far, over every invocation. */
  seconds: number;
  /** Samples among `done` whose prediction equals their label. */
  correct: number;
  /** Image folders: how many of the `done` images were converted, by kind of conversion. */
  conversions: Record<string, number>;
}

const FILES = { relevance: 'relevance.npy', csv: 'samples.csv', summary: 'summary.json', progress: 'progress.json', heatmaps: 'heatmaps' };

function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off, position + off);
}

export async function explainSetCommand(f: ExplainSetFlags): Promise<void> {
  for (const [flag, set, why] of [
    ['--input', f.input, 'give either --input FILE or --data SET'],
    ['--heatmap', f.heatmap, 'with --data, --heatmaps writes one PNG per sample into the output folder'],
    ['--summary', f.summary, 'with --data, the output folder holds summary.json and samples.csv'],
    ['--save-explainer', f.saveExplainer, 'save it with relprop explain --input on one sample'],
    ['--audit', f.audit, 'audit one input with relprop explain --input'],
  ] as const)
    if (set) throw new Error(`${flag} does not apply with --data: ${why}`);
  const { colormap, style } = heatmapFlags(f, f.heatmaps ? 'heatmaps' : undefined);
  if (f.overlay && style === 'bare')
    throw new Error('--overlay with --heatmap-style bare needs the original image pixels; with --data use --heatmap-style overlay');
  if (isFisherModel(f.model)) throw new Error('--data does not take Fisher-vector models yet: explain them with relprop fv explain --input');
  if (f.split !== undefined && f.split !== 'test' && f.split !== 'train') throw new Error(`--split takes test or train, got "${f.split}"`);
  let target: 'predicted' | 'label' | number = 'predicted';
  if (f.target !== undefined && f.target !== 'predicted') {
    if (f.target === 'label') target = 'label';
    else if (/^\d+$/.test(f.target)) target = Number(f.target);
    else throw new Error(`--target with --data takes "predicted", "label" (each sample's label) or one class index; got "${f.target}"`);
  }
  const baseline = (TAYLOR_BASELINES as readonly string[]).includes(f.method ?? '') ? (f.method as TaylorBaseline) : undefined;
  if (!baseline && f.method !== undefined && !(METHODS as readonly string[]).includes(f.method.replace(/_/g, '-')))
    throw unknownNameError('method', f.method, EXPLAIN_METHODS);
  const opts = explainerOptions(f, baseline ? 'gradient' : checkMethod(f.method ?? 'lrp'));
  const method = baseline ?? opts.method;

  const out = resolve(f.out);
  const progressPath = join(out, FILES.progress);
  if (existsSync(out)) {
    const entries = readdirSync(out);
    if (entries.includes(FILES.relevance) && !entries.includes(FILES.progress))
      throw new Error(`--out ${f.out} holds a finished run (${FILES.relevance}); give a new folder`);
    if (entries.length > 0 && !entries.includes(FILES.progress)) throw new Error(`--out ${f.out} exists and is not empty; give a new folder`);
  }

  const ex = await Explainer.create(f.model, opts);
  let stream: SampleStream | undefined;
  try {
    stream = openSampleStream(f.data, {
      offset: f.offset,
      limit: f.limit,
      labels: f.labels,
      split: f.split as 'test' | 'train' | undefined,
      image: imageOptionsFor(ex.model, f),
    });
    if (target === 'label' && !stream.labels) throw new Error(`--target label: ${stream.source} has no labels (give --labels LABELS.npy)`);
    const N = stream.count;
    const per = stream.sampleDims.reduce((a, b) => a * b, 1);
    const settings = {
      model: sha256(readFileSync(f.model)),
      data: resolve(stream.source),
      offset: stream.offset,
      count: N,
      sampleDims: stream.sampleDims,
      labels: stream.labels ? sha256(new Uint8Array(Int32Array.from(stream.labels).buffer)) : undefined,
      target,
      method,
      options: { ...opts, threads: undefined, batchSize: undefined },
      heatmaps: f.heatmaps ? { colormap, style } : undefined,
    };
    const hash = sha256(JSON.stringify(settings));

    // Start or resume.
    let progress: Progress = { kind: 'relprop explain --data', version: 1, hash, done: 0, csvBytes: 0, seconds: 0, correct: 0, conversions: {} };
    const created = ensureDir(out);
    const relPartial = join(out, `${FILES.relevance}.partial`);
    const csvPartial = join(out, `${FILES.csv}.partial`);
    const header = npyHeaderBytes('float32', [N, ...stream.sampleDims]);
    if (existsSync(progressPath)) {
      let p: Progress | undefined;
      try {
        p = JSON.parse(readFileSync(progressPath, 'utf8')) as Progress;
      } catch {
        p = undefined;
      }
      if (p?.kind !== progress.kind) throw new Error(`${progressPath} is not a relprop explain --data progress file; give a new folder`);
      if (p.hash !== hash && !f.fresh)
        throw new Error(
          `--out ${f.out} holds an unfinished run with other settings (model, data, method or heatmaps); run that command again, pass --fresh to start over, or give a new folder`,
        );
      if (p.hash === hash && !f.fresh) progress = p;
    }
    const fresh = progress.done === 0;
    if (fresh) {
      for (const name of [FILES.heatmaps]) rmSync(join(out, name), { recursive: true, force: true });
      const fd = openSync(relPartial, 'w');
      writeAll(fd, header, 0);
      closeSync(fd);
      const csvHeader = `index,file,label,predicted,target,target_logit,relevance_sum,label_name,predicted_name,target_name${stream.files ? ',conversion' : ''}\n`;
      writeFileAtomicSync(csvPartial, csvHeader);
      progress.csvBytes = Buffer.byteLength(csvHeader);
      writeFileAtomicSync(progressPath, JSON.stringify(progress));
    } else if (!f.quiet) process.stderr.write(`relprop: resuming at sample ${progress.done} of ${N}\n`);
    if (f.heatmaps) ensureDir(join(out, FILES.heatmaps));
    const relFd = openSync(relPartial, 'r+');
    const csvFd = openSync(csvPartial, 'r+');
    // Anything after the last recorded sample is from a batch that did not finish.
    ftruncateSync(relFd, header.length + progress.done * per * 4);
    ftruncateSync(csvFd, progress.csvBytes);

    const controller = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      controller.abort();
      process.stderr.write('\nrelprop: stopping after the current batch (Ctrl-C again to quit now; finished batches are kept)\n');
    };
    process.on('SIGINT', onSigint);
    const batch = opts.batchSize ?? 32;
    const bar =
      !f.quiet && process.stderr.isTTY
        ? new cliProgress.SingleBar(
            { format: 'explaining [{bar}] {value}/{total} samples | {rate} images/s | ETA {eta_formatted}', stream: process.stderr, etaBuffer: 20 },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(N, progress.done, { rate: '…' });
    let names: string[] | undefined;
    let namesRead = false;
    const conversions = new Map<string, number>(Object.entries(progress.conversions ?? {}));
    const startDone = progress.done;
    const t0 = performance.now();
    const secondsBefore = progress.seconds;
    let correct = progress.correct;
    let lastCheckpoint = performance.now();
    let saved = progress.done;
    /** Make the finished samples durable and record them in progress.json. */
    const checkpoint = () => {
      fsyncSync(relFd);
      fsyncSync(csvFd);
      writeFileAtomicSync(progressPath, JSON.stringify(progress));
      saved = progress.done;
      lastCheckpoint = performance.now();
    };
    try {
      while (progress.done < N && !controller.signal.aborted) {
        const s = progress.done;
        const n = Math.min(batch, N - s);
        const { x, conversions: conv } = stream.read(s, n);
        const xv = ex.validateInput(x);
        const t: Target =
          target === 'label' ? stream.labels!.slice(s, s + n) : target === 'predicted' ? 'predicted' : Array.from({ length: n }, () => target as number);
        const res = baseline ? await explainBaseline(baseline, ex, xv, t) : await ex.explain(xv, { target: t });
        const rel = res.relevance as TensorData;
        if (rel.dims.slice(1).join() !== stream.sampleDims.join())
          throw new Error(`relevance per sample is ${JSON.stringify(rel.dims.slice(1))}, not the input's ${JSON.stringify(stream.sampleDims)}`);
        const K = res.logits.dims[1]!;
        if (!namesRead) {
          names = classNamesFor(f.model, K);
          namesRead = true;
        }
        const logits = res.logits.data as Float32Array;
        const rd = rel.data as Float32Array;
        let rows = '';
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let k = i * per; k < (i + 1) * per; k++) sum += rd[k]!;
          const tgt = res.targets[i]!;
          const label = stream.labels?.[s + i];
          const pred = res.predicted[i]!;
          if (label === pred) correct++;
          const ci = conv?.[i];
          const c = ci ? describeConversion(ci) : undefined;
          if (c) conversions.set(c, (conversions.get(c) ?? 0) + 1);
          const cells = [
            stream.offset + s + i,
            stream.files?.[s + i],
            label,
            pred,
            tgt,
            logits[i * K + tgt]!,
            sum,
            label === undefined ? undefined : names?.[label],
            names?.[pred],
            names?.[tgt],
          ];
          if (stream.files) cells.push(c);
          rows += `${cells.map(csvField).join(',')}\n`;
        }
        if (f.heatmaps) {
          const layout = f.layout ?? imageOptionsFor(ex.model, f).layout ?? 'nchw';
          const what = opts.method === 'lrp' && !baseline ? `lrp ${opts.rule ?? opts.composite ?? 'epsilon-plus-flat'}` : method;
          const pngs = heatmapPngs(rel, { colormap, layout, style, input: xv, titles: res.targets.map((tg) => `${what}\nclass ${classLabel(tg, names)}`) });
          for (let i = 0; i < n; i++) {
            // image folders: the file's name after the index, so that the heatmap is easy to find
            const file = stream.files?.[s + i];
            const stem = file ? `-${basename(file).replace(/\.[^.]+$/, '')}` : '';
            await writeFileAtomic(join(out, FILES.heatmaps, `${String(stream.offset + s + i).padStart(6, '0')}${stem}.png`), pngs[i]!);
          }
        }
        writeAll(relFd, new Uint8Array(rd.buffer, rd.byteOffset, n * per * 4), header.length + s * per * 4);
        const rowBytes = Buffer.from(rows, 'utf8');
        writeAll(csvFd, rowBytes, progress.csvBytes);
        progress = {
          ...progress,
          done: s + n,
          csvBytes: progress.csvBytes + rowBytes.length,
          seconds: secondsBefore + (performance.now() - t0) / 1000,
          correct,
          conversions: Object.fromEntries(conversions),
        };
        // Syncing every batch would cost more than small batches take: a checkpoint every few
        // seconds, and at the end, on Ctrl-C and on errors.
        if (performance.now() - lastCheckpoint > 3000) checkpoint();
        const rate = (progress.done - startDone) / ((performance.now() - t0) / 1000);
        bar?.update(progress.done, { rate: rate.toFixed(0) });
      }
      if (progress.done > saved) checkpoint();
    } catch (e) {
      if (progress.done > saved) {
        try {
          checkpoint();
        } catch {
          // the samples since the last checkpoint are redone on resume
        }
      }
      closeSync(relFd);
      closeSync(csvFd);
      if (saved === 0) {
        // Nothing finished: leave nothing behind.
        for (const p of [relPartial, csvPartial, progressPath]) rmSync(p, { force: true });
        rmSync(join(out, FILES.heatmaps), { recursive: true, force: true });
        removeFolders(created);
      } else (e as Error).message += `; the ${saved} samples before are kept: run the same command again to resume`;
      throw e;
    } finally {
      bar?.stop();
      process.off('SIGINT', onSigint);
    }
    closeSync(relFd);
    closeSync(csvFd);
    const seconds = (performance.now() - t0) / 1000;
    const thisRun = progress.done - startDone;
    if (progress.done < N) {
      process.stderr.write(`relprop: stopped after ${progress.done} of ${N} samples; run the same command again to resume\n`);
      process.exitCode = 130;
      return;
    }
    renameSync(relPartial, join(out, FILES.relevance));
    renameSync(csvPartial, join(out, FILES.csv));
    const converted = [...conversions.values()].reduce((a, b) => a + b, 0);
    const summary = {
      command: ['relprop', 'explain', ...process.argv.slice(3)].join(' '),
      model: f.model,
      data: stream.source,
      offset: stream.offset,
      samples: N,
      sample_shape: stream.sampleDims,
      scaling: stream.scaling,
      method,
      composite: opts.method === 'lrp' && !opts.rule && !baseline ? (opts.composite ?? 'epsilon-plus-flat') : undefined,
      rule: opts.rule,
      target,
      classes: names,
      accuracy: stream.labels ? progress.correct / N : undefined,
      seconds: progress.seconds,
      images_per_second: N / progress.seconds,
      heatmaps: f.heatmaps ? { folder: FILES.heatmaps, colormap, style } : undefined,
      conversions: converted > 0 ? Object.fromEntries(conversions) : undefined,
    };
    await writeFileAtomic(join(out, FILES.summary), `${JSON.stringify(summary, null, 2)}\n`);
    unlinkSync(progressPath);
    if (!f.quiet) {
      if (stream.scaling) process.stderr.write(`relprop: inputs: ${stream.scaling}\n`);
      if (converted > 0) process.stderr.write(`relprop: ${converted} of ${N} images converted: ${[...conversions].map(([k, v]) => `${v} ${k}`).join('; ')}\n`);
      const acc = summary.accuracy === undefined ? '' : `, accuracy ${(100 * summary.accuracy).toFixed(2)}%`;
      process.stdout.write(
        `explained ${N} samples (${thisRun} in this run: ${(thisRun / seconds).toFixed(1)} images/s over ${seconds.toFixed(1)} s)${acc}\n` +
          `wrote ${join(out, FILES.relevance)}, ${join(out, FILES.csv)}, ${join(out, FILES.summary)}${f.heatmaps ? `, ${N} heatmaps in ${join(out, FILES.heatmaps)}` : ''}\n`,
      );
    }
  } finally {
    stream?.close();
    await ex.release();
  }
}
