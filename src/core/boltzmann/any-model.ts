/** Read an RBM or a DBM saved by relprop, telling them apart by their named initializers. */
import { decodeModel } from '../onnx/model.js';
import type { DbmParams } from './dbm.js';
import { dbmFromOnnx } from './dbm-model-file.js';
import { rbmFromOnnx } from './model-file.js';
import type { RbmParams } from './rbm.js';
import { rbmAsDbm } from './sample.js';

export type BoltzmannModel = { kind: 'rbm'; rbm: RbmParams; dbm: DbmParams } | { kind: 'dbm'; dbm: DbmParams };

export function readBoltzmannModel(bytes: Uint8Array, source = 'model'): BoltzmannModel {
  const names = decodeModel(bytes, source).initializers;
  if (names.has('rbm.W')) {
    const rbm = rbmFromOnnx(bytes, source);
    return { kind: 'rbm', rbm, dbm: rbmAsDbm(rbm) };
  }
  if (names.has('dbm.W0')) return { kind: 'dbm', dbm: dbmFromOnnx(bytes, source) };
  throw new Error(`${source} is not an RBM or a DBM saved by relprop (relprop rbm train / relprop dbm train)`);
}
