/** Class names for CLI output, from the model card beside the model (src/node/model-card.ts). */
import { readModelCard } from '../model-card.js';

/**
 * The card's class names when it has one per model output; undefined without a card or names.
 * A card whose names do not match the outputs is an error: names shifted against the logits
 * would label every prediction wrongly.
 */
export function classNamesFor(modelPath: string, outputs: number): string[] | undefined {
  const card = readModelCard(modelPath);
  if (!card?.classes) return undefined;
  if (card.classes.length !== outputs) throw new Error(`model card ${card.path} lists ${card.classes.length} class names but the model has ${outputs} outputs`);
  return card.classes;
}

/** `3 (Dress)` with names, `3` without. */
export function classLabel(k: number, names?: string[]): string {
  const name = names?.[k];
  return name === undefined ? String(k) : `${k} (${name})`;
}
