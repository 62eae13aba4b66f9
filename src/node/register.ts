/**
 * Side-effect import: sets the default runtime, and nothing else (the full `relprop` entry also
 * loads image codecs, plotting and the text tools). RELPROP_RUNTIME=node|web chooses; unset, it is
 * onnxruntime-node, or onnxruntime-web's WebAssembly backend with one notice on stderr where npm
 * left the optional onnxruntime-node out (see runtime-node.ts).
 */
import { setDefaultRuntime } from '../core/runtime.js';
import { chooseRuntime } from './runtime-choice.js';

setDefaultRuntime(await chooseRuntime(process.env.RELPROP_RUNTIME, (line) => process.stderr.write(`${line}\n`)));
