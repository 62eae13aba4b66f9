/** Which ONNX Runtime the Node entry runs graphs on (RELPROP_RUNTIME, or what is installed). */
import type { Runtime } from '../core/runtime.js';
import { INSTALL_NATIVE, loadOnnxruntimeNode, nodeRuntime } from './runtime-node.js';

async function web(): Promise<Runtime> {
  // Imported only here: onnxruntime-web's module is large and unused when the native one loads.
  return (await import('../web/runtime-web.js')).webRuntime();
}

/**
 * `choice`: 'node', 'web', or empty/undefined for onnxruntime-node when it loads and
 * onnxruntime-web otherwise, in which case `notice` gets one line naming the runtime in use and
 * the command that installs the native one. `loadNative` is a seam for tests.
 */
export async function chooseRuntime(
  choice: string | undefined,
  notice: (line: string) => void,
  loadNative: () => Promise<void> = loadOnnxruntimeNode,
): Promise<Runtime> {
  if (choice === 'web') return web();
  if (choice === 'node') {
    try {
      await loadNative();
    } catch (e) {
      throw new Error(`RELPROP_RUNTIME=node: ${(e as Error).message}`);
    }
    return nodeRuntime;
  }
  if (choice) throw new Error(`RELPROP_RUNTIME must be "node" or "web", not "${choice}"`);
  try {
    await loadNative();
    return nodeRuntime;
  } catch (e) {
    const why = (e as Error).message.split(';')[0];
    notice(`relprop: ${why}: running on onnxruntime-web (WebAssembly, slower). For the native runtime: ${INSTALL_NATIVE}`);
    return web();
  }
}
