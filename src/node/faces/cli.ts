/**
 * `relprop faces generate`: the procedural faces of src/core/faces/generator.ts as .npy arrays with
 * their labels and cue boxes, in three sets (see the generator's doc comment for every cue):
 *   base/        one identity per image, age group and gender-like labels (for the base models)
 *   attributes/  other identities, with the four continuous attributes (the transfer set)
 *   kdef/        identities × the seven KDEF expressions (same face, different expression)
 * Each set: images.npy (float32 [N, 1, S, S] in [0, 1]), age.npy and gender.npy (int64 [N]),
 * <attribute>.npy (float32 [N]) and attributes.npy ([N, 4]), boxes-<cue>.jsonl (one
 * {"boxes": [[x0, y0, x1, y1]]} per image, half-open pixel boxes, [] where the cue is absent: the
 * format of `relprop evaluate-localisation --boxes`), labels.jsonl (everything per image). All
 * files are written atomically, together.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ATTRIBUTES, type CueName, type FaceSet, generateFaces, generateKdef, AGE_GROUPS, ATTRIBUTE_CUE } from '../../core/faces/generator.js';
import { encodeNpy } from '../../core/onnx/npy.js';
import { quietOption, seedOption } from '../cli/options.js';
import { nonNegInt, posInt } from '../cli/values.js';
import { checkOutputFolder, ensureDir, type FileData, removeFolders, writeFilesAtomic } from '../io/atomic.js';

const CUES: CueName[] = ['mouth', 'eyes', 'mark', 'forehead'];

/** The files of one set, named relative to its folder. */
export function faceSetFiles(set: FaceSet): [string, FileData][] {
  const S = set.size;
  const N = set.records.length;
  const files: [string, FileData][] = [
    ['images.npy', encodeNpy({ dtype: 'float32', dims: [N, 1, S, S], data: set.pixels })],
    ['age.npy', encodeNpy({ dtype: 'int64', dims: [N], data: BigInt64Array.from(set.records, (r) => BigInt(r.age)) })],
    ['gender.npy', encodeNpy({ dtype: 'int64', dims: [N], data: BigInt64Array.from(set.records, (r) => BigInt(r.gender)) })],
    [
      'attributes.npy',
      encodeNpy({
        dtype: 'float32',
        dims: [N, ATTRIBUTES.length],
        data: Float32Array.from(set.records.flatMap((r) => ATTRIBUTES.map((a) => r.attributes[a]))),
      }),
    ],
    ['labels.jsonl', set.records.map((r) => JSON.stringify(r)).join('\n') + '\n'],
  ];
  for (const a of ATTRIBUTES)
    files.push([`${a}.npy`, encodeNpy({ dtype: 'float32', dims: [N], data: Float32Array.from(set.records, (r) => r.attributes[a]) })]);
  for (const c of CUES) files.push([`boxes-${c}.jsonl`, set.records.map((r) => JSON.stringify({ boxes: r.boxes[c] ? [r.boxes[c]] : [] })).join('\n') + '\n']);
  return files;
}

interface GenerateFlags {
  out: string;
  size: number;
  base: number;
  attributes: number;
  kdef: number;
  seed: number;
  quiet?: boolean;
}

async function generateCommand(f: GenerateFlags): Promise<void> {
  checkOutputFolder('--out', f.out);
  // Sets of two runs (other seeds or sizes) must never mix in one folder.
  if (existsSync(f.out) && readdirSync(f.out).length > 0) throw new Error(`--out ${f.out} is not empty; give a new or empty folder`);
  if (f.size < 16 || f.size > 256) throw new Error(`--size must be between 16 and 256 pixels, got ${f.size}`);
  const sets: [string, FaceSet][] = [];
  if (f.base > 0) sets.push(['base', generateFaces('base', f.base, f.size, f.seed)]);
  if (f.attributes > 0) sets.push(['attributes', generateFaces('attributes', f.attributes, f.size, f.seed)]);
  if (f.kdef > 0) sets.push(['kdef', generateKdef(f.kdef, f.size, f.seed)]);
  if (sets.length === 0) throw new Error('nothing to generate: --base, --attributes and --kdef are all 0');
  const meta = {
    generator: 'relprop faces generate (src/core/faces/generator.ts)',
    seed: f.seed,
    size: f.size,
    sets: Object.fromEntries(sets.map(([n, s]) => [n, s.records.length])),
    age_groups: AGE_GROUPS,
    gender_like: ['0: long hair, round jaw, thin brows (each cue with probability 0.8)', '1: short hair, square jaw, thick brows'],
    attributes: Object.fromEntries(ATTRIBUTES.map((a) => [a, { cue_box: ATTRIBUTE_CUE[a] }])),
    box_format: '[x0, y0, x1, y1], half-open pixel coordinates (x0 <= x < x1, y0 <= y < y1)',
  };
  const files: [string, FileData][] = [['faces.json', JSON.stringify(meta, null, 2) + '\n']];
  for (const [name, set] of sets) for (const [file, data] of faceSetFiles(set)) files.push([join(name, file), data]);
  const created = ensureDir(f.out);
  try {
    for (const [name] of sets) created.push(...ensureDir(join(f.out, name)));
    await writeFilesAtomic(files.map(([name, data]) => [join(f.out, name), data]));
  } catch (e) {
    removeFolders(created);
    throw e;
  }
  if (!f.quiet) process.stdout.write(`wrote ${sets.map(([n, s]) => `${n} (${s.records.length})`).join(', ')} faces of ${f.size}×${f.size} to ${f.out}\n`);
}

export function registerFacesCommands(program: Command): void {
  const faces = program.command('faces').description('procedural faces with known attributes and cue regions (transfer learning, issue 17)');
  const gen = faces
    .command('generate')
    .description('write base (age, gender-like), attribute and KDEF-like face sets as .npy with labels and cue boxes')
    .requiredOption('--out <dir>', 'output folder (must not exist or be empty)')
    .option('--size <pixels>', 'image side', posInt('--size'), 32)
    .option('--base <n>', 'base-set images (age and gender-like labels)', nonNegInt('--base'), 20000)
    .option('--attributes <n>', 'attribute-set images', nonNegInt('--attributes'), 2222)
    .option('--kdef <n>', 'KDEF-like identities (7 expressions each)', nonNegInt('--kdef'), 35);
  seedOption(gen, 'the faces', 0);
  quietOption(gen).action(async (opts) => generateCommand(opts));
}
