/**
 * The backward table: one adjoint per ONNX operator, on plain tensor names, attributes and static
 * shapes. The explainer's gradient rules (and LRP's routing through shape operators) and the
 * training-step builder both take their adjoints from the modules listed here:
 *
 * | operator                                   | adjoint                          | module          |
 * |--------------------------------------------|----------------------------------|-----------------|
 * | Relu, LeakyRelu, Tanh, Sigmoid, Clip       | activationAdjoint                | activation.ts   |
 * | MatMul / Gemm (dense)                      | denseAdjoint (dY·Wᵀ)             | dense.ts        |
 * | Conv (1-D/2-D, groups, dilation)           | convAdjoint                      | conv.ts         |
 * | MaxPool (+ GlobalMaxPool with known size)  | maxPoolBackward (indices)        | pooling.ts      |
 * | GlobalMaxPool (size unknown)               | globalMaxPoolAdjoint (ArgMax)    | pooling.ts      |
 * | AveragePool                                | avgPoolAdjoint                   | pooling.ts      |
 * | GlobalAveragePool, ReduceMean              | meanAdjoint                      | pooling.ts      |
 * | BatchNormalization (inference / training)  | channelScaleAdjoint / batchNormTrainingAdjoint | normalization.ts |
 * | LRN                                        | lrnGradient                      | lrn.ts          |
 * | Reshape, Flatten, Squeeze, Unsqueeze       | reshapeAdjoint                   | structural.ts   |
 * | Transpose, Pad, Slice, Concat, Split       | transpose/pad/slice/concat/splitAdjoint | structural.ts |
 * | Add/Sub/Mul/Div with a constant            | constArithAdjoint                | elementwise.ts  |
 * | Add of two tensors (residual)              | dY to both operands              | elementwise.ts  |
 * | Gather (embedding table)                   | embeddingTableAdjoint            | embedding.ts    |
 *
 * Max-pool ties, everywhere: the first maximum of a window (row-major) gets the whole gradient.
 */
export { activationAdjoint, positiveMask, ACTIVATION_OPS } from './activation.js';
export { denseAdjoint, transposedWeight } from './dense.js';
export { convAdjoint, convGeometryOf, flipSwap, flippedKernelInGraph, resolvePads, type ConvGeometry } from './conv.js';
export { maxPoolBackward, reluMaskAtPooled, poolsWithoutOverlap, avgPoolAdjoint, avgPoolGeometry, meanAdjoint, globalMaxPoolAdjoint } from './pooling.js';
export { channelScaleAdjoint, batchNormTrainingAdjoint, channelShape } from './normalization.js';
export { lrnGradient, lrnAttrs, lrnForward, type LrnAttrs, type LrnParts } from './lrn.js';
export { reshapeAdjoint, transposeAdjoint, padAdjoint, sliceAdjoint, concatAdjoint, splitAdjoint } from './structural.js';
export { constArithAdjoint, residualAddAdjoint } from './elementwise.js';
export { embeddingTableAdjoint } from './embedding.js';
