// Tests that call core modules directly run them on onnxruntime-node, as the `relprop` entry does.
import '../src/node/register.js';
