/**
 * `relprop explain-text`: explain a text classifier on one text, word by word. Prints the
 * prediction and the top words; writes a highlighted HTML page and/or a JSON record.
 *
 * Bad input has defined behaviour: no text or a text without any word is an error (exit 1);
 * a text of only unknown words is explained (every word is <unk>) with a warning; invalid UTF-8
 * in a --file is decoded with U+FFFD replacements and a warning; a text longer than the
 * vocabulary's maximum is truncated (its first tokens kept) with a warning, also in the outputs.
 */
import { type Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { checkOutputFiles, writeFilesAtomic, type OutputFile } from '../io/atomic.js';
import { decodeLenient } from '../text/dataset.js';
import { checkTextMethod, PAPER_EPSILON, TEXT_METHODS, type TextExplanation } from '../../core/text/explain.js';
import { TextExplainer } from '../api.js';
import { BoxBoundsError } from '../../core/rules/spec.js';
import { className, textExplanationHtml, topWords } from '../../core/text/report.js';
import {
  explainerOptions,
  lrpRuleChoiceOptions,
  quietOption,
  ruleParamOptions,
  samplingOptions,
  seedOption,
  threadsOption,
  type MethodFlags,
} from './options.js';
import { posInt } from './values.js';

export interface ExplainTextFlags extends Omit<MethodFlags, 'inputRange' | 'batchSize'> {
  model: string;
  vocab?: string;
  file?: string;
  target?: string;
  top: number;
  html?: string;
  json?: string;
  quiet?: boolean;
}

/** A class index or a label name. */
export function parseTextTarget(v: string | undefined, labels: string[] | undefined, K: number): number | 'predicted' {
  if (v === undefined || v === 'predicted') return 'predicted';
  const byName = labels?.indexOf(v) ?? -1;
  if (byName >= 0) return byName;
  const x = Number(v);
  if (v.trim() === '' || !Number.isInteger(x)) {
    throw new Error(`--target needs a class index, a label name${labels ? ` (${labels.join(', ')})` : ''} or "predicted"; got "${v}"`);
  }
  if (x < 0 || x >= K) throw new Error(`target ${x} is out of range: the model has ${K} classes (0..${K - 1})`);
  return x;
}

function readInputText(f: ExplainTextFlags, args: string[], warn: (s: string) => void): string {
  if (f.file !== undefined && args.length > 0) throw new Error('give the text either as an argument or with --file, not both');
  if (f.file !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = f.file === '-' ? readFileSync(0) : readFileSync(f.file);
    } catch (e) {
      throw new Error(`cannot read text file ${f.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const d = decodeLenient(bytes);
    if (d.invalidSequences > 0)
      warn(`${f.file} is not valid UTF-8: ${d.invalidSequences} invalid byte sequence(s) (first at byte ${d.firstInvalid}) were replaced by U+FFFD`);
    return d.text;
  }
  if (args.length === 0) throw new Error('no text given: pass it as an argument, or use --file FILE (--file - reads stdin)');
  return args.join(' ');
}

export async function explainTextCommand(args: string[], f: ExplainTextFlags): Promise<void> {
  const notes: string[] = [];
  const warn = (s: string) => {
    notes.push(s);
    process.stderr.write(`relprop: warning: ${s}\n`);
  };
  const outputs: OutputFile[] = [];
  if (f.html) outputs.push({ flag: '--html', path: f.html, ext: ['.html', '.htm'] });
  if (f.json) outputs.push({ flag: '--json', path: f.json, ext: ['.json'] });
  checkOutputFiles(outputs);
  const method = checkTextMethod(f.method ?? 'lrp');
  if (method !== 'lrp' && (f.composite || f.rule || f.rules)) throw new Error(`--composite, --rule and --rules apply to --method lrp, not ${method}`);
  // SA is the squared gradient: the gradient's options.
  const options = explainerOptions(f, method === 'sa' ? 'gradient' : method);
  const text = readInputText(f, args, warn);
  const te = await TextExplainer.create(f.model, { ...options, vocab: f.vocab, method }).catch((e) => {
    // A text model's first layer reads embeddings, not the raw input: only --low/--high can bound them.
    if (e instanceof BoxBoundsError) throw new Error('the zB/box rule needs bounds on the embedding values the first layer reads: give --low and --high');
    throw e;
  });
  try {
    const K = (await te.explainer.compile([1, te.vocab.rowLength(0)])).numClasses;
    const target = parseTextTarget(f.target, te.labels, K);
    const enc = te.vocab.encode(text);
    if (enc.tokens.length === 0) {
      throw new Error(
        text.trim() === ''
          ? 'the text is empty: there is nothing to explain'
          : 'the text holds no words (only punctuation or symbols): there is nothing to explain',
      );
    }
    if (enc.truncated)
      warn(`the text has ${enc.totalTokens} tokens; only the first ${enc.tokens.length} are explained (the vocabulary allows ${te.vocab.maxTokens} per text)`);
    if (enc.unknown === enc.tokens.length)
      warn(
        `none of the ${enc.tokens.length} words is in the vocabulary: every word is read as ${te.vocab.file.unk}, so the prediction carries no information about the text`,
      );
    else if (enc.unknown > 0) notes.push(`${enc.unknown} of ${enc.tokens.length} words are not in the vocabulary (read as ${te.vocab.file.unk})`);
    const [e] = (await te.explainTexts([text], target)) as [TextExplanation];
    const signed = method !== 'sa';
    const info = { method: te.describe(), labels: te.labels, model: f.model, notes, top: f.top, signed, text };
    const files: [string, string][] = [];
    if (f.html) files.push([f.html, textExplanationHtml(e, info)]);
    if (f.json) {
      files.push([
        f.json,
        JSON.stringify(
          {
            model: f.model,
            method: te.describe(),
            predicted: e.predicted,
            predicted_label: te.labels?.[e.predicted],
            target: e.target,
            target_label: te.labels?.[e.target],
            logits: e.logits,
            probabilities: e.probabilities,
            tokens: e.tokens.map((t, i) => ({ token: t.text, surface: t.surface, start: t.start, end: t.end, id: e.ids[i], relevance: e.relevance[i] })),
            relevance_sum: e.relevance.reduce((a, b) => a + b, 0),
            total_tokens: e.totalTokens,
            truncated: e.truncated,
            unknown: e.unknown,
            row_length: e.rowLength,
            notes,
          },
          null,
          2,
        ) + '\n',
      ]);
    }
    await writeFilesAtomic(files);
    if (!f.quiet) {
      const out: string[] = [];
      const lab = (k: number) => className(te.labels, k);
      out.push(`predicted: ${lab(e.predicted)}, p = ${e.probabilities[e.predicted]!.toFixed(3)}`);
      const sum = e.relevance.reduce((a, b) => a + b, 0);
      out.push(
        `explained: ${lab(e.target)}, score ${e.logits[e.target]!.toFixed(4)}; ${te.describe()}; ${e.tokens.length} words${e.unknown ? ` (${e.unknown} unknown)` : ''}, ${signed ? 'relevance' : 'sensitivity'} sum ${sum.toFixed(4)}`,
      );
      const w = Math.max(4, ...topWords(e, f.top).map((x) => x.surface.length));
      const list = (title: string, ws: ReturnType<typeof topWords>) => {
        out.push(title);
        ws.forEach((x, i) => out.push(`  ${String(i + 1).padStart(3)}  ${x.surface.padEnd(w)}  ${x.relevance >= 0 ? ' ' : ''}${x.relevance.toPrecision(4)}`));
      };
      list(`top ${Math.min(f.top, e.tokens.length)} words:`, topWords(e, f.top));
      if (signed) {
        const neg = topWords(e, f.top, true).filter((x) => x.relevance < 0);
        if (neg.length) list(`most negative ${neg.length} words:`, neg);
      }
      if (files.length) out.push(`wrote ${files.map(([p]) => p).join(', ')}`);
      process.stdout.write(out.join('\n') + '\n');
    }
  } finally {
    await te.release();
  }
}

/** Register `explain-text` (called from main.ts through text-commands.ts). */
export function registerExplainTextCommand(program: Command): void {
  const cmd = program
    .command('explain-text')
    .description(
      'explain a text classifier word by word: top words, highlighted HTML. A text longer than the vocabulary allows (bucketed default: 509 tokens) is truncated to its first tokens, with a warning; invalid UTF-8 in --file is replaced by U+FFFD, with a warning; a text without words is an error',
    )
    .argument('[text...]', 'the text (or use --file)')
    .requiredOption('--model <file>', 'ONNX text model: int64 ids [N, L] → scores [N, classes]')
    .option('--vocab <file>', 'vocabulary JSON (default: <model>.vocab.json)')
    .option('--file <file>', 'read the text from a file (- for stdin); invalid UTF-8 is replaced and reported')
    .option('--method <name>', `${TEXT_METHODS.join(', ')} (sa: sensitivity analysis, Σ_d (∂f/∂E_td)²)`, 'lrp');
  lrpRuleChoiceOptions(cmd, "the paper's epsilon rule on every layer");
  ruleParamOptions(cmd, `${PAPER_EPSILON} without --composite/--rule, else 1e-6`);
  samplingOptions(cmd);
  seedOption(cmd, 'smoothgrad')
    .option('--target <t>', 'class to explain: index, label name, or "predicted"', 'predicted')
    .addOption(new Option('--top <n>', 'how many top words to print').argParser(posInt('--top')).default(10))
    .option('--html <file>', 'write an HTML page with every word highlighted')
    .option('--json <file>', 'write the tokens, their relevance and the prediction as JSON');
  threadsOption(cmd);
  quietOption(cmd, 'print nothing on success (warnings still go to stderr)').action(async (text: string[], opts: ExplainTextFlags) =>
    explainTextCommand(text, opts),
  );
}
