// Where a snapshot writer puts new chunks: format 1 stores each as an object
// of its own (ObjectDestination, below), format 2 collects them into packs
// (pack-destination.ts). The writer decides what is new and seals it; a
// destination stores it and says when everything taken is durable.

import { DATA_PREFIX, chunkKey } from "./layout.ts";
import { discard } from "./buffers.ts";
import { Limiter } from "./limiter.ts";
import type { ObjectStore } from "./object-store.ts";

export interface ChunkDestination {
  /**
   * True the first time an id is claimed and it is not stored yet: the caller
   * then seals it and hands it to store(). False for a chunk already stored,
   * or claimed by this writer before.
   */
  claim(id: string): boolean;
  /** Take a sealed chunk envelope (freed once stored). Resolves when the caller may go on: stored, or queued. */
  store(id: string, envelope: Uint8Array, plainLength: number): Promise<void>;
  /** Resolves once every chunk taken is durable (format 2: its packs and their index object are stored). */
  flush(): Promise<void>;
  /** Bytes of new objects written to storage so far. */
  readonly bytesStored: number;
}

/** Uploads in flight per writer in format 1: enough to hide storage latency. */
export const UPLOADS_IN_FLIGHT = 4;

/** Ids of the chunks stored in format 1, from one listing of data/ (objects too small to be whole are not trusted). */
export async function listStoredChunks(store: ObjectStore): Promise<Set<string>> {
  const ids = new Set<string>();
  const { min } = store.chunkSizeBounds();
  for await (const info of store.backend.list(DATA_PREFIX)) {
    const id = info.key.slice(info.key.lastIndexOf("/") + 1);
    if (/^[0-9a-f]{64}$/.test(id) && info.size >= min) ids.add(id);
  }
  return ids;
}

/** Format 1: one object per chunk, deduplicated against a listing of data/. */
export class ObjectDestination implements ChunkDestination {
  readonly #store: ObjectStore;
  /** Chunks stored before this run plus those this run has started storing. */
  readonly #known: Set<string>;
  readonly #uploads = new Limiter(UPLOADS_IN_FLIGHT);
  #bytesStored = 0;

  constructor(store: ObjectStore, known: Set<string>) {
    this.#store = store;
    this.#known = known;
  }

  get bytesStored(): number {
    return this.#bytesStored;
  }

  claim(id: string): boolean {
    if (this.#known.has(id)) return false;
    this.#known.add(id);
    return true;
  }

  async store(id: string, envelope: Uint8Array): Promise<void> {
    await this.#uploads.acquire();
    try {
      await this.#store.backend.put(chunkKey(id), envelope);
      this.#bytesStored += envelope.length;
      discard(envelope); // a resolved put keeps no reference (the Backend contract)
    } finally {
      this.#uploads.release();
    }
  }

  async flush(): Promise<void> {
    // Every store() resolved only after its put: nothing is pending.
  }
}
