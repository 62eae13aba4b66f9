/**
 * Where the trainer keeps its checkpoints: named byte blobs, each replaced atomically. Node keeps
 * them in a folder (src/node/train/checkpoints.ts); a page could keep them in IndexedDB.
 */
export interface CheckpointStore {
  /** The location, for messages (a folder path, a database name). */
  readonly where: string;
  /** The blob of that name, or undefined if there is none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** Create or replace a blob: afterwards either the old or the new content is there, never a mix. */
  write(name: string, data: Uint8Array): Promise<void>;
}

/** Checkpoints in memory (tests, or a page that saves elsewhere itself). */
export function memoryCheckpoints(where = 'memory'): CheckpointStore {
  const blobs = new Map<string, Uint8Array>();
  return {
    where,
    read: async (name) => blobs.get(name)?.slice(),
    write: async (name, data) => void blobs.set(name, data.slice()),
  };
}
