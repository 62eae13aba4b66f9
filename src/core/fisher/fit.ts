/**
 * Fitting an FV classifier from labelled images, every data pass on ONNX Runtime: descriptors
 * (descriptors.ts) of all images with a seeded sample kept, PCA (pca.ts) of the sample, the
 * sample projected, a GMM by EM (gmm.ts), the FV of every image (model.ts, features only), the
 * one-vs-rest SVMs (svm.ts). Seeded: the same seed and data give the same model.
 */
import { rngFor, permutation } from '../math/rng.js';
import { encodeModel } from '../onnx/model.js';
import { float32, type TensorData } from '../onnx/tensor.js';
import { openSession, type Runtime } from '../runtime.js';
import { DEFAULT_CONFIG, type FisherConfig, geometry } from './config.js';
import { addDescriptors } from './descriptors.js';
import { fitGmm } from './gmm.js';
import { FvGraph } from './graph.js';
import { buildFisherGraph, type FisherParams } from './model.js';
import { fitPca } from './pca.js';
import { trainSvm } from './svm.js';

export interface FisherFitOptions {
  config?: Partial<FisherConfig>;
  classes: number;
  seed?: number;
  /** Descriptors sampled for PCA and the GMM (default 50,000). */
  sampleDescriptors?: number;
  gmmIterations?: number;
  varianceFloor?: number;
  svmLambda?: number;
  svmIterations?: number;
  /** Images per runtime call when computing descriptors and FVs (default 32). */
  batch?: number;
  runtime?: Runtime;
  threads?: number;
  onProgress?: (stage: string, done: number, total: number, note?: string) => void;
  /**
   * Where the fit keeps its state (PCA, the GMM after every EM iteration, the SVM every 50
   * iterations) and finds it again: a fit given the store of an interrupted one continues it and
   * ends with the same model as an uninterrupted fit.
   */
  store?: FitStore;
}

/** JSON-able values under string keys (src/node/fisher/checkpoint.ts keeps them in a folder). */
export interface FitStore {
  load(key: string): Promise<unknown>;
  save(key: string, value: unknown): Promise<void>;
}

const list = (a: ArrayLike<number>) => Array.from(a);
type Saved = Record<string, number[] | number | unknown>;

/** Refuse a store written by a fit with other data or settings. */
async function checkStore(store: FitStore, meta: Record<string, unknown>): Promise<void> {
  const saved = (await store.load('meta')) as Record<string, unknown> | undefined;
  if (saved === undefined) return store.save('meta', meta);
  const differ = Object.keys({ ...meta, ...saved }).filter((k) => JSON.stringify(meta[k]) !== JSON.stringify(saved[k]));
  if (differ.length) throw new Error(`cannot resume: the checkpoint was written by a fit with other data or settings (${differ.join(', ')} differ)`);
}

export interface FisherFit {
  params: FisherParams;
  /** ε for LRP: 1e-2 × median |z_d| over (up to 256) training images' raw FVs. */
  epsilon: number;
  gmmLogLik: number[];
  reseeded: number;
  svmObjective: number[];
  trainAccuracy: number;
  descriptorsSampled: number;
}

export function checkImages(x: TensorData, what = 'images'): void {
  if (x.dims.length !== 4) throw new Error(`${what} must be [N, C, H, W], got shape ${JSON.stringify(x.dims)}`);
  if (x.dtype !== 'float32') throw new Error(`${what} must be float32, got ${x.dtype}`);
  for (const v of x.data as Float32Array) if (!Number.isFinite(v)) throw new Error(`NaN or infinite values in ${what}`);
}

function rowsView(x: TensorData, s: number, e: number): TensorData {
  const per = x.data.length / x.dims[0]!;
  return { dtype: 'float32', dims: [e - s, ...x.dims.slice(1)], data: (x.data as Float32Array).subarray(s * per, e * per) };
}

export async function fitFisher(images: TensorData, labels: Int32Array, o: FisherFitOptions): Promise<FisherFit> {
  checkImages(images);
  const [N, C, H, W] = images.dims as [number, number, number, number];
  if (labels.length !== N) throw new Error(`${N} images but ${labels.length} labels`);
  for (const y of labels) if (!(y >= 0 && y < o.classes)) throw new Error(`label ${y} is outside 0..${o.classes - 1}`);
  const cfg: FisherConfig = { ...DEFAULT_CONFIG, ...o.config };
  const geo = geometry(cfg, C, H, W);
  const seed = o.seed ?? 0;
  const batch = o.batch ?? 32;
  const progress = o.onProgress ?? (() => undefined);
  const T = geo.count;
  const R = geo.rawDims;
  const store = o.store;
  if (store)
    await checkStore(store, {
      config: cfg,
      images: [N, C, H, W],
      // a fingerprint of the data: the pixel sum and the labels' weighted sum
      data: [(images.data as Float32Array).reduce((a, v) => a + v, 0), labels.reduce((a, v, i) => a + v * ((i % 97) + 1), 0)],
      classes: o.classes,
      seed,
      samples: o.sampleDescriptors ?? null,
      gmmIterations: o.gmmIterations ?? null,
      varianceFloor: o.varianceFloor ?? null,
      svmLambda: o.svmLambda ?? null,
      svmIterations: o.svmIterations ?? null,
    });

  // 1. descriptors of every image, a seeded subset of each kept
  const fgD = new FvGraph();
  fgD.output('desc', addDescriptors(fgD, fgD.input('image', ['N', C, H, W]), cfg, geo), ['N', T, R]);
  const dSession = await fgD.session(o.runtime, 'the descriptor graph', o.threads);
  const perImage = Math.min(T, Math.ceil((o.sampleDescriptors ?? 50_000) / N));
  const M = perImage * N;
  const sample = new Float32Array(M * R);
  try {
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      const d = (await dSession.run({ image: rowsView(images, s, e) })).desc!.data as Float32Array;
      for (let i = s; i < e; i++) {
        const pick = perImage === T ? null : permutation(T, rngFor(seed, 'fv-descriptor-sample', i));
        for (let j = 0; j < perImage; j++) {
          const t = pick ? pick[j]! : j;
          sample.set(d.subarray(((i - s) * T + t) * R, ((i - s) * T + t + 1) * R), (i * perImage + j) * R);
        }
      }
      progress('descriptors', e, N);
    }
  } finally {
    await dSession.release();
  }

  // 2. PCA, then the sample projected
  const D = cfg.pcaDims;
  const savedPca = (await store?.load('pca')) as Saved | undefined;
  const pca = savedPca
    ? {
        mean: Float32Array.from(savedPca.mean as number[]),
        proj: Float32Array.from(savedPca.proj as number[]),
        variance: Float64Array.from(savedPca.variance as number[]),
      }
    : await fitPca(sample, M, R, D, { runtime: o.runtime, threads: o.threads });
  if (!savedPca) await store?.save('pca', { mean: list(pca.mean), proj: list(pca.proj), variance: list(pca.variance) });
  progress('pca', 1, 1);
  const fgP = new FvGraph();
  const proj = fgP.b.op('MatMul', [
    fgP.b.sub(fgP.input('x', ['M', R]), fgP.param('mean', float32([R], pca.mean))),
    fgP.param('proj', float32([R, D], pca.proj)),
  ]);
  fgP.output('l', proj, ['M', D]);
  const pSession = await openSession(o.runtime, encodeModel(fgP.g), { threads: o.threads ?? 0 }, 'the PCA projection graph');
  let projected: Float32Array;
  try {
    projected = (await pSession.run({ x: float32([M, R], sample) })).l!.data as Float32Array;
  } finally {
    await pSession.release();
  }

  // 3. GMM
  const savedGmm = (await store?.load('gmm')) as Saved | undefined;
  const gmmFit = await fitGmm(projected, M, D, {
    start: savedGmm && {
      iteration: savedGmm.iteration as number,
      logLik: savedGmm.logLik as number[],
      reseeded: savedGmm.reseeded as number,
      gmm: {
        K: cfg.components,
        D,
        priors: Float32Array.from(savedGmm.priors as number[]),
        means: Float32Array.from(savedGmm.means as number[]),
        variances: Float32Array.from(savedGmm.variances as number[]),
      },
    },
    onState:
      store &&
      ((st) =>
        store.save('gmm', {
          iteration: st.iteration,
          logLik: st.logLik,
          reseeded: st.reseeded,
          priors: list(st.gmm.priors),
          means: list(st.gmm.means),
          variances: list(st.gmm.variances),
        })),
    K: cfg.components,
    seed,
    maxIterations: o.gmmIterations ?? 100,
    varianceFloor: o.varianceFloor,
    runtime: o.runtime,
    threads: o.threads,
    onIteration: (it, ll) => progress('gmm', it, o.gmmIterations ?? 100, `mean log-likelihood ${ll.toFixed(4)}`),
  });

  // 4. FV of every image
  const params: FisherParams = { config: cfg, channels: C, height: H, width: W, pcaMean: pca.mean, pcaProj: pca.proj, gmm: gmmFit.gmm, classes: o.classes };
  const F = geo.fvDims;
  const features = new Float32Array(N * F);
  const zSample: number[] = [];
  const fSession = await openSession(
    o.runtime,
    encodeModel(buildFisherGraph(params, { featuresOnly: true })),
    { threads: o.threads ?? 0 },
    'the FV encoding graph',
  );
  try {
    for (let s = 0; s < N; s += batch) {
      const e = Math.min(N, s + batch);
      const out = await fSession.run({ image: rowsView(images, s, e) });
      features.set(out.phi!.data as Float32Array, s * F);
      if (s < 256) for (const v of out.z!.data as Float32Array) zSample.push(Math.abs(v));
      progress('encode', e, N);
    }
  } finally {
    await fSession.release();
  }
  zSample.sort((a, b) => a - b);
  const epsilon = 1e-2 * (zSample[Math.floor(zSample.length / 2)] ?? 0) || 1e-9;

  // 5. one-vs-rest SVMs
  const iterations = o.svmIterations ?? 300;
  const savedSvm = (await store?.load('svm')) as Saved | undefined;
  const svm = await trainSvm(features, labels, F, o.classes, {
    start: savedSvm && {
      iteration: savedSvm.iteration as number,
      w: Float64Array.from(savedSvm.w as number[]),
      prevW: Float64Array.from(savedSvm.prevW as number[]),
      objective: savedSvm.objective as number[],
    },
    onState: store && ((st) => store.save('svm', { iteration: st.iteration, w: list(st.w), prevW: list(st.prevW), objective: st.objective })),
    lambda: o.svmLambda ?? 1e-4,
    iterations,
    runtime: o.runtime,
    threads: o.threads,
    onIteration: (it, obj) => progress('svm', it + 1, iterations, `objective ${obj.toFixed(4)}`),
  });
  params.weights = svm.weights;
  params.bias = svm.bias;
  let correct = 0;
  for (let i = 0; i < N; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < o.classes; c++) {
      let s = svm.bias[c]!;
      for (let f = 0; f < F; f++) s += features[i * F + f]! * svm.weights[f * o.classes + c]!;
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (best === labels[i]) correct++;
  }
  return {
    params,
    epsilon,
    gmmLogLik: gmmFit.logLik,
    reseeded: gmmFit.reseeded,
    svmObjective: svm.objective,
    trainAccuracy: correct / N,
    descriptorsSampled: M,
  };
}
