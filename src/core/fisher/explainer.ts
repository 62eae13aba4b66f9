/**
 * Explaining an FV classifier: the model's graph with the LRP of lrp.ts appended, run in batches.
 * Targets default to the predicted class (from a run of the plain model). The audit says where
 * relevance goes: f_c, the dropped bias b_c, Σ_d R_d (= f_c − b_c), Σ_t R_t (what ε leaves) and
 * Σ pixels (= Σ_t R_t: the spread over patches is exact).
 */
import { encodeModel } from '../onnx/model.js';
import { float32, int64, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime, type Session } from '../runtime.js';
import { checkImages } from './fit.js';
import { buildFisherGraph, type FisherParams } from './model.js';

export interface FisherAudit {
  score: number;
  bias: number;
  fvSum: number;
  descriptorSum: number;
  pixelSum: number;
}

export interface FisherExplanation {
  logits: TensorData;
  relevance: TensorData;
  targets: number[];
  predicted: number[];
  audit: FisherAudit[];
}

export class FisherExplainer {
  private constructor(
    readonly params: FisherParams,
    readonly epsilon: number,
    private readonly model: Session,
    private readonly explainer: Session,
  ) {}

  static async create(params: FisherParams, epsilon: number, opts: { runtime?: Runtime; threads?: number } = {}): Promise<FisherExplainer> {
    if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new Error(`epsilon must be a positive number, got ${epsilon}`);
    const so = { threads: opts.threads ?? 0 };
    const model = await openSession(opts.runtime, encodeModel(buildFisherGraph(params), 'relprop-fv'), so, 'the FV model');
    const explainer = await openSession(
      opts.runtime,
      encodeModel(buildFisherGraph(params, { explain: { epsilon } }), 'relprop-fv-explainer'),
      so,
      'the FV explainer',
    );
    return new FisherExplainer(params, epsilon, model, explainer);
  }

  /** The explainer graph itself (for --save-explainer). */
  explainerModel(): Uint8Array {
    return encodeModel(buildFisherGraph(this.params, { explain: { epsilon: this.epsilon } }), 'relprop-fv-explainer');
  }

  validate(x: TensorData): void {
    checkImages(x, 'the input');
    const [, C, H, W] = x.dims;
    const p = this.params;
    if (C !== p.channels || H !== p.height || W !== p.width)
      throw new Error(`the FV model takes images [N, ${p.channels}, ${p.height}, ${p.width}]; the input is ${JSON.stringify(x.dims)}`);
  }

  async scores(x: TensorData, batch = 32): Promise<TensorData> {
    this.validate(x);
    const N = x.dims[0]!;
    const K = this.params.classes;
    const out = new Float32Array(N * K);
    const per = x.data.length / N;
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      const r = await this.model.run({
        image: { dtype: 'float32', dims: [e - s, ...x.dims.slice(1)], data: (x.data as Float32Array).subarray(s * per, e * per) },
      });
      out.set(r.scores!.data as Float32Array, s * K);
    }
    return float32([N, K], out);
  }

  async explain(x: TensorData, target: number | number[] | 'predicted' = 'predicted', batch = 16): Promise<FisherExplanation> {
    const logits = await this.scores(x);
    const N = x.dims[0]!;
    const K = this.params.classes;
    const L = logits.data as Float32Array;
    const predicted = Array.from({ length: N }, (_, i) => {
      let best = 0;
      for (let k = 1; k < K; k++) if (L[i * K + k]! > L[i * K + best]!) best = k;
      return best;
    });
    const targets = target === 'predicted' ? predicted : typeof target === 'number' ? new Array<number>(N).fill(target) : target;
    if (targets.length !== N) throw new Error(`${targets.length} targets for ${N} samples`);
    for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= K) throw new Error(`target ${t} is outside the model's classes 0..${K - 1}`);
    const per = x.data.length / N;
    const rel = new Float32Array(x.data.length);
    const audit: FisherAudit[] = [];
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      const r = await this.explainer.run({
        image: { dtype: 'float32', dims: [e - s, ...x.dims.slice(1)], data: (x.data as Float32Array).subarray(s * per, e * per) },
        target: int64([e - s], targets.slice(s, e)),
      });
      const rr = r.relevance!.data as Float32Array;
      rel.set(rr, s * per);
      for (let i = s; i < e; i++) {
        let pix = 0;
        for (let j = (i - s) * per; j < (i - s + 1) * per; j++) pix += rr[j]!;
        audit.push({
          score: L[i * K + targets[i]!]!,
          bias: (r.target_bias!.data as Float32Array)[i - s]!,
          fvSum: (r.relevance_fv_sum!.data as Float32Array)[i - s]!,
          descriptorSum: (r.relevance_descriptor_sum!.data as Float32Array)[i - s]!,
          pixelSum: pix,
        });
      }
    }
    return { logits, relevance: { dtype: 'float32', dims: [...x.dims], data: rel }, targets, predicted, audit };
  }

  async release(): Promise<void> {
    await this.model.release();
    await this.explainer.release();
  }
}

/** Audit lines: where the target score's relevance goes, averaged over the samples. */
export function formatFisherAudit(a: FisherAudit[]): string {
  const mean = (f: (x: FisherAudit) => number) => a.reduce((s, x) => s + f(x), 0) / Math.max(1, a.length);
  const lines = [
    `FV audit (means over ${a.length} sample${a.length === 1 ? '' : 's'}):`,
    `  target score f            ${mean((x) => x.score).toFixed(6)}`,
    `  bias b (dropped)          ${mean((x) => x.bias).toFixed(6)}`,
    `  linear layer  Σ R_d       ${mean((x) => x.fvSum).toFixed(6)}  (= f − b)`,
    `  descriptors   Σ R_t       ${mean((x) => x.descriptorSum).toFixed(6)}  (ε absorbs ${mean((x) => x.fvSum - x.descriptorSum).toExponential(3)})`,
    `  pixels        Σ R_p       ${mean((x) => x.pixelSum).toFixed(6)}  (patch spread: exact)`,
  ];
  return lines.join('\n');
}
