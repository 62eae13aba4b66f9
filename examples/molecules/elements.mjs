// Per-atom relevance summed up by element over the test fold: what the committed model's
// explanations say on average, and how the relevance splits between atoms, padding slots and
// what biases absorb. Usage (after `npm run build`, from the repository root):
//   node examples/molecules/elements.mjs [DATA] > examples/molecules/results/elements.md
import { DEFAULT_TARGETS } from '../../dist/src/core/molecules/dataset.js';
import { makeSplit } from '../../dist/src/core/molecules/experiment.js';
import { elementSymbol } from '../../dist/src/core/molecules/molecule.js';
import { explainAtoms, moleculeExplainerOptions, propertyIndex } from '../../dist/src/core/molecules/relevance.js';
import { Explainer } from '../../dist/src/core/explain/explainer.js';
import '../../dist/src/node/register.js';
import { loadMoleculeRecords } from '../../dist/src/node/molecules/data.js';
import { loadQmModel } from '../../dist/src/node/molecules/use.js';

const data = process.argv[2] ?? '../shared/datasets/molecules';
const { model, pipeline } = loadQmModel('examples/molecules/model/qm-50-25.onnx');
const records = loadMoleculeRecords(data, DEFAULT_TARGETS);
const split = makeSplit(records, { folds: 5, testFold: 0, seed: 0, size: 23 });
const test = split.test.map((i) => records[i]);
const explainer = await Explainer.create(model, moleculeExplainerOptions(0.01, 1));

console.log(`Test fold 0 (${test.length} molecules), model qm-50-25, ε = 0.01, ${pipeline.testRealisations} random matrices per molecule.\n`);
for (const name of ['gfn2.atomization_energy_kcal_mol', 'gfn2.homo_eV', 'gfn2.lumo_eV', 'gfn2.dipole_debye', 'gfn2.polarizability_ang3']) {
  const t = propertyIndex(pipeline.targets, name);
  const rel = await explainAtoms(
    explainer,
    pipeline,
    test,
    test.map((m) => m.id),
    t,
  );
  const by = new Map();
  let [atoms, padding, absorbed, dev] = [0, 0, 0, 0];
  rel.forEach((r, k) => {
    test[k].Z.forEach((z, i) => {
      const e = by.get(z) ?? { n: 0, sum: 0, abs: 0 };
      e.n++;
      e.sum += r.atoms[i];
      e.abs += Math.abs(r.atoms[i]);
      by.set(z, e);
    });
    atoms += Math.abs(r.relevance - r.padding);
    padding += Math.abs(r.padding);
    absorbed += Math.abs(r.absorbed);
    dev += Math.abs(r.prediction - r.baseline);
  });
  const unit = pipeline.units[t];
  const N = rel.length;
  console.log(`### ${name} (${unit})\n`);
  console.log(
    `Mean |prediction − training mean| ${(dev / N).toPrecision(4)}; mean |Σ atoms| ${(atoms / N).toPrecision(4)}, |padding| ${(padding / N).toPrecision(4)}, |absorbed| ${(absorbed / N).toPrecision(4)}.\n`,
  );
  console.log('| element | atoms | mean relevance | mean abs relevance |');
  console.log('| --- | --- | --- | --- |');
  for (const [z, e] of [...by].sort((a, b) => a[0] - b[0]))
    console.log(`| ${elementSymbol(z)} | ${e.n} | ${(e.sum / e.n).toPrecision(3)} | ${(e.abs / e.n).toPrecision(3)} |`);
  console.log('');
}
