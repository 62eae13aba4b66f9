/**
 * A model's JSON card, as `relprop train` writes it. Only the fields other parts rely on are read,
 * and each is checked: a card that exists but is malformed is an error, not silently ignored.
 * Reading the file is the caller's (src/node/model-card.ts; a page's file picker).
 */

export interface ModelCard {
  /** Where the card came from, for messages (a path or a file name). */
  path: string;
  name?: string;
  /** Class names, index = logit index. */
  classes?: string[];
  /** Range of the raw model input (e.g. [0, 1] for pixels), for box rules. */
  inputRange?: [number, number];
  raw: Record<string, unknown>;
}

/** Parse a card's text; `path` names it in errors. */
export function parseModelCard(text: string, path: string): ModelCard {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
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
