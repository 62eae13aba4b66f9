/** A small graph under construction with named inputs and outputs, shared by the FV graphs. */
import { GraphBuilder } from '../onnx/builder.js';
import { ELEM, encodeModel, type Graph } from '../onnx/model.js';
import type { TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';

export type Dim = number | string;

export class FvGraph {
  readonly g: Graph = { nodes: [], initializers: new Map(), inputs: [], outputs: [], opset: 17, irVersion: 8, producer: 'relprop' };
  readonly b = new GraphBuilder(this.g, 'fv.op'); // parameters are 'fv/…': no clash

  input(name: string, shape: Dim[], elemType: number = ELEM.FLOAT): string {
    this.g.inputs.push({ name, elemType, shape });
    return name;
  }

  output(name: string, value: string, shape: Dim[]): void {
    this.g.nodes.push({ op: 'Identity', name: `${name}_out`, inputs: [value], outputs: [name], attrs: {} });
    this.g.outputs.push({ name, elemType: ELEM.FLOAT, shape });
  }

  /** A constant under a fixed name (the saved model's parameters are found by these names). */
  param(name: string, t: TensorData): string {
    if (this.g.initializers.has(name)) throw new Error(`internal: parameter ${name} defined twice`);
    this.g.initializers.set(name, t);
    return name;
  }

  async session(runtime: Runtime | undefined, what: string, threads?: number): Promise<Session> {
    return openSession(runtime, encodeModel(this.g, what), { threads: threads ?? 0 }, what);
  }
}

/** Run `session` over rows [0, n) in batches of `batch`; `feed(start, end)` builds the feeds. */
export async function inBatches(n: number, batch: number, run: (start: number, end: number) => Promise<void>): Promise<void> {
  for (let s = 0; s < n; s += batch) await run(s, Math.min(n, s + batch));
}
