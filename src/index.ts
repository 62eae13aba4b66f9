/** relprop's public API. */
export { Explainer, type ExplainerOptions, type Explanation, type Target, type AuditRow } from './explain/explainer.js';
export { auditReport, formatAudit, type AuditReport, type AuditLine } from './explain/audit.js';
export { compileExplainer, type CompiledExplainer, type CompileOptions } from './explain/compile.js';
export { METHODS, type Method } from './explain/resolve.js';
export { COMPOSITES } from './composites/index.js';
export { makeRule, parseRuleObject, type RuleSpec, type RuleParams } from './rules/spec.js';
export { importModel, type ImportedModel } from './graph/import.js';
export { decodeModel, encodeModel, type Graph } from './onnx/model.js';
export { float32, int64, type TensorData } from './onnx/tensor.js';
export { readNpy, encodeNpy } from './io/npy.js';
export { loadImage } from './io/image.js';
export { writeFileAtomic } from './io/atomic.js';
export { relevanceToHeatmap, encodePng, overlay } from './visualize/heatmap.js';
