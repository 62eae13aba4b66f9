/** Reading molecules from disk: the data set's folder of JSONL parts, one JSONL file, or XYZ files. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type MoleculeRecord, parseMoleculeJsonl } from '../../core/molecules/dataset.js';
import { type Molecule, parseXyz } from '../../core/molecules/molecule.js';

/** Every record of a .jsonl file or of the .jsonl files of a folder (in name order), with the values of `targets`. */
export function loadMoleculeRecords(path: string, targets: string[]): MoleculeRecord[] {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`molecule data ${path} does not exist`);
  }
  const files = st.isDirectory()
    ? readdirSync(path)
        .filter((f) => f.endsWith('.jsonl'))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (!files.length) throw new Error(`${path} holds no .jsonl files`);
  const out = files.flatMap((f) => parseMoleculeJsonl(readFileSync(f, 'utf8'), targets, f));
  if (!out.length) throw new Error(`${path}: no molecules`);
  const seen = new Set<number>();
  for (const r of out) {
    if (seen.has(r.id)) throw new Error(`${path}: molecule id ${r.id} appears twice`);
    seen.add(r.id);
  }
  return out;
}

/** Molecules of an XYZ file (one or many). */
export function loadXyz(path: string): Molecule[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`cannot read ${path}`);
  }
  return parseXyz(text, path);
}
