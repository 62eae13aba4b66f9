/**
 * `relprop inspect` on a Fisher-vector model: its stages and what the FV decomposition does at
 * each (src/core/fisher/lrp.ts), instead of the layer table of the layer-by-layer compiler, which
 * does not apply to the FV layer.
 */
import { geometryOf } from '../../core/fisher/model.js';
import { loadFisherModel } from './model-file.js';

export interface FisherInspectFlags {
  method?: string;
  rule?: string;
  composite?: string;
  rules?: string;
  json?: boolean;
}

/** FV models have one explanation, their own decomposition: the layer-rule flags are refused, not ignored. */
export function refuseLayerRuleFlags(f: { method?: string; rule?: string; composite?: string; rules?: string }): void {
  if ((f.method !== undefined && f.method !== 'lrp') || f.rule || f.composite || f.rules)
    throw new Error(
      'FV models are explained by their own LRP decomposition (relevance per FV dimension → descriptors → patches); --method, --rule, --composite and --rules do not apply',
    );
}

export function fisherInspect(model: string, f: FisherInspectFlags): void {
  refuseLayerRuleFlags(f);
  const { params: p, epsilon, classes } = loadFisherModel(model);
  const c = p.config;
  const geo = geometryOf(p);
  const stages = [
    {
      stage: 'descriptors',
      what: `Conv/Relu/Conv: ${c.orientations} orientations, ${c.cells}×${c.cells} cells, patches ${c.patchSizes.join(',')} px at stride ${c.stride}; ${geo.count} per image`,
      relevance: "each descriptor's relevance spread uniformly over its patch (exact)",
    },
    { stage: 'pca', what: `${geo.rawDims} → ${c.pcaDims} dimensions`, relevance: 'part of the descriptor (not entered)' },
    {
      stage: 'fisher-vector',
      what: `diagonal GMM, ${c.components} components; means and variances, ${geo.regions} region${geo.regions > 1 ? 's' : ''} (pyramid ${c.pyramid.join(',')}): ${geo.fvDims} dimensions`,
      relevance: `ε-share of each descriptor's term in each FV dimension, ε = ${epsilon.toPrecision(4)} (conservative up to ε)`,
    },
    { stage: 'normalisation', what: `power ${c.power}, L2`, relevance: 'passed unchanged (modelling choice)' },
    { stage: 'linear', what: `one-vs-rest linear SVMs, ${p.classes} classes`, relevance: 'R_d = w_dc Φ̃_d, sums to f_c − b_c (bias dropped)' },
  ];
  if (f.json) {
    const out = { family: 'fisher-vector', input: [p.channels, p.height, p.width], classes: classes ?? p.classes, epsilon, config: c, stages };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  const lines = [
    `model ${model}: Fisher-vector classifier, input "image" ["N",${p.channels},${p.height},${p.width}] float32, ${p.classes} classes, FV decomposition`,
  ];
  const w = [Math.max(...stages.map((s) => s.stage.length)), Math.max(...stages.map((s) => s.what.length))];
  lines.push(`${'stage'.padEnd(w[0]!)}  ${'what'.padEnd(w[1]!)}  relevance`);
  for (const s of stages) lines.push(`${s.stage.padEnd(w[0]!)}  ${s.what.padEnd(w[1]!)}  ${s.relevance}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
