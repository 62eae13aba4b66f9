/** Import: decode an ONNX file and canonicalize it (the first two stages of the pipeline). */
import { decodeModel, type Graph } from '../onnx/model.js';
import { canonicalize, type CanonInfo } from './canonize.js';

export interface ImportedModel {
  graph: Graph;
  info: CanonInfo;
  source: string;
  /** Declared input shape (numbers for fixed dims, null for symbolic ones) and element type. */
  inputName: string;
  inputShape: (number | null)[];
  inputElemType: number;
}

/** Decode and canonicalize model bytes; `source` names the model in messages (e.g. its path). */
export function importModel(bytes: Uint8Array, source = 'model'): ImportedModel {
  const graph = decodeModel(bytes, source);
  if (graph.inputs.length !== 1) {
    throw new Error(`${source} has ${graph.inputs.length} inputs (${graph.inputs.map((i) => i.name).join(', ')}); relprop explains single-input models`);
  }
  const inp = graph.inputs[0]!;
  const info = canonicalize(graph);
  return {
    graph,
    info,
    source,
    inputName: inp.name,
    inputShape: inp.shape.map((d) => (typeof d === 'number' ? d : null)),
    inputElemType: inp.elemType,
  };
}
