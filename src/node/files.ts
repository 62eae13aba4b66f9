/** Reading and writing relprop's files on Node: models, vocabularies (one clear error line each). */
import { readFileSync } from 'node:fs';
import { Vocabulary } from '../core/text/vocab.js';
import { writeFileAtomic } from './io/atomic.js';

function readOrExplain(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** An ONNX model's bytes. */
export function readModelFile(path: string): Uint8Array {
  return readOrExplain(path, 'model file');
}

export function loadVocabulary(path: string): Vocabulary {
  return Vocabulary.parse(readOrExplain(path, 'vocabulary').toString('utf8'), `vocabulary ${path}`);
}

export async function saveVocabulary(vocab: Vocabulary, path: string): Promise<void> {
  await writeFileAtomic(path, vocab.toJson());
}

/** `<model>.vocab.json` for `<model>.onnx`. */
export function vocabPathFor(modelPath: string): string {
  return modelPath.replace(/\.onnx$/i, '') + '.vocab.json';
}
