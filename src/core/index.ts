/**
 * relprop's browser-safe core: import, canonize, compile and run explainers, train, evaluate and
 * explain text, on any ONNX runtime behind the seam in runtime.ts. Imports no node:* module and no
 * runtime package.
 */
export { type Runtime, type Session, type SessionOptions, setDefaultRuntime, resolveRuntime } from './runtime.js';
export { checkExplainerOptions, Explainer, type ExplainerOptions, type Explanation, type Target, type AuditRow } from './explain/explainer.js';
export { nearestRootTaylor, sensitivity, type TaylorOptions, type TaylorResult } from './explain/taylor.js';
export { auditReport, formatAudit, type AuditReport, type AuditLine } from './explain/audit.js';
export { compileExplainer, type CompiledExplainer, type CompileOptions } from './explain/compile.js';
export { METHODS, type Method } from './explain/resolve.js';
export { COMPOSITES } from './composites/index.js';
export { checkRuleParams, makeRule, parseRuleObject, type RuleSpec, type RuleParams } from './rules/spec.js';
export { importModel, type ImportedModel } from './graph/import.js';
export { decodeModel, encodeModel, type Graph } from './onnx/model.js';
export { float32, int64, type TensorData } from './onnx/tensor.js';
export { readNpy, encodeNpy } from './onnx/npy.js';
export { relevanceToHeatmap, overlay, imageToRgba, heatmapGrid } from './visualize/heatmap.js';
export { colorize, type ColormapName } from './visualize/colormap.js';
export { Trainer, type Dataset, type TrainOptions, type EpochRecord } from './train/trainer.js';
export { type CheckpointStore, memoryCheckpoints } from './train/checkpoint-store.js';
export { buildGraph, initParams } from './train/graph.js';
export { specFromOnnx } from './train/from-onnx.js';
export { checkSpec, PRESETS, type ModelSpec, type LayerSpec } from './train/spec.js';
export { ppmiSvdVectors } from './text/word-vectors.js';
export { TextExplainer, type TextExplainerOptions } from './text/explain.js';
export { evaluateRegionPerturbation, type EvaluateConfig, type EvaluationResult, type RunOptions } from './evaluate/region-perturbation.js';
export { memoryProgress, type ProgressStore, type ProgressLog, type SampleRecord } from './evaluate/progress.js';
export { Vocabulary } from './text/vocab.js';
export { tokenize } from './text/tokenizer.js';
export { fitFisher, type FisherFit, type FisherFitOptions } from './fisher/fit.js';
export { FisherExplainer, formatFisherAudit, type FisherExplanation } from './fisher/explainer.js';
export { buildFisherGraph, fisherFromGraph, type FisherParams } from './fisher/model.js';
export { DEFAULT_CONFIG as FISHER_DEFAULTS, type FisherConfig } from './fisher/config.js';
export { boxMask, checkBoxes, localisationScore, type LocalisationScore, type PixelBox } from './evaluate/localisation.js';
export { ATTRIBUTES as FACE_ATTRIBUTES, cueBoxes, generateFaces, generateKdef, renderFace, type FaceRecord, type FaceSet } from './faces/generator.js';
export { type RbmParams, initRbm, moveOffsets, uncentered as uncenteredRbm } from './boltzmann/rbm.js';
export { RbmTrainer, type RbmTrainOptions, type BinaryData } from './boltzmann/train.js';
export { type DbmParams, initDbm, moveDbmOffsets, uncenteredDbm } from './boltzmann/dbm.js';
export { DbmTrainer, type DbmTrainOptions } from './boltzmann/dbm-train.js';
export { exactLogZ, aisLogZ, meanLogProb, type AisOptions, type AisResult, MAX_ENUMERATED_UNITS } from './boltzmann/likelihood.js';
export { exactDbmLogZ, aisDbmLogZ, meanDbmLogProb, meanDbmLogProbBound } from './boltzmann/dbm-likelihood.js';
export { rbmToOnnx, rbmFromOnnx } from './boltzmann/model-file.js';
export { dbmToOnnx, dbmFromOnnx } from './boltzmann/dbm-model-file.js';
export { readBoltzmannModel, type BoltzmannModel } from './boltzmann/any-model.js';
export { gibbsSamples, rbmAsDbm, type GibbsOptions, type GibbsSamples } from './boltzmann/sample.js';
export { valueGrid, filterGrid, tileShape } from './boltzmann/image-grid.js';
