/**
 * The bundled Fashion-MNIST CNN, its card and sample images, by absolute path wherever relprop is
 * installed (a clone, node_modules, a global install). The CLI's `--model default` is its model.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BundledModel {
  /** models/fmnist-cnn.onnx: input float32 [N, 1, 28, 28], pixels in [0, 1]; 10 logits. */
  model: string;
  /** models/fmnist-cnn.json: the model card (classes, input range, training record). */
  card: string;
  samples: {
    /** The eight sample images as one float32 .npy [8, 1, 28, 28], in the order of `images`. */
    npy: string;
    /** `[{ file, index, label }]`: each image's file name, test-set index and true class. */
    labels: string;
    /** The sample PNGs (28×28 grey). */
    images: string[];
  };
}

/** The package's models/ folder, from dist/src/node or src/node. */
export function bundledModelsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../models', '../../models']) {
    const p = resolve(here, up);
    if (existsSync(join(p, 'fmnist-cnn.json'))) return p;
  }
  throw new Error('the bundled models/ folder is missing from this installation');
}

/** Absolute paths of the bundled model, its card and its samples. */
export function bundledModel(): BundledModel {
  const dir = bundledModelsDir();
  const s = join(dir, 'samples');
  const labels = join(s, 'labels.json');
  const files = (JSON.parse(readFileSync(labels, 'utf8')) as { file: string }[]).map((l) => join(s, l.file));
  return {
    model: join(dir, 'fmnist-cnn.onnx'),
    card: join(dir, 'fmnist-cnn.json'),
    samples: { npy: join(s, 'samples.npy'), labels, images: files },
  };
}

/** The CLI's model argument: `default` is the bundled model (a file named so is `./default`). */
export function resolveModelArg(path: string): string {
  return path === 'default' ? bundledModel().model : path;
}
