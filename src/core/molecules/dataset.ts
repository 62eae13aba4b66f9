/**
 * The molecules data set (QM7b stand-in): JSONL records with Z, xyz (Å) and properties per level
 * of theory, a level being null where it was not computed. A target is named "level.property"
 * (e.g. "gfn2.atomization_energy_kcal_mol"); values are read by name, never by position. Missing
 * values become mask 0, so the multi-task loss and the scores skip them.
 */
import { checkMolecule, type Molecule } from './molecule.js';

export interface MoleculeRecord extends Molecule {
  id: number;
  /** Property values in target order; NaN where missing. */
  values: Float64Array;
}

/** The 14 QM7b-style targets computed for every molecule (README of the data set): 12 quantities plus 2 gaps. */
export const SEMI_EMPIRICAL_TARGETS = [
  'gfn2.atomization_energy_kcal_mol',
  'gfn2.polarizability_ang3',
  'gfn2.homo_eV',
  'gfn2.lumo_eV',
  'gfn2.gap_eV',
  'gfn2.dipole_debye',
  'pm7.heat_of_formation_kcal_mol',
  'pm7.homo_eV',
  'pm7.lumo_eV',
  'pm7.gap_eV',
  'pm7.dipole_debye',
  'am1_cis.first_singlet_excitation_eV',
  'am1_cis.max_intensity_excitation_eV',
  'am1_cis.max_intensity_E_mu2',
];

/** The ab initio targets, present for a subset only (the role of QM7b's PBE0 columns). */
export const PSI4_TARGETS = ['pbe0_631g.atomization_energy_kcal_mol', 'pbe0_631g.homo_eV', 'pbe0_631g.lumo_eV', 'hf_sto3g.polarizability_ang3'];

/** The default multi-task target set: 14 semi-empirical + 4 ab initio (masked where missing). */
export const DEFAULT_TARGETS = [...SEMI_EMPIRICAL_TARGETS, ...PSI4_TARGETS];

/** The unit of a target, from its name's suffix. */
export function targetUnit(name: string): string {
  const units: [string, string][] = [
    ['_kcal_mol', 'kcal/mol'],
    ['_eV', 'eV'],
    ['_ang3', 'Å³'],
    ['_bohr3', 'bohr³'],
    ['_debye', 'D'],
    ['_Ha', 'Ha'],
  ];
  return units.find(([s]) => name.endsWith(s))?.[1] ?? 'arb.';
}

function checkTargetNames(targets: string[]): void {
  for (const t of targets)
    if (!/^[a-z0-9_]+\.[A-Za-z0-9_]+$/.test(t)) throw new Error(`target ${JSON.stringify(t)} must be "level.property", e.g. gfn2.homo_eV`);
}

/**
 * Parse JSONL text (one record a line). `where` names the file in errors; a bad line is an error
 * naming its line. A target whose level exists but lacks the property is an error (a misspelt
 * name), a level that is null is a missing value.
 */
export function parseMoleculeJsonl(text: string, targets: string[], where = 'input'): MoleculeRecord[] {
  checkTargetNames(targets);
  const out: MoleculeRecord[] = [];
  const lines = text.split('\n');
  lines.forEach((line, k) => {
    if (!line.trim()) return;
    const at = `${where}:${k + 1}`;
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch (e) {
      throw new Error(`${at}: not JSON (${(e as Error).message})`);
    }
    if (!r || typeof r !== 'object' || !Array.isArray(r.Z) || !Array.isArray(r.xyz)) throw new Error(`${at}: a molecule record needs "Z" and "xyz" lists`);
    const name = r.id !== undefined ? `id ${r.id}` : `on line ${k + 1}`;
    const m = { name, Z: r.Z as number[], xyz: r.xyz as [number, number, number][] };
    try {
      checkMolecule(m);
    } catch (e) {
      throw new Error(`${at}: ${(e as Error).message}`);
    }
    const values = new Float64Array(targets.length);
    targets.forEach((t, i) => {
      const [level, prop] = t.split('.') as [string, string];
      const block = r[level];
      if (block === null || block === undefined) {
        values[i] = NaN;
        return;
      }
      const v = (block as Record<string, unknown>)[prop];
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${at}: molecule ${name} has no numeric "${prop}" at level "${level}" (target ${t})`);
      values[i] = v;
    });
    out.push({ ...m, at, id: typeof r.id === 'number' ? r.id : out.length, values });
  });
  return out;
}
