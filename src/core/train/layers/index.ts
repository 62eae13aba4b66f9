/**
 * The training-side registry of layer types: one emitter per spec layer type (forward nodes,
 * parameters and the backward closure). A new layer type adds a file here and a line below
 * (and its spec in spec.ts).
 */
import type { Emitter } from '../context.js';
import type { LayerSpec } from '../spec.js';
import { activationLayer } from './activation.js';
import { batchNormLayer } from './batchnorm.js';
import { concatLayer, residualLayer } from './blocks.js';
import { convLayer } from './conv.js';
import { denseLayer } from './dense.js';
import { dropoutLayer } from './dropout.js';
import { embeddingLayer } from './embedding.js';
import { flattenLayer } from './flatten.js';
import { lrnLayer } from './lrn.js';
import { globalPoolLayer, poolLayer, sumPoolLayer } from './pooling.js';

export const LAYER_EMITTERS: { [T in LayerSpec['type']]: Emitter<T> } = {
  conv1d: convLayer,
  conv2d: convLayer,
  dense: denseLayer,
  relu: activationLayer,
  tanh: activationLayer,
  sigmoid: activationLayer,
  leakyrelu: activationLayer,
  maxpool: poolLayer,
  avgpool: poolLayer,
  sumpool: sumPoolLayer,
  globalavgpool: globalPoolLayer,
  globalmaxpool: globalPoolLayer,
  dropout: dropoutLayer,
  batchnorm: batchNormLayer,
  lrn: lrnLayer,
  flatten: flattenLayer,
  embedding: embeddingLayer,
  residual: residualLayer,
  concat: concatLayer,
};
