/** `relprop inspect`: the layers relprop sees in a model and the rule each one gets. */
import { Explainer } from '../api.js';
import { fisherInspect } from '../fisher/inspect.js';
import { isFisherModel } from '../fisher/model-file.js';
import type { CompiledExplainer } from '../../core/explain/compile.js';
import { boxBoundsFromRange } from './box-bounds.js';
import { explainerOptions, type MethodFlags } from './options.js';

export async function inspectCommand(model: string, f: MethodFlags & { shape?: string; json?: boolean }): Promise<void> {
  if (isFisherModel(model)) return fisherInspect(model, f);
  const ex = await Explainer.create(model, explainerOptions(f));
  try {
    const declared = ex.model.inputShape;
    let shape: number[];
    if (f.shape) {
      shape = f.shape.split(/[x,]/).map(Number);
      if (shape.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`--shape needs positive integers like 1x3x224x224, got "${f.shape}"`);
    } else {
      if (declared.slice(1).some((d) => d === null)) throw new Error(`the model's input shape ${JSON.stringify(declared)} has free dimensions; give --shape`);
      shape = [1, ...(declared.slice(1) as number[])];
    }
    const c = await ex.compile(shape);
    const box = boxBounds(c, f, ex);
    if (f.json) {
      process.stdout.write(
        JSON.stringify(
          {
            input: c.input,
            inputShape: declared,
            classes: c.numClasses,
            layers: c.layers.map(({ name, op, kind, rule }) => ({ name, op, kind, rule })),
            merged: Object.fromEntries(ex.model.info.merged),
            strippedSoftmax: ex.model.info.strippedSoftmax,
            boxBounds: box,
          },
          null,
          2,
        ) + '\n',
      );
      return;
    }
    const out: string[] = [];
    out.push(
      `model ${model}: input "${c.input}" ${JSON.stringify(declared.map((d) => d ?? 'N'))} ${c.inputDtype}, ${c.numClasses} classes, method ${ex.method}`,
    );
    if (ex.model.info.strippedSoftmax) out.push(`output softmax "${ex.model.info.strippedSoftmax}" stripped: explaining logits`);
    for (const [bn, into] of ex.model.info.merged) out.push(`batch norm "${bn}" folded into "${into}"`);
    const w = [Math.max(5, ...c.layers.map((l) => l.name.length)), Math.max(2, ...c.layers.map((l) => l.op.length))];
    out.push(`${'layer'.padEnd(w[0]!)}  ${'op'.padEnd(w[1]!)}  rule`);
    for (const l of c.layers) out.push(`${l.name.padEnd(w[0]!)}  ${l.op.padEnd(w[1]!)}  ${l.rule}`);
    if (box) out.push(`box bounds${box.bounds ? ` [${box.bounds.join(', ')}] at the first layer` : ''}, from ${box.source}`);
    for (const warn of c.warnings) out.push(`warning: ${warn}`);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await ex.release();
  }
}

/** The zB/box bounds the layers get and where they came from (undefined: no box rule). */
function boxBounds(c: CompiledExplainer, f: MethodFlags, ex: Explainer): { bounds?: number[]; source: string } | undefined {
  if (!c.layers.some((l) => l.rule.startsWith('zbox('))) return undefined;
  const fromRange = boxBoundsFromRange(c, f, ex.options.inputRange, ex.inputRangeSource);
  if (fromRange) return fromRange;
  if (f.low !== undefined && f.high !== undefined) return { bounds: [f.low, f.high], source: '--low and --high' };
  return { source: 'the --rules entries' };
}
