/**
 * The original model as region perturbation runs it: one forward-only session fed batches of
 * (perturbed) images, padded when the model has a fixed batch size, read back as class scores.
 */
import { decodeModel, type ValueInfo } from '../onnx/model.js';
import { openSession, type Runtime, type Session } from '../runtime.js';

/** The model's first output must be class scores [N, K], K ≥ 2. */
function checkClassScores(dims: readonly number[], type: string, name: string, rows: number): number {
  if (type !== 'float32') throw new Error(`the model's output "${name}" is ${type}; region perturbation needs float class scores [N, K]`);
  if (dims.length !== 2 || dims[0] !== rows || !(dims[1]! >= 2)) {
    throw new Error(
      `the model's output "${name}" has shape ${JSON.stringify(dims)} for ${rows} input(s); region perturbation needs class scores of shape [N, K] with K ≥ 2`,
    );
  }
  return dims[1]!;
}

/** The model's image input must be float32 and match the data's sample shape; its fixed batch size, if any. */
function checkInput(meta: ValueInfo, sampleDims: number[]): number | null {
  if (meta.elemType !== 1) throw new Error(`the model reads ONNX type ${meta.elemType} input; region perturbation perturbs float32 images`);
  const shape = meta.shape;
  if (shape.length === 0) return null;
  if (shape.length !== sampleDims.length + 1)
    throw new Error(`the data has samples of shape ${JSON.stringify(sampleDims)} but the model expects rank ${shape.length} input ${JSON.stringify(shape)}`);
  shape.slice(1).forEach((d, i) => {
    if (typeof d === 'number' && d !== sampleDims[i])
      throw new Error(`the data has samples of shape ${JSON.stringify(sampleDims)} but the model expects ${JSON.stringify(shape)}`);
  });
  return typeof shape[0] === 'number' && shape[0] > 0 ? shape[0] : null;
}

/** A forward-only session of the original model. */
export class Forward {
  private constructor(
    readonly session: Session,
    readonly inputName: string,
    readonly outputName: string,
    readonly fixedBatch: number | null,
    readonly sampleDims: number[],
  ) {}

  /** Classes K, known after the first run. */
  K = 0;

  static async create(model: Uint8Array, runtime: Runtime | undefined, threads: number | undefined, sampleDims: number[]): Promise<Forward> {
    const graph = decodeModel(model);
    if (graph.inputs.length !== 1) throw new Error(`the model has ${graph.inputs.length} inputs; region perturbation needs a single image input`);
    const session = await openSession(runtime, model, { threads }, 'the model');
    try {
      const fixedBatch = checkInput(graph.inputs[0]!, sampleDims);
      return new Forward(session, session.inputNames[0]!, session.outputNames[0]!, fixedBatch, sampleDims);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Logits of `rows` samples stored in `data` (length ≥ rows × per). */
  async run(data: Float32Array, rows: number): Promise<Float32Array> {
    const perSample = this.sampleDims.reduce((a, b) => a * b, 1);
    let feedRows = rows;
    let feed = data.length === rows * perSample ? data : data.subarray(0, rows * perSample);
    if (this.fixedBatch !== null && rows !== this.fixedBatch) {
      if (rows > this.fixedBatch) throw new Error('internal: batch larger than the fixed batch size');
      const padded = new Float32Array(this.fixedBatch * perSample);
      padded.set(feed);
      feed = padded;
      feedRows = this.fixedBatch;
    }
    const res = await this.session.run({ [this.inputName]: { dtype: 'float32', dims: [feedRows, ...this.sampleDims], data: feed } });
    const out = res[this.outputName]!;
    const K = checkClassScores(out.dims, out.dtype, this.outputName, feedRows);
    if (this.K === 0) this.K = K;
    return (out.data as Float32Array).subarray(0, rows * K);
  }

  /** Largest batch the session takes. */
  capBatch(b: number): number {
    return this.fixedBatch ?? b;
  }
}

/** The tracked score of one row of logits: the target's logit, or its softmax probability. */
export function scoreOf(logits: Float32Array, row: number, K: number, target: number, kind: 'logit' | 'probability'): number {
  const off = row * K;
  if (kind === 'logit') return logits[off + target]!;
  let m = -Infinity;
  for (let k = 0; k < K; k++) m = Math.max(m, logits[off + k]!);
  let s = 0;
  for (let k = 0; k < K; k++) s += Math.exp(logits[off + k]! - m);
  return Math.exp(logits[off + target]! - m) / s;
}
