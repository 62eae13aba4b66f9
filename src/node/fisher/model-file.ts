/**
 * FV models on disk: `<name>.onnx` (image in, class scores out; plain ONNX, any runtime) and its
 * card `<name>.json` with `"family": "fisher-vector"` and a `fisher` section (the settings that are
 * not tensors, and the ε chosen for LRP). Written all or none.
 */
import { basename } from 'node:path';
import { cardSection, type FisherCardSection, fisherFromGraph, type FisherParams, buildFisherGraph } from '../../core/fisher/model.js';
import { checkConfig, DEFAULT_CONFIG } from '../../core/fisher/config.js';
import { decodeModel, encodeModel } from '../../core/onnx/model.js';
import { readModelFile } from '../files.js';
import { writeFilesAtomic } from '../io/atomic.js';
import { cardPathFor, readModelCard } from '../model-card.js';

export const FISHER_FAMILY = 'fisher-vector';

/** True when the card beside `modelPath` marks it as an FV model. */
export function isFisherModel(modelPath: string): boolean {
  return readModelCard(modelPath)?.raw.family === FISHER_FAMILY;
}

export async function saveFisherModel(
  path: string,
  p: FisherParams,
  epsilon: number,
  extra: { classes?: string[]; training?: Record<string, unknown> },
): Promise<void> {
  const card = {
    name: basename(path).replace(/\.onnx$/i, ''),
    file: basename(path),
    trained_by: 'relprop fv train',
    family: FISHER_FAMILY,
    classes: extra.classes,
    input: { shape: [p.channels, p.height, p.width], range: [0, 1] },
    outputs: 'one-vs-rest linear SVM scores (not probabilities)',
    fisher: cardSection(p, epsilon),
    training: extra.training,
  };
  await writeFilesAtomic([
    [path, encodeModel(buildFisherGraph(p), 'relprop-fv')],
    [cardPathFor(path), `${JSON.stringify(card, null, 2)}\n`],
  ]);
}

export interface LoadedFisher {
  params: FisherParams;
  epsilon: number;
  classes?: string[];
}

export function loadFisherModel(path: string): LoadedFisher {
  const card = readModelCard(path);
  if (!card) throw new Error(`${path}: an FV model needs its card ${cardPathFor(path)} (written by relprop fv train)`);
  const s = card.raw.fisher as FisherCardSection | undefined;
  if (card.raw.family !== FISHER_FAMILY || !s || typeof s !== 'object' || !s.config)
    throw new Error(`model card ${card.path} does not describe an FV model (no "family": "${FISHER_FAMILY}" with a "fisher" section)`);
  try {
    // cards written before a setting existed get its default (e.g. pyramid: [1])
    checkConfig({ ...DEFAULT_CONFIG, ...s.config });
  } catch (e) {
    throw new Error(`model card ${card.path}: ${(e as Error).message}`);
  }
  const graph = decodeModel(readModelFile(path), path);
  return { params: fisherFromGraph(graph, s, path), epsilon: s.epsilon, classes: card.classes };
}
