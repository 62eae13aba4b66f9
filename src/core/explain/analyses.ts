/**
 * Sign analyses of the layer view that let rules emit less: the x⁻ halves of z+, αβ and γ vanish
 * on an input known to be ≥ 0 (behind a ReLU), and γ needs no branch for negative outputs where
 * the output's relevance vanishes wherever the output is ≤ 0. Each layer kind states its part
 * (nonNegativeOutput, relevanceFollows); these walks combine the parts over the graph.
 */
import type { Graph } from '../onnx/model.js';
import { layerKind } from '../layers/registry.js';
import type { Layer, LayerView } from '../layers/view.js';
import type { RuleSpec } from '../rules/spec.js';

/** Tensors known to be ≥ 0: behind a ReLU, and what pooling/reshaping/adding such tensors gives (each kind says). */
export function nonNegativeTensors(view: LayerView, graph: Graph): Set<string> {
  const out = new Set<string>();
  for (const l of view.layers) {
    const ins = l.inputs.filter((i): i is string => !!i);
    const nn =
      layerKind(l.kind).nonNegativeOutput?.(
        l,
        ins.every((i) => out.has(i)),
        graph,
        out,
      ) ?? false;
    if (nn) for (const o of l.outputs) out.add(o);
  }
  return out;
}

/**
 * Tensors t whose relevance is provably 0 wherever t ≤ 0 (under LRP): t feeds only ReLUs (rule
 * pass) whose outputs r only reach rules that multiply by their input (ε, z+, αβ, γ, the norm
 * rules), possibly through max-pooling and reshaping, so R(r) = 0 where r = 0.
 */
export function relevanceVanishesAtNonPositive(view: LayerView, rules: Map<Layer, RuleSpec>, output: string): Set<string> {
  const consumers = new Map<string, Layer[]>();
  for (const l of view.layers) for (const i of l.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(l);
  // P(t): R(t) = 0 where t = 0. Consumers come later in topological order: walk backwards.
  const P = new Set<string>();
  const holds = (t: string): boolean => {
    if (t === output) return false;
    const cs = consumers.get(t) ?? [];
    return (
      cs.length > 0 &&
      cs.every((c) => {
        const rule = rules.get(c)!;
        if (c.kind === 'activation' && c.op === 'Relu' && rule.rule === 'pass') return P.has(c.outputs[0]!);
        const follows = layerKind(c.kind).relevanceFollows?.(rule) ?? null;
        if (follows === 'multiplies') return true;
        if (follows === 'routes') return c.outputs.every((o) => !consumers.has(o) || P.has(o));
        return false;
      })
    );
  };
  const Q = new Set<string>();
  for (let k = view.layers.length - 1; k >= 0; k--) {
    const l = view.layers[k]!;
    for (const o of l.outputs) {
      if (holds(o)) P.add(o);
      const cs = consumers.get(o) ?? [];
      // Q(y): y feeds only ReLUs with P at their outputs, so R(y) = 0 where y ≤ 0.
      if (o !== output && cs.length > 0 && cs.every((c) => c.kind === 'activation' && c.op === 'Relu' && rules.get(c)!.rule === 'pass' && P.has(c.outputs[0]!)))
        Q.add(o);
    }
  }
  return Q;
}
