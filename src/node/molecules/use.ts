/**
 * `relprop molecules predict MODEL INPUT` and `relprop molecules explain MODEL INPUT --property P`:
 * a saved network (the ONNX model and the pipeline JSON `train --model` wrote beside it) applied to
 * molecules from XYZ (one or many per file) or the data set's JSONL. Predictions are averaged over
 * the pipeline's test-time random Coulomb matrices; explanations are per-atom relevance
 * (core/molecules/relevance.ts) with a picture per molecule as SVG and PNG and one HTML page,
 * written all or none.
 */
import { readFileSync, statSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import type { Command } from 'commander';
import { Explainer } from '../../core/explain/explainer.js';
import { type ImportedModel, importModel } from '../../core/graph/import.js';
import { expansionWidth } from '../../core/molecules/expand.js';
import { moleculeSvg, relevanceHtml } from '../../core/molecules/depict.js';
import { elementSymbol, type Molecule } from '../../core/molecules/molecule.js';
import { pipelineFromJson, predictMatrices, type QmPipeline } from '../../core/molecules/pipeline.js';
import { explainAtoms, moleculeExplainerOptions, propertyIndex } from '../../core/molecules/relevance.js';
import { coulombMatrix } from '../../core/molecules/coulomb.js';
import { openSession } from '../../core/runtime.js';
import { readModelFile } from '../files.js';
import { writeFileAtomic, writeOutputFolder } from '../io/atomic.js';
import { num, posInt } from '../cli/values.js';
import { loadMoleculeRecords, loadXyz } from './data.js';

export interface LoadedQm {
  model: Uint8Array;
  imported: ImportedModel;
  pipeline: QmPipeline;
}

/** The model and its pipeline JSON (`<model>.json`). */
export function loadQmModel(path: string): LoadedQm {
  if (!path.endsWith('.onnx')) throw new Error(`the model must be the .onnx file relprop molecules train --model wrote, got ${path}`);
  const model = readModelFile(path);
  const pj = path.replace(/\.onnx$/, '.json');
  let text: string;
  try {
    text = readFileSync(pj, 'utf8');
  } catch {
    throw new Error(`cannot read ${pj}, the pipeline written beside the model by relprop molecules train --model`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${pj}: not JSON (${(e as Error).message})`);
  }
  const pipeline = pipelineFromJson(j, pj);
  const imported = importModel(model, path);
  const width = expansionWidth(pipeline.expansion);
  if (imported.inputShape[1] !== width)
    throw new Error(
      `${path} reads ${imported.inputShape[1]} features but its pipeline ${pj} expands molecules to ${width}: a model and a pipeline from different runs`,
    );
  return { model, imported, pipeline };
}

/** Molecules of an .xyz file (ids = position) or of .jsonl data (ids = record ids), each checked against the matrix size. */
export function loadMolecules(path: string, size: number): { molecules: Molecule[]; ids: number[] } {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new Error(`molecules file ${path} does not exist`);
  }
  let molecules: Molecule[];
  let ids: number[];
  if (!isDir && /\.xyz$/i.test(path)) {
    molecules = loadXyz(path);
    ids = molecules.map((_, i) => i);
  } else if (isDir || /\.jsonl$/i.test(path)) {
    const rs = loadMoleculeRecords(path, []);
    molecules = rs;
    ids = rs.map((r) => r.id);
  } else throw new Error(`${path}: molecules must be an .xyz file, a .jsonl file or a folder of .jsonl parts`);
  for (const m of molecules)
    if (m.Z.length > size) throw new Error(`${m.at ?? path}: molecule ${m.name}: ${m.Z.length} atoms, more than the ${size} the model's Coulomb matrices hold`);
  return { molecules, ids };
}

async function predict(modelPath: string, input: string, o: { json?: boolean; out?: string; threads?: number }) {
  const { model, pipeline: p } = loadQmModel(modelPath);
  const { molecules, ids } = loadMolecules(input, p.size);
  const session = await openSession(undefined, model, { threads: o.threads }, 'the molecules network');
  let pred: Float64Array;
  try {
    pred = await predictMatrices(
      session,
      p,
      molecules.map((m) => coulombMatrix(m, p.size)),
      ids,
    );
  } finally {
    await session.release();
  }
  const T = p.targets.length;
  const records = molecules.map((m, k) => ({
    name: m.name,
    atoms: m.Z.length,
    properties: Object.fromEntries(p.targets.map((t, i) => [t, pred[k * T + i]!])),
  }));
  const json = `${JSON.stringify({ model: modelPath, units: Object.fromEntries(p.targets.map((t, i) => [t, p.units[i]])), realisations: p.testRealisations, molecules: records }, null, 1)}\n`;
  if (o.out) await writeFileAtomic(o.out, json);
  if (o.json) process.stdout.write(json);
  else
    process.stdout.write(
      records
        .map((r, k) =>
          [
            `molecule ${r.name} (${r.atoms} atoms)`,
            ...p.targets.map((t, i) => `  ${t.padEnd(40)} ${pred[k * T + i]!.toPrecision(6).padStart(12)} ${p.units[i]}`),
          ].join('\n'),
        )
        .join('\n\n') + '\n',
    );
}

function svgToPng(svg: string): Uint8Array {
  const png = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } })
    .render()
    .asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

async function explain(
  modelPath: string,
  input: string,
  o: { property: string; out?: string; epsilon: number; realisations?: number; threads?: number; png: boolean },
) {
  const { imported, pipeline: p } = loadQmModel(modelPath);
  const t = propertyIndex(p.targets, o.property);
  const { molecules, ids } = loadMolecules(input, p.size);
  const explainer = await Explainer.create(imported, moleculeExplainerOptions(o.epsilon, o.threads));
  const rel = await explainAtoms(explainer, p, molecules, ids, t, o.realisations ?? p.testRealisations);
  const lines: string[] = [];
  rel.forEach((r, k) => {
    const m = molecules[k]!;
    lines.push(
      `molecule ${r.name}: ${r.property} = ${r.prediction.toPrecision(6)} ${r.unit} (training mean ${r.baseline.toPrecision(6)}; Σ atoms ${(r.relevance - r.padding).toPrecision(4)}, padding ${r.padding.toPrecision(4)}, absorbed ${r.absorbed.toPrecision(4)})`,
    );
    r.atoms.forEach((v, i) => lines.push(`  ${String(i + 1).padStart(3)} ${elementSymbol(m.Z[i]!).padEnd(2)} ${v.toPrecision(4).padStart(11)} ${r.unit}`));
  });
  const text = `${lines.join('\n')}\n`;
  if (!o.out) {
    process.stdout.write(text);
    return;
  }
  const files: [string, string | Uint8Array][] = [];
  const svgs = rel.map((r, k) => moleculeSvg(molecules[k]!, r));
  svgs.forEach((svg, k) => {
    files.push([`molecule-${k + 1}.svg`, svg]);
    if (o.png) files.push([`molecule-${k + 1}.png`, svgToPng(svg)]);
  });
  const json = {
    model: modelPath,
    input,
    property: p.targets[t],
    unit: p.units[t],
    epsilon: o.epsilon,
    realisations: rel[0]?.realisations,
    molecules: rel.map((r, k) => ({
      name: r.name,
      Z: molecules[k]!.Z,
      prediction: r.prediction,
      baseline: r.baseline,
      atoms: [...r.atoms],
      pairs: [...r.pairs],
      padding: r.padding,
      relevance: r.relevance,
      absorbed: r.absorbed,
    })),
  };
  files.push(['relevance.json', `${JSON.stringify(json, null, 1)}\n`]);
  files.push([
    'index.html',
    relevanceHtml(
      rel.map((r, k) => ({ molecule: molecules[k]!, relevance: r, svg: svgs[k]! })),
      `Per-atom relevance: ${p.targets[t]}`,
    ),
  ]);
  await writeOutputFolder(o.out, files);
  process.stdout.write(text);
}

export function registerMoleculesUseCommands(m: Command): void {
  m.command('predict')
    .description('all properties of molecules (XYZ or JSONL) from a saved network, averaged over random Coulomb matrices')
    .argument('<model>', 'the .onnx file of relprop molecules train --model (its pipeline .json beside it)')
    .argument('<molecules>', 'an .xyz file (one or many molecules), a .jsonl file or a folder of .jsonl parts')
    .option('--json', 'print JSON instead of a table')
    .option('--out <file>', 'also write the predictions as JSON')
    .option('--threads <n>', 'ONNX Runtime threads', posInt('--threads'))
    .action(async (model, input, opts) => predict(model, input, opts));
  m.command('explain')
    .description('per-atom relevance of one property (LRP through the network, the input expansion and the random matrices)')
    .argument('<model>', 'the .onnx file of relprop molecules train --model (its pipeline .json beside it)')
    .argument('<molecules>', 'an .xyz file (one or many molecules), a .jsonl file or a folder of .jsonl parts')
    .requiredOption('--property <name>', 'the property to explain: its full name or a unique part (e.g. homo_eV)')
    .option('--out <folder>', 'write relevance.json, molecule-K.svg/.png and index.html there (all or none)')
    .option('--epsilon <e>', 'ε of the ε-rule on the dense layers', num('--epsilon'), 0.01)
    .option('--realisations <n>', 'random Coulomb matrices averaged (default: the model’s test-time number)', posInt('--realisations'))
    .option('--no-png', 'SVG and HTML only')
    .option('--threads <n>', 'ONNX Runtime threads', posInt('--threads'))
    .action(async (model, input, opts) => explain(model, input, opts));
}
