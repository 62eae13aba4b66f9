/**
 * The JSON card beside a model (`<model>.json` for `<model>.onnx`), as `relprop train` writes it.
 * Only the fields other commands rely on are read, and each is checked: a card that exists but is
 * malformed is an error, not silently ignored.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface ModelCard {
  path: string;
  name?: string;
  /** Class names, index = logit index. */
  classes?: string[];
  /** Range of the raw model input (e.g. [0, 1] for pixels), for box rules. */
  inputRange?: [number, number];
  raw: Record<string, unknown>;
}

/** `<model>.json` for `<model>.onnx`. */
export function cardPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.json';
}

/** The card beside `modelPath`, or undefined when there is none. */
export function readModelCard(modelPath: string): ModelCard | undefined {
  const path = cardPathFor(modelPath);
  if (path === modelPath || !existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`model card ${path} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`model card ${path} is not a JSON object`);
  const o = raw as Record<string, unknown>;
  const card: ModelCard = { path, raw: o };
  if (typeof o.name === 'string') card.name = o.name;
  if (o.classes !== undefined && o.classes !== null) {
    if (!Array.isArray(o.classes) || !o.classes.every((c) => typeof c === 'string'))
      throw new Error(`model card ${path}: "classes" must be an array of strings`);
    card.classes = o.classes as string[];
  }
  const input = o.input as Record<string, unknown> | undefined;
  if (input && typeof input === 'object' && input.range !== undefined) {
    const r = input.range;
    if (!Array.isArray(r) || r.length !== 2 || !r.every((v) => typeof v === 'number' && Number.isFinite(v)) || r[0] > r[1])
      throw new Error(`model card ${path}: "input.range" must be [low, high] with low <= high`);
    card.inputRange = [r[0], r[1]];
  }
  return card;
}
