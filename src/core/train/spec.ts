/**
 * A layer's bias: present (true, the default), absent (false), or kept ≤ 0 by projecting it after
 * every optimizer step ("nonpositive": deep Taylor's detection neurons, whose root points need b ≤ 0).
 */
export type Bias = boolean | 'nonpositive';

/**
 * Model declarations for training: a sequence of layers (with residual and concat blocks), as a
 * typed object or the same thing in JSON. Shapes exclude the batch axis.
 */
export type LayerSpec =
  | {
      type: 'conv1d' | 'conv2d';
      filters: number;
      kernel: number;
      stride?: number;
      padding?: number | 'same';
      dilation?: number;
      groups?: number;
      bias?: Bias;
      name?: string;
    }
  | { type: 'dense'; units: number; bias?: Bias; name?: string }
  | { type: 'maxpool' | 'avgpool'; size: number; stride?: number; padding?: number; name?: string }
  /**
   * Sums, not averages: windows of `size` positions of a spatial input, or consecutive groups of
   * `size` features of a flat one (the sum-pooling layer of deep Taylor networks).
   */
  | { type: 'sumpool'; size: number; stride?: number; name?: string }
  | { type: 'globalavgpool' | 'globalmaxpool'; name?: string }
  | { type: 'relu' | 'sigmoid'; name?: string }
  /** scale s: the scaled tanh s·tanh(x/s) (slope 1 at 0, range ±s; 1.5 in the "quantum machine" networks). */
  | { type: 'tanh'; scale?: number; name?: string }
  | { type: 'leakyrelu'; alpha?: number; name?: string }
  /** per "position": a position's whole feature vector is dropped at once (word dropout after an embedding). */
  | { type: 'dropout'; rate: number; per?: 'element' | 'position'; name?: string }
  | { type: 'batchnorm'; momentum?: number; epsilon?: number; name?: string }
  | { type: 'flatten'; name?: string }
  | { type: 'lrn'; size: number; alpha?: number; beta?: number; bias?: number; name?: string }
  /** padId: that token's vector starts at zero and never learns (padding and "deleted" words contribute nothing). */
  | { type: 'embedding'; vocab: number; dim: number; padId?: number; name?: string }
  /** y = shortcut(x) + f(x), f = layers; no (or an empty) shortcut is the identity, y = x + f(x). */
  | { type: 'residual'; layers: LayerSpec[]; shortcut?: LayerSpec[]; name?: string }
  | { type: 'concat'; branches: LayerSpec[][]; name?: string };

export interface ModelSpec {
  /** Input shape without the batch axis; dtype int64 means token ids (first layer: embedding). */
  input: { shape: (number | null)[]; dtype?: 'float32' | 'int64' };
  /** In-graph input normalisation (x − mean) / std, so the model reads raw values. */
  normalize?: { mean: number; std: number };
  layers: LayerSpec[];
  /** Weight initialisation of dense/conv layers: he (default, for ReLU nets) or glorot. */
  init?: 'he' | 'glorot';
}

const TYPES = new Set([
  'conv1d',
  'conv2d',
  'dense',
  'maxpool',
  'avgpool',
  'sumpool',
  'globalavgpool',
  'globalmaxpool',
  'relu',
  'tanh',
  'sigmoid',
  'leakyrelu',
  'dropout',
  'batchnorm',
  'flatten',
  'lrn',
  'embedding',
  'residual',
  'concat',
]);

/** Validate a spec read from JSON; errors name the offending layer. */
export function checkSpec(spec: unknown): ModelSpec {
  const s = spec as ModelSpec;
  if (!s || typeof s !== 'object') throw new Error('model spec must be a JSON object with "input" and "layers"');
  if (!s.input || !Array.isArray(s.input.shape)) throw new Error('model spec needs "input": {"shape": [...]} (without the batch axis)');
  if (!Array.isArray(s.layers) || s.layers.length === 0) throw new Error('model spec needs a non-empty "layers" list');
  const walk = (layers: LayerSpec[], where: string) => {
    layers.forEach((l, i) => {
      const at = `${where}[${i}]`;
      if (!l || typeof l !== 'object' || !TYPES.has((l as { type: string }).type)) {
        throw new Error(`model spec ${at}: unknown layer type ${JSON.stringify((l as { type?: unknown })?.type)} (known: ${[...TYPES].join(', ')})`);
      }
      const posInt = (v: unknown, k: string) => {
        if (!Number.isInteger(v) || (v as number) < 1) throw new Error(`model spec ${at} (${l.type}): "${k}" must be a positive integer`);
      };
      if ((l.type === 'conv1d' || l.type === 'conv2d' || l.type === 'dense') && l.bias !== undefined && typeof l.bias !== 'boolean' && l.bias !== 'nonpositive')
        throw new Error(`model spec ${at} (${l.type}): "bias" must be true, false or "nonpositive", got ${JSON.stringify(l.bias)}`);
      switch (l.type) {
        case 'conv1d':
        case 'conv2d':
          posInt(l.filters, 'filters');
          posInt(l.kernel, 'kernel');
          break;
        case 'dense':
          posInt(l.units, 'units');
          break;
        case 'maxpool':
        case 'avgpool':
        case 'sumpool':
        case 'lrn':
          posInt(l.size, 'size');
          break;
        case 'tanh':
          if (l.scale !== undefined && !(l.scale > 0 && Number.isFinite(l.scale))) throw new Error(`model spec ${at}: tanh "scale" must be a positive number`);
          break;
        case 'dropout':
          if (!(l.rate >= 0 && l.rate < 1)) throw new Error(`model spec ${at}: dropout rate must be in [0, 1)`);
          if (l.per !== undefined && l.per !== 'element' && l.per !== 'position')
            throw new Error(`model spec ${at}: dropout "per" must be "element" or "position"`);
          break;
        case 'embedding':
          posInt(l.vocab, 'vocab');
          posInt(l.dim, 'dim');
          break;
        case 'residual':
          if (!Array.isArray(l.layers)) throw new Error(`model spec ${at}: a residual block needs a "layers" list`);
          if (l.shortcut !== undefined && !Array.isArray(l.shortcut))
            throw new Error(`model spec ${at}: a residual block's "shortcut" must be a list of layers`);
          walk(l.layers, `${at}.layers`);
          walk(l.shortcut ?? [], `${at}.shortcut`);
          break;
        case 'concat':
          l.branches.forEach((b, k) => walk(b, `${at}.branches[${k}]`));
          break;
      }
    });
  };
  walk(s.layers, 'layers');
  return s;
}

/**
 * Trailing paddings a token sequence needs so that every row of a batch ends in at least one
 * window that sees padding only: the receptive field of the layers up to the first global pool
 * (plus its stride). With it, a max-over-time model gives the same output whether a batch is
 * padded to its longest row or to any greater length, so batches can be cut short.
 */
export function sequenceMargin(layers: LayerSpec[]): number {
  let field = 1;
  let jump = 1;
  const walk = (ls: LayerSpec[]): boolean => {
    for (const l of ls) {
      if (l.type === 'conv1d' || l.type === 'conv2d') {
        field += (l.kernel - 1) * (l.dilation ?? 1) * jump;
        jump *= l.stride ?? 1;
      } else if (l.type === 'maxpool' || l.type === 'avgpool' || l.type === 'sumpool') {
        field += (l.size - 1) * jump;
        jump *= l.stride ?? l.size;
      } else if (l.type === 'residual') {
        if (parallel([l.layers, l.shortcut ?? []])) return true;
      } else if (l.type === 'concat') {
        parallel(l.branches);
      } else if (l.type === 'globalmaxpool' || l.type === 'globalavgpool' || l.type === 'flatten' || l.type === 'dense') return true;
    }
    return false;
  };
  // Branches run side by side from the same field: the widest one decides.
  const parallel = (branches: LayerSpec[][]): boolean => {
    const [f0, j0] = [field, jump];
    let [f, j, stop] = [f0, j0, false];
    for (const b of branches) {
      [field, jump] = [f0, j0];
      stop = walk(b) || stop;
      [f, j] = [Math.max(f, field), Math.max(j, jump)];
    }
    [field, jump] = [f, j];
    return stop;
  };
  walk(layers);
  return field + jump - 1;
}

/** Presets for `relprop train --preset NAME`. */
export const PRESETS: Record<string, ModelSpec> = {
  'fmnist-cnn': {
    input: { shape: [1, 28, 28] },
    normalize: { mean: 0.286, std: 0.353 },
    layers: [
      { type: 'conv2d', filters: 32, kernel: 3, padding: 1 },
      { type: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 64, kernel: 3, padding: 1 },
      { type: 'relu' },
      { type: 'maxpool', size: 2 },
      { type: 'conv2d', filters: 64, kernel: 3, padding: 1 },
      { type: 'relu' },
      { type: 'avgpool', size: 2 },
      { type: 'flatten' },
      { type: 'dropout', rate: 0.25 },
      { type: 'dense', units: 128 },
      { type: 'relu' },
      { type: 'dense', units: 10 },
    ],
  },
  mlp: {
    input: { shape: [784] },
    layers: [{ type: 'dense', units: 256 }, { type: 'relu' }, { type: 'dense', units: 10 }],
  },
};
