/**
 * `relprop text-vocab`: build a vocabulary JSON from a JSONL training file.
 * `relprop text-encode`: turn a JSONL file into token ids with a vocabulary (one JSON line per
 * document), so that any trainer — relprop's or another framework's — sees exactly the ids that
 * explain-text will produce.
 */
import type { Command } from 'commander';
import { checkOutputFiles, writeFileAtomic } from '../io/atomic.js';
import { loadJsonlDataset } from '../text/dataset.js';
import { DEFAULT_TOKENIZER } from '../../core/text/tokenizer.js';
import { DEFAULT_BUCKETS, Vocabulary, type LengthPolicy } from '../../core/text/vocab.js';
import { loadVocabulary, saveVocabulary } from '../files.js';
import { quietOption } from './options.js';
import { nonNegInt, posInt } from './values.js';

interface VocabFlags {
  data: string;
  labels?: string;
  out: string;
  minCount: number;
  maxSize?: number;
  length?: number;
  buckets?: string;
  minPad?: number;
  keepPunctuation?: boolean;
  keepNumbers?: boolean;
  caseSensitive?: boolean;
  quiet?: boolean;
}

interface EncodeFlags {
  vocab: string;
  data: string;
  labels?: string;
  out: string;
  quiet?: boolean;
}

export async function textVocabCommand(f: VocabFlags): Promise<void> {
  checkOutputFiles([{ flag: '--out', path: f.out, ext: ['.json'] }]);
  const ds = loadJsonlDataset(f.data, f.labels);
  if (f.length !== undefined && f.buckets !== undefined) throw new Error('give either --length (fixed) or --buckets, not both');
  let length: LengthPolicy;
  if (f.length !== undefined) length = { mode: 'fixed', length: f.length, minPad: f.minPad ?? 0 };
  else {
    const buckets = f.buckets === undefined ? DEFAULT_BUCKETS : f.buckets.split(',').map((s) => posInt('--buckets')(s.trim()));
    length = { mode: 'bucketed', buckets, minPad: f.minPad ?? 3 };
  }
  const vocab = Vocabulary.build(
    ds.docs.map((d) => d.text),
    {
      minCount: f.minCount,
      maxSize: f.maxSize,
      tokenizer: {
        ...DEFAULT_TOKENIZER,
        lowercase: !f.caseSensitive,
        numbers: f.keepNumbers ? 'keep' : 'token',
        punctuation: f.keepPunctuation ? 'keep' : 'drop',
      },
      length,
      labels: ds.labels,
      source: { data: f.data },
    },
  );
  await saveVocabulary(vocab, f.out);
  if (!f.quiet) {
    const src = vocab.file.source as { distinctTokens: number };
    process.stdout.write(
      `${f.out}: ${vocab.size} tokens (${src.distinctTokens} distinct in ${ds.docs.length} documents, min count ${f.minCount}), ${ds.labels.length} labels, max ${vocab.maxTokens} tokens per text\n`,
    );
  }
}

export async function textEncodeCommand(f: EncodeFlags): Promise<void> {
  checkOutputFiles([{ flag: '--out', path: f.out, ext: ['.jsonl'] }]);
  const vocab = loadVocabulary(f.vocab);
  const ds = loadJsonlDataset(f.data, f.labels ?? vocab.labels);
  const lines: string[] = [];
  let truncated = 0;
  let unknown = 0;
  let tokens = 0;
  for (const d of ds.docs) {
    const e = vocab.encode(d.text);
    if (e.truncated) truncated++;
    unknown += e.unknown;
    tokens += e.tokens.length;
    lines.push(JSON.stringify({ id: d.id, y: d.y, label: d.label, n: e.tokens.length, ids: e.ids }));
  }
  await writeFileAtomic(f.out, lines.join('\n') + '\n');
  if (!f.quiet) {
    process.stdout.write(
      `${f.out}: ${ds.docs.length} documents, ${tokens} tokens (${((100 * unknown) / Math.max(1, tokens)).toFixed(1)}% unknown), ${truncated} truncated to ${vocab.maxTokens} tokens\n`,
    );
  }
}

/** Register `text-vocab` and `text-encode` (called from main.ts). */
export function registerTextDataCommands(program: Command): void {
  const vocab = program
    .command('text-vocab')
    .description('build a vocabulary JSON (tokenizer settings, tokens, length policy, labels) from a JSONL training file')
    .requiredOption('--data <file>', 'JSONL documents ({"text", "label"} per line)')
    .option('--labels <file>', 'label list, one per line (default: labels.txt beside the data, else labels in order of appearance)')
    .requiredOption('--out <file>', 'vocabulary JSON to write (convention: <model>.vocab.json)')
    .option('--min-count <n>', 'keep tokens seen at least this often', posInt('--min-count'), 2)
    .option('--max-size <n>', 'keep at most this many tokens (specials included)', posInt('--max-size'))
    .option('--length <n>', 'fixed row length (default: bucketed)', posInt('--length'))
    .option('--buckets <list>', `bucket row lengths, comma-separated (default ${DEFAULT_BUCKETS.join(',')})`)
    .option('--min-pad <n>', 'trailing paddings every row keeps (default 3 bucketed, 0 fixed)', nonNegInt('--min-pad'))
    .option('--keep-punctuation', 'keep punctuation characters as tokens (default: dropped)')
    .option('--keep-numbers', 'keep numbers as written (default: one <num> token)')
    .option('--case-sensitive', 'do not lower-case');
  quietOption(vocab).action(async (opts: VocabFlags) => textVocabCommand(opts));

  const encode = program
    .command('text-encode')
    .description('encode a JSONL file with a vocabulary: one {"id","y","label","n","ids"} line per document')
    .requiredOption('--vocab <file>', 'vocabulary JSON')
    .requiredOption('--data <file>', 'JSONL documents')
    .option('--labels <file>', "label list (default: the vocabulary's labels)")
    .requiredOption('--out <file>', 'JSONL output');
  quietOption(encode).action(async (opts: EncodeFlags) => textEncodeCommand(opts));
}
