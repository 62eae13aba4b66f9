// Tests that call core modules directly run them on onnxruntime-node, as the `relprop` entry does.
import { setDefaultRuntime } from '../src/core/runtime.js';
import { nodeRuntime } from '../src/node/runtime-node.js';

setDefaultRuntime(nodeRuntime);
