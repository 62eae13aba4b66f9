/**
 * relprop on Node.js: the core (`relprop/core`) with onnxruntime-node as its default runtime
 * (onnxruntime-web where npm left the optional native package out; RELPROP_RUNTIME chooses), plus
 * files, image codecs, data loaders, checkpoints and the bundled model. Importing this module
 * registers the runtime.
 */
import './register.js';

export * from '../core/index.js';
export { nodeRuntime } from './runtime-node.js';
export { Explainer, TextExplainer, evaluateRegionPerturbation, type NodeTextExplainerOptions, type NodeRunOptions } from './api.js';
export { fileProgress } from './evaluate/progress.js';
export { readModelFile, loadVocabulary, saveVocabulary, vocabPathFor } from './files.js';
export { folderCheckpoints } from './train/checkpoints.js';
export { loadImage } from './io/image.js';
export { writeFileAtomic } from './io/atomic.js';
export { encodePng } from './visualize/png.js';
export { loadLabelledData } from './data/datasets.js';
export { loadJsonlDataset } from './text/dataset.js';
export { runTextExperiments } from './text/experiments.js';
export { bundledModel, type BundledModel } from './bundled.js';
