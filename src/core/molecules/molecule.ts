/**
 * Molecules as relprop reads them: nuclear charges and Cartesian coordinates in Ångström, from
 * the molecules data set's JSONL records or from XYZ files (one or many molecules per file).
 * Every check names the molecule and, for text input, the line, so a bad file is one clear error.
 */

export interface Molecule {
  /** What errors and outputs call it: the record's id, or the XYZ comment line / position. */
  name: string;
  /** Nuclear charges, one per atom. */
  Z: number[];
  /** Coordinates in Ångström, [x, y, z] per atom. */
  xyz: [number, number, number][];
  /** Where it was read, "file:line" (its XYZ atom-count line or its JSONL line), for later errors. */
  at?: string;
}

/** Elements the data set's chemistry and QM7b use (H, C, N, O, S, Cl), and a few neighbours, by symbol. */
export const ELEMENTS: Record<string, number> = { H: 1, He: 2, Li: 3, Be: 4, B: 5, C: 6, N: 7, O: 8, F: 9, Ne: 10, P: 15, S: 16, Cl: 17, Br: 35, I: 53 };
const SYMBOL_OF = new Map(Object.entries(ELEMENTS).map(([s, z]) => [z, s]));

export function elementSymbol(z: number): string {
  return SYMBOL_OF.get(z) ?? `Z=${z}`;
}

/**
 * Checks shared by both readers: known elements, finite coordinates, no two atoms at the same
 * place (a zero distance makes the Coulomb entry infinite). `lineOf(i)` says where atom i was read.
 */
export function checkMolecule(m: Molecule, lineOf: (atom: number) => string = (i) => `atom ${i + 1}`): Molecule {
  if (m.Z.length === 0) throw new Error(`molecule ${m.name}: no atoms`);
  if (m.Z.length !== m.xyz.length) throw new Error(`molecule ${m.name}: ${m.Z.length} charges but ${m.xyz.length} positions`);
  m.Z.forEach((z, i) => {
    if (!Number.isInteger(z) || !SYMBOL_OF.has(z)) throw new Error(`molecule ${m.name}, ${lineOf(i)}: unknown element (nuclear charge ${JSON.stringify(z)})`);
    const p = m.xyz[i];
    if (!Array.isArray(p) || p.length !== 3 || !p.every((v) => typeof v === 'number' && Number.isFinite(v)))
      throw new Error(`molecule ${m.name}, ${lineOf(i)}: coordinates must be three finite numbers, got ${JSON.stringify(p)}`);
  });
  for (let i = 0; i < m.Z.length; i++)
    for (let j = 0; j < i; j++) {
      const [a, b] = [m.xyz[i]!, m.xyz[j]!];
      const d = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
      // Real bonds are ≥ 0.7 Å; this catches duplicated atoms, not close contacts.
      if (d < 0.1) throw new Error(`molecule ${m.name}, ${lineOf(i)}: overlaps ${lineOf(j)} (distance ${d.toFixed(3)} Å)`);
    }
  return m;
}

/**
 * All molecules of an XYZ text: repeated blocks of an atom count, a comment line (the molecule's
 * name when not empty), then one "Symbol x y z" line per atom (Å). Blank lines between blocks are
 * allowed; `file` goes into error messages.
 */
export function parseXyz(text: string, file = 'input'): Molecule[] {
  const lines = text.split(/\r?\n/);
  const out: Molecule[] = [];
  let at = 0;
  while (at < lines.length) {
    if (lines[at]!.trim() === '') {
      at++;
      continue;
    }
    const countLine = at + 1;
    const count = Number(lines[at]!.trim());
    if (!Number.isInteger(count) || count < 1)
      throw new Error(`${file}:${countLine}: expected the atom count of molecule ${out.length + 1}, got ${JSON.stringify(lines[at]!.trim())}`);
    const comment = (lines[at + 1] ?? '').trim();
    const name = comment ? `${out.length + 1} ("${comment}")` : `${out.length + 1}`;
    const Z: number[] = [];
    const xyz: [number, number, number][] = [];
    const lineOf = (i: number) => `line ${at + 3 + i}`;
    for (let i = 0; i < count; i++) {
      const line = lines[at + 2 + i];
      if (line === undefined || line.trim() === '')
        throw new Error(`${file}:${at + 3 + i}: molecule ${name} declares ${count} atoms but has ${i} (file or block ends early)`);
      const f = line.trim().split(/\s+/);
      const sym = f[0]!.charAt(0).toUpperCase() + f[0]!.slice(1).toLowerCase();
      const z = /^\d+$/.test(f[0]!) ? Number(f[0]) : ELEMENTS[sym];
      if (z === undefined || !SYMBOL_OF.has(z)) throw new Error(`${file}:${at + 3 + i}: molecule ${name}: unknown element ${JSON.stringify(f[0])}`);
      const c = f.slice(1, 4).map(Number);
      if (f.length < 4 || !c.every(Number.isFinite))
        throw new Error(`${file}:${at + 3 + i}: molecule ${name}: expected "Symbol x y z", got ${JSON.stringify(line.trim())}`);
      Z.push(z);
      xyz.push(c as [number, number, number]);
    }
    const m = { name, Z, xyz, at: `${file}:${countLine}` };
    try {
      checkMolecule(m, lineOf);
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    out.push(m);
    at += 2 + count;
  }
  if (!out.length) throw new Error(`${file}: no molecules (an XYZ file starts with the atom count)`);
  return out;
}

/** A molecule in XYZ form (the inverse of parseXyz for one molecule). */
export function toXyz(m: Molecule): string {
  return `${m.Z.length}\n${m.name}\n${m.Z.map((z, i) => `${elementSymbol(z)} ${m.xyz[i]!.join(' ')}`).join('\n')}\n`;
}
