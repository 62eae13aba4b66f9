/**
 * Side-effect import: makes onnxruntime-node the default runtime, and nothing else (the full
 * `relprop` entry also loads image codecs, plotting and the text tools).
 */
import { setDefaultRuntime } from '../core/runtime.js';
import { nodeRuntime } from './runtime-node.js';

setDefaultRuntime(nodeRuntime);
