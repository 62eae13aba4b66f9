/**
 * The core's entry classes with Node conveniences: models and vocabularies by path, the PNG
 * encoder for heatmap complexity, an evaluation's progress kept in a file. Everything else is
 * the core unchanged.
 */
import {
  type EvaluateConfig,
  type EvaluationResult,
  evaluateRegionPerturbation as evaluateCore,
  type Dataset,
  type RunOptions,
} from '../core/evaluate/region-perturbation.js';
import { Explainer as CoreExplainer, type ExplainerOptions } from '../core/explain/explainer.js';
import type { ImportedModel } from '../core/graph/import.js';
import { importModel } from '../core/graph/import.js';
import { TextExplainer as CoreTextExplainer, type TextExplainerOptions } from '../core/text/explain.js';
import type { Vocabulary } from '../core/text/vocab.js';
import { fileProgress } from './evaluate/progress.js';
import { loadVocabulary, readModelFile, vocabPathFor } from './files.js';
import { BoxBoundsError } from '../core/rules/spec.js';
import { cardPathFor, readModelCard } from './model-card.js';
import { encodePng } from './visualize/png.js';

export class Explainer extends CoreExplainer {
  /** The model card whose input range the options took (a model given as a path, without `inputRange`). */
  inputRangeSource?: string;

  /**
   * Import a model (a path or ONNX bytes). Nothing is compiled until the first input shape is
   * known. A model given as a path takes `inputRange` from its card (`<model>.json`, as `relprop
   * train` writes it) when the options have none: the box rule's bounds come from it.
   */
  static override async create(model: string | Uint8Array | ImportedModel, options: ExplainerOptions = {}): Promise<Explainer> {
    const m = typeof model === 'string' ? importModel(readModelFile(model), model) : model;
    const card = typeof model === 'string' ? cardInputRange(model, options) : undefined;
    let ex: Explainer;
    try {
      ex = (await super.create(m, card ? { ...options, inputRange: card.range } : options)) as Explainer;
    } catch (e) {
      if (e instanceof BoxBoundsError && typeof model === 'string')
        throw new Error(`${e.message}, or state it in the model card ${cardPathFor(model)} ("input": {"range": [LO, HI]})`);
      throw e;
    }
    ex.inputRangeSource = card?.path;
    return ex;
  }
}

/** The input range of the card beside `modelPath`, when `options` give no range of their own. */
export function cardInputRange(modelPath: string, options: ExplainerOptions): { range: [number, number]; path: string } | undefined {
  if (options.inputRange !== undefined) return undefined;
  const card = readModelCard(modelPath);
  return card?.inputRange ? { range: card.inputRange, path: card.path } : undefined;
}

export interface NodeTextExplainerOptions extends Omit<TextExplainerOptions, 'vocab'> {
  /** The vocabulary, or its path; default `<model>.vocab.json` (model given as a path). */
  vocab?: Vocabulary | string;
}

export class TextExplainer extends CoreTextExplainer {
  static override async create(model: string | Uint8Array, opts: NodeTextExplainerOptions = {}): Promise<TextExplainer> {
    let vocab: Vocabulary;
    if (typeof opts.vocab === 'string') vocab = loadVocabulary(opts.vocab);
    else if (opts.vocab) vocab = opts.vocab;
    else if (typeof model === 'string') vocab = loadVocabulary(vocabPathFor(model));
    else throw new Error('a vocabulary is needed: pass `vocab` (the model was given as bytes)');
    const bytes = typeof model === 'string' ? readModelFile(model) : model;
    return (await super.create(bytes, { ...opts, vocab })) as TextExplainer;
  }
}

export interface NodeRunOptions extends RunOptions {
  /** JSON-lines progress file (the progress store); finished chunks in it are skipped. */
  progressFile?: string;
  /** Ignore (overwrite) an existing progress file. */
  fresh?: boolean;
}

/** Region perturbation of a model given as a path or bytes, its progress optionally in a file (see the core function). */
export function evaluateRegionPerturbation(
  model: string | Uint8Array,
  data: Dataset,
  config: EvaluateConfig,
  run: NodeRunOptions = {},
): Promise<EvaluationResult> {
  const bytes = typeof model === 'string' ? readModelFile(model) : model;
  const { progressFile, fresh, ...rest } = run;
  // As Explainer.create: methods without an input range take the card's (box-rule bounds only; the noise range stays config.range).
  const methods = config.methods.map((m) => {
    const card = typeof model === 'string' && m.options ? cardInputRange(model, m.options) : undefined;
    return card ? { ...m, options: { ...m.options, inputRange: card.range } } : m;
  });
  return evaluateCore(
    bytes,
    data,
    { ...config, methods },
    {
      modelName: typeof model === 'string' ? model : undefined,
      encodePng: (rgba, w, h) => encodePng(rgba, w, h, 1),
      ...rest,
      progress: progressFile ? fileProgress(progressFile, { fresh }) : rest.progress,
    },
  );
}
