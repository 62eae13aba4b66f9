/**
 * The trainer's checkpoint format, in any CheckpointStore: one float32 blob holding every
 * parameter and optimizer-state tensor end to end (`checkpoint-<epoch>.bin`), and
 * `checkpoint.json` with the epoch, the step, an index of names, dims and offsets into the blob,
 * and the history. The blob is written first, then the JSON that points at it, so a crash leaves
 * the previous pair intact. Optimizer state is kept per parameter ("<param>.<slot>"); reading
 * also accepts the older layouts: per parameter under an older slot, and one flat vector per slot
 * ("optimizer.<slot>"), Adam's moments as averages rather than sums.
 */
import { numel, type TensorData } from '../onnx/tensor.js';
import type { CheckpointStore } from './checkpoint-store.js';
import type { BuiltGraph } from './graph.js';
import type { EpochRecord } from './trainer.js';

const CKPT = 'checkpoint.json';

interface IndexEntry {
  name: string;
  dims: number[];
  offset: number;
}

/** What a checkpoint records of a training run. */
export interface CheckpointContents {
  /** Epochs done (the next epoch to run). */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  history: EpochRecord[];
  params: Map<string, TensorData>;
  /** Optimizer state, by state-input name. */
  state: Map<string, TensorData>;
  /**
   * Early stopping: the best validation metric so far and its epoch, and the weights of that
   * epoch when they are not the current ones (absent in checkpoints written before they were kept).
   */
  best: { metric: number; epoch: number; params?: Map<string, TensorData> } | null;
}

/** Blob entries of the best epoch's weights are named `best:<param>`. */
const BEST = 'best:';

export async function writeCheckpoint(store: CheckpointStore, c: CheckpointContents) {
  const bestParams = [...(c.best?.params ?? [])].map(([name, t]) => [BEST + name, t] as const);
  const tensors = [...c.params, ...c.state, ...bestParams];
  const index: IndexEntry[] = [];
  let total = 0;
  for (const [name, t] of tensors) {
    index.push({ name, dims: t.dims, offset: total });
    total += t.data.length;
  }
  const blob = new Float32Array(total);
  for (const [k, [, t]] of tensors.entries()) blob.set(t.data as Float32Array, index[k]!.offset);
  // The data file first, then the JSON that points at it: a crash leaves the previous pair intact.
  const dataFile = `checkpoint-${c.epoch}.bin`;
  await store.write(dataFile, new Uint8Array(blob.buffer));
  await store.write(
    CKPT,
    new TextEncoder().encode(
      JSON.stringify(
        { epoch: c.epoch, step: c.step, dataFile, index, history: c.history, best: c.best && { metric: c.best.metric, epoch: c.best.epoch } },
        null,
        1,
      ),
    ),
  );
}

/**
 * The checkpoint in `store` (undefined if there is none): the tensors named like one of `params`
 * as parameters, and the optimizer state `states` asks for. Throws if that state is not there.
 */
export async function readCheckpoint(
  store: CheckpointStore,
  params: ReadonlyMap<string, TensorData>,
  states: NonNullable<BuiltGraph['states']>,
): Promise<CheckpointContents | undefined> {
  const dir = store.where;
  const json = await store.read(CKPT);
  if (!json) return undefined;
  const meta = JSON.parse(new TextDecoder().decode(json)) as {
    epoch: number;
    step: number;
    dataFile: string;
    index: IndexEntry[];
    history: EpochRecord[];
    best?: { metric: number; epoch: number } | null;
  };
  const bytes = await store.read(meta.dataFile);
  if (!bytes) throw new Error(`the checkpoint in ${dir} names ${meta.dataFile}, which is missing`);
  const blob = new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer);
  const loaded = new Map<string, TensorData>();
  const saved = new Map<string, TensorData>();
  const bestParams = new Map<string, TensorData>();
  for (const e of meta.index) {
    const t: TensorData = { dtype: 'float32', dims: e.dims, data: blob.slice(e.offset, e.offset + numel(e.dims)) };
    if (params.has(e.name)) loaded.set(e.name, t);
    else if (e.name.startsWith(BEST)) bestParams.set(e.name.slice(BEST.length), t);
    else saved.set(e.name, t);
  }
  const state = new Map<string, TensorData>();
  for (const st of states) {
    const t = saved.get(st.name) ?? legacyState(saved, st, states);
    if (!t || numel(t.dims) !== numel(st.dims))
      throw new Error(
        `the checkpoint in ${dir} has no optimizer state "${st.name}" for this model and optimizer; it cannot be resumed (start without --resume, or use the same model and optimizer)`,
      );
    state.set(st.name, t);
  }
  const best = meta.best ? { ...meta.best, ...(bestParams.size && { params: bestParams }) } : null;
  return { epoch: meta.epoch, step: meta.step, history: meta.history, params: loaded, state, best };
}

/**
 * State `st` from an older checkpoint: per parameter under its older slot ("<param>.m"), or its
 * part of that slot's flat vector ("optimizer.m", the trained parameters end to end in the order
 * of `states`), scaled to the current meaning; undefined if neither is there whole.
 */
function legacyState(
  saved: Map<string, TensorData>,
  st: NonNullable<BuiltGraph['states']>[number],
  states: NonNullable<BuiltGraph['states']>,
): TensorData | undefined {
  const { slot, scale } = st.legacy;
  let data = saved.get(`${st.params[0]}.${slot}`)?.data as Float32Array | undefined;
  if (data && data.length !== numel(st.dims)) data = undefined;
  const flat = saved.get(`optimizer.${slot}`);
  if (!data && flat) {
    const group = states.filter((s) => s.legacy.slot === slot);
    if (group.reduce((a, s) => a + numel(s.dims), 0) !== flat.data.length) return undefined;
    let at = 0;
    for (const s of group) {
      if (s === st) break;
      at += numel(s.dims);
    }
    data = (flat.data as Float32Array).subarray(at, at + numel(st.dims));
  }
  return data && { dtype: 'float32', dims: st.dims, data: scale === 1 ? data.slice() : data.map((x) => x * scale) };
}
