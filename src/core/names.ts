/**
 * "Unknown name" errors: list the names a user can pass and suggest the closest one, so a typo
 * is fixed from the message alone.
 */

/** Edit distance (insertions, deletions, substitutions, adjacent swaps), case-insensitive. */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `name`, if it is close enough to be a plausible typo. */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = distance(name, c);
    if (dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  // A third of the length (at least 2 edits) separates typos from unrelated words.
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * `unknown rule "epsilonn": did you mean "epsilon"? (known: …)`. `known` is what the message
 * lists; `alsoMatch` are further spellings the suggestion may pick (aliases, long lists).
 */
export function unknownNameError(what: string, name: string, known: readonly string[], alsoMatch: readonly string[] = []): Error {
  const guess = closestName(name, [...known, ...alsoMatch]);
  return new Error(`unknown ${what} "${name}"${guess ? `: did you mean "${guess}"?` : ''} (known: ${known.join(', ')})`);
}
