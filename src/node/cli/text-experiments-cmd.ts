/** `relprop text-experiments`: word deletion, document vectors and examples on a labelled JSONL set. */
import type { Command } from 'commander';
import { DEFAULT_TEXT_METHODS, runTextExperiments } from '../text/experiments.js';
import { splitMethodList } from '../../core/explain/method-spec.js';
import { quietOption, seedOption, threadsOption } from './options.js';
import { posInt } from './values.js';

interface Flags {
  model: string;
  vocab?: string;
  data: string;
  labels?: string;
  out: string;
  methods?: string;
  maxDeletions: number;
  randomRuns: number;
  seed: number;
  limit?: number;
  threads?: number;
  quiet?: boolean;
}

export function registerTextExperimentsCommand(program: Command): void {
  const cmd = program
    .command('text-experiments')
    .description('word-deleting experiment (LRP vs SA vs random), document-vector PCA, top words and examples for a text model')
    .requiredOption('--model <file>', 'ONNX text model')
    .option('--vocab <file>', 'vocabulary JSON (default: <model>.vocab.json)')
    .requiredOption('--data <file>', 'labelled JSONL documents (e.g. the test split)')
    .option('--labels <file>', "label list (default: the vocabulary's labels)")
    .requiredOption('--out <dir>', 'output folder')
    .option(
      '--methods <list>',
      `comma-separated method specs NAME[:VARIANT][@key=value…] as in evaluate, plus sa (sensitivity analysis); lrp alone is the paper's ε rule (e.g. lrp, sa, lrp:epsilon@epsilon=0.25, lrp:epsilon-plus, integrated-gradients@steps=64; random is always added; default ${DEFAULT_TEXT_METHODS.join(',')})`,
    )
    .option('--max-deletions <n>', 'delete up to this many words', posInt('--max-deletions'), 50)
    .option('--random-runs <n>', 'random deletion orders averaged', posInt('--random-runs'), 10);
  seedOption(cmd, 'the random deletion orders', 1).option('--limit <n>', 'use only the first n documents', posInt('--limit'));
  threadsOption(cmd);
  quietOption(cmd).action(async (f: Flags) => {
    const summary = await runTextExperiments({
      model: f.model,
      vocab: f.vocab,
      data: f.data,
      labels: f.labels,
      out: f.out,
      methods: f.methods === undefined ? undefined : splitMethodList(f.methods),
      maxDeletions: f.maxDeletions,
      randomRuns: f.randomRuns,
      seed: f.seed,
      limit: f.limit,
      threads: f.threads,
      onProgress: f.quiet ? undefined : (w) => process.stderr.write(`${w}\n`),
    });
    if (!f.quiet) process.stdout.write(`wrote ${f.out}/results.md and the plots (${(summary.seconds as number).toFixed(1)} s)\n`);
  });
}
