/**
 * The JSON card beside a model (`<model>.json` for `<model>.onnx`), as `relprop train` writes it;
 * parsed and checked by the core (src/core/model-card.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseModelCard, type ModelCard } from '../core/model-card.js';

export type { ModelCard } from '../core/model-card.js';

/** `<model>.json` for `<model>.onnx`. */
export function cardPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.json';
}

/** The card beside `modelPath`, or undefined when there is none. */
export function readModelCard(modelPath: string): ModelCard | undefined {
  const path = cardPathFor(modelPath);
  if (path === modelPath || !existsSync(path)) return undefined;
  return parseModelCard(readFileSync(path, 'utf8'), path);
}
