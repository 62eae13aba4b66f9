/** Readers for test/fixtures/lrp (Zennit reference outputs, vendored: see test/fixtures/README.md). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TensorData } from '../../src/core/onnx/tensor.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lrp');

export interface FixtureCase {
  id: string;
  method: string;
  params: Record<string, unknown>;
  layer_rules?: Record<string, unknown>;
  expected: { shape: number[]; data: number[] }[];
  expected_embedding?: { shape: number[]; data: number[] }[];
  tolerance: { rel_l2: number };
}

export interface FixtureModel {
  model: string;
  onnx: string[];
  inputs: { shape: number[]; dtype: string; data: number[] }[];
  targets: number[];
  logits: number[][];
  cases: FixtureCase[];
}

export function fixtureModels(): string[] {
  if (!existsSync(FIXTURES)) throw new Error(`fixtures not found at ${FIXTURES}`);
  return readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'cases.json')))
    .sort();
}

export function loadFixture(name: string): FixtureModel {
  return JSON.parse(readFileSync(join(FIXTURES, name, 'cases.json'), 'utf8')) as FixtureModel;
}

export function fixtureInput(inp: FixtureModel['inputs'][number]): TensorData {
  return inp.dtype === 'int64'
    ? { dtype: 'int64', dims: inp.shape, data: BigInt64Array.from(inp.data.map((v) => BigInt(v))) }
    : { dtype: 'float32', dims: inp.shape, data: Float32Array.from(inp.data) };
}

/** Concatenate batch-1 inputs into one batch. */
export function stackInputs(inputs: TensorData[]): TensorData {
  const per = inputs[0]!.data.length;
  const dims = [inputs.length, ...inputs[0]!.dims.slice(1)];
  if (inputs[0]!.dtype === 'int64') {
    const d = new BigInt64Array(per * inputs.length);
    inputs.forEach((t, i) => d.set(t.data as BigInt64Array, i * per));
    return { dtype: 'int64', dims, data: d };
  }
  const d = new Float32Array(per * inputs.length);
  inputs.forEach((t, i) => d.set(t.data as Float32Array, i * per));
  return { dtype: 'float32', dims, data: d };
}

export function relL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

/**
 * Explainer options for a fixture case (`method` names use dashes in relprop). `layer_rules`
 * lists the nodes of model.onnx and model_bn.onnx; for `file` = model.onnx the BatchNormalization
 * entries are left out, as that file has no such nodes (the exporter fused them).
 */
export function caseOptions(c: FixtureCase, file?: string) {
  const rules =
    c.method === 'lrp' && c.layer_rules && file === 'model.onnx'
      ? Object.fromEntries(Object.entries(c.layer_rules).filter(([, r]) => (r as { op?: string }).op !== 'BatchNormalization'))
      : c.layer_rules;
  return {
    method: c.method.replace(/_/g, '-') as 'lrp',
    rules: c.method === 'lrp' ? rules : undefined,
    steps: c.method === 'integrated_gradients' ? 32 : undefined,
  };
}
