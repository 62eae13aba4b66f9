/**
 * A trained FV classifier and its ONNX form: one graph from the image [N, C, H, W] to the class
 * scores [N, classes] (descriptors → PCA → GMM posteriors → FV terms → sum → power + L2
 * normalisation → linear one-vs-rest scores). The parameters are initializers under fixed names
 * (fv/pca_mean, fv/gmm_means, fv/svm_weights, …), so a saved model is read back by name; the
 * settings that are not tensors (patch sizes, stride, …) travel in the JSON card.
 */
import { ELEM, type Graph } from '../onnx/model.js';
import { float32 } from '../onnx/tensor.js';
import { toF32 } from '../onnx/values.js';
import { DEFAULT_CONFIG, type FisherConfig, type Geometry, geometry, regionMask } from './config.js';
import { addDescriptors } from './descriptors.js';
import { fisherTerms, fisherVector, logJoint, normalise, posteriors, type GmmTensors } from './encode.js';
import { FvGraph } from './graph.js';
import { addRelevance } from './lrp.js';

export interface Gmm {
  K: number;
  D: number;
  priors: Float32Array;
  /** [K, D] row-major. */
  means: Float32Array;
  variances: Float32Array;
}

export interface FisherParams {
  config: FisherConfig;
  channels: number;
  height: number;
  width: number;
  /** [R] and [R, D] row-major: l = (d − mean) · proj. */
  pcaMean: Float32Array;
  pcaProj: Float32Array;
  gmm: Gmm;
  classes: number;
  /** [F, classes] row-major and [classes]; absent before the classifier is trained. */
  weights?: Float32Array;
  bias?: Float32Array;
}

export function geometryOf(p: FisherParams): Geometry {
  return geometry(p.config, p.channels, p.height, p.width);
}

export interface BuildOptions {
  /** Stop after the FV: outputs `phi` (normalised) and `z` (raw) [N, F] instead of scores. */
  featuresOnly?: boolean;
  /** Add the LRP of lrp.ts: input `target` [N] (int64), outputs relevance and audit sums. */
  explain?: { epsilon: number };
}

const NAMES = {
  pcaMean: 'fv/pca_mean',
  pcaProj: 'fv/pca_proj',
  logPriors: 'fv/gmm_log_priors',
  means: 'fv/gmm_means',
  variances: 'fv/gmm_variances',
  weights: 'fv/svm_weights',
  bias: 'fv/svm_bias',
};

/** The FV model's graph; see BuildOptions for its variants. */
export function buildFisherGraph(p: FisherParams, opts: BuildOptions = {}): Graph {
  const geo = geometryOf(p);
  const fg = new FvGraph();
  const { b } = fg;
  const { K, D } = p.gmm;
  const R = geo.rawDims;
  const image = fg.input('image', ['N', p.channels, p.height, p.width]);
  const desc = addDescriptors(fg, image, p.config, geo);
  const mean = fg.param(NAMES.pcaMean, float32([R], p.pcaMean));
  const proj = fg.param(NAMES.pcaProj, float32([R, D], p.pcaProj));
  const l = b.op('MatMul', [b.sub(desc, mean), proj], {}, 'pca');
  const g: GmmTensors = {
    logPriors: fg.param(NAMES.logPriors, float32([K], Array.from(p.gmm.priors, Math.log))),
    means: fg.param(NAMES.means, float32([K, D], p.gmm.means)),
    variances: fg.param(NAMES.variances, float32([K, D], p.gmm.variances)),
  };
  const gamma = posteriors(b, logJoint(b, l, g, D));
  const mask = geo.regions === 1 ? undefined : fg.param('fv/pyramid_mask', float32([geo.regions, geo.count], regionMask(p.config, geo)));
  // z [N, regions·F]. The explainer keeps the per-descriptor terms ψ [N, T, F] and sums them
  // (LRP redistributes over exactly that sum); inference and fitting use the moment form.
  const psi = opts.explain ? fisherTerms(b, l, gamma, g, geo.count) : undefined;
  const z = !psi
    ? fisherVector(b, l, gamma, g, geo.count, mask)
    : mask
      ? b.op('Reshape', [b.op('MatMul', [mask, psi]), b.ints([0, -1])], {}, 'fv')
      : b.op('ReduceSum', [psi, b.ints([1])], { keepdims: 0 }, 'fv');
  const phi = normalise(b, z, p.config.power);
  if (opts.featuresOnly) {
    fg.output('phi', phi, ['N', geo.fvDims]);
    fg.output('z', z, ['N', geo.fvDims]);
    return fg.g;
  }
  if (!p.weights || !p.bias) throw new Error('internal: the FV classifier is not trained yet');
  const W = fg.param(NAMES.weights, float32([geo.fvDims, p.classes], p.weights));
  const bias = fg.param(NAMES.bias, float32([p.classes], p.bias));
  const scores = b.add(b.op('MatMul', [phi, W]), bias);
  fg.output('scores', scores, ['N', p.classes]);
  if (opts.explain) {
    const target = fg.input('target', ['N'], ELEM.INT64);
    const r = addRelevance(fg, { phi, z, psi: psi!, mask, W, bias, target, geo, epsilon: opts.explain.epsilon });
    fg.output('relevance', r.pixels, ['N', p.channels, p.height, p.width]);
    fg.output('relevance_fv_sum', r.fvSum, ['N']);
    fg.output('relevance_descriptor_sum', r.descriptorSum, ['N']);
    fg.output('target_bias', r.targetBias, ['N']);
  }
  return fg.g;
}

/** The JSON card's `fisher` section: what a saved model needs besides its tensors. */
export interface FisherCardSection {
  config: FisherConfig;
  channels: number;
  height: number;
  width: number;
  classes: number;
  /** ε of the LRP redistribution chosen at training time (1e-2 × median |z_d| over training images). */
  epsilon: number;
}

export function cardSection(p: FisherParams, epsilon: number): FisherCardSection {
  return { config: p.config, channels: p.channels, height: p.height, width: p.width, classes: p.classes, epsilon };
}

/** Read the parameters back from a saved model's graph and its card section. */
export function fisherFromGraph(g: Graph, s: FisherCardSection, source: string): FisherParams {
  const get = (name: string): Float32Array => {
    const t = g.initializers.get(name);
    if (!t) throw new Error(`${source} is not a relprop FV model: it has no tensor ${name}`);
    return toF32(t, name);
  };
  const means = get(NAMES.means);
  const K = s.config.components;
  const D = s.config.pcaDims;
  if (means.length !== K * D) throw new Error(`${source}: ${NAMES.means} holds ${means.length} values, the card says ${K}×${D}`);
  return {
    config: { ...DEFAULT_CONFIG, ...s.config },
    channels: s.channels,
    height: s.height,
    width: s.width,
    classes: s.classes,
    pcaMean: get(NAMES.pcaMean),
    pcaProj: get(NAMES.pcaProj),
    gmm: { K, D, priors: Float32Array.from(get(NAMES.logPriors), Math.exp), means, variances: get(NAMES.variances) },
    weights: get(NAMES.weights),
    bias: get(NAMES.bias),
  };
}
