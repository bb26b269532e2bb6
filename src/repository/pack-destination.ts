// Format 2's chunk destination: new chunks of one snapshot go into packs of
// about `packSize` bytes, each uploaded once full while the next one fills;
// flush() stores the last pack, then one index object naming every pack of
// this writer (docs/repository-format.md, "Write ordering": packs, then
// index, then the manifest). Deduplication asks the index, never a listing.

import { discard } from "./buffers.ts";
import type { ChunkIndex, IndexedPack } from "./chunk-index.ts";
import type { ChunkDestination } from "./chunk-destination.ts";
import { Limiter } from "./limiter.ts";
import type { ObjectStore } from "./object-store.ts";
import type { FinishedPack, PackBuilder } from "./pack-format.ts";
import { newPackBuilder } from "./pack-writer.ts";

/**
 * Default target size of a pack. 32 MiB keeps a backup under 40 PUTs per GB
 * stored and stays below the S3 backend's multipart threshold (64 MiB), so a
 * pack is one request; restic uses 16 MiB, Kopia 20 MiB.
 */
export const DEFAULT_PACK_SIZE = 32 * 1024 * 1024;
export const MIN_PACK_SIZE = 1024 * 1024;
export const MAX_PACK_SIZE = 128 * 1024 * 1024;
/**
 * Packs uploading while the next one fills. One more would only add memory
 * (a pack each): the upload of one pack takes about as long as filling the next.
 */
export const PACK_UPLOADS_IN_FLIGHT = 1;

export class PackDestination implements ChunkDestination {
  readonly #store: ObjectStore;
  readonly #index: ChunkIndex;
  readonly #packSize: number;
  /** Chunks this writer has claimed: in a pack being filled, uploading or stored. */
  readonly #mine = new Set<string>();
  readonly #slots = new Limiter(PACK_UPLOADS_IN_FLIGHT);
  readonly #uploads = new Set<Promise<void>>();
  readonly #written: IndexedPack[] = [];
  #builder: PackBuilder | undefined;
  /** A full pack waiting for its upload slot; chunks wait for it before filling the next pack. */
  #waiting: Promise<void> | undefined;
  #failure: unknown;
  #bytesStored = 0;

  constructor(store: ObjectStore, index: ChunkIndex, packSize: number) {
    this.#store = store;
    this.#index = index;
    this.#packSize = packSize;
  }

  get bytesStored(): number {
    return this.#bytesStored;
  }

  claim(id: string): boolean {
    if (this.#index.has(id) || this.#mine.has(id)) return false;
    this.#mine.add(id);
    return true;
  }

  async store(id: string, envelope: Uint8Array, plainLength: number): Promise<void> {
    // Several chunks arrive at once: while a full pack waits for its upload
    // slot, none of them may start filling another one, or full packs pile up
    // (one per chunk in flight) instead of two packs at most.
    while (this.#waiting) await this.#waiting;
    this.#throwIfFailed();
    this.#builder ??= newPackBuilder(this.#store, this.#packSize);
    this.#builder.add(id, envelope, plainLength);
    discard(envelope); // copied into the pack
    if (this.#builder.size >= this.#packSize) await this.#ship();
  }

  async flush(): Promise<void> {
    if (this.#builder && this.#builder.count > 0) await this.#ship();
    await Promise.all(this.#uploads);
    this.#throwIfFailed();
    if (this.#written.length === 0) return; // nothing new: no index object either
    const packs = this.#written.splice(0);
    await this.#store.indexCatalog.write({ version: 1, packs, supersedes: [] });
    await this.#store.addPacksToIndex(packs);
  }

  /** Finish the current pack and start its upload once a slot is free (backpressure on the chunk stream). */
  #ship(): Promise<void> {
    const builder = this.#builder!;
    this.#builder = undefined;
    const pack = builder.finish();
    const waiting = this.#slots.acquire().then(() => {
      const upload = this.#upload(pack).finally(() => {
        this.#slots.release();
        this.#uploads.delete(upload);
      });
      this.#uploads.add(upload);
    });
    const marker: Promise<void> = waiting.finally(() => {
      if (this.#waiting === marker) this.#waiting = undefined; // a later pack may be waiting by now
    });
    this.#waiting = marker;
    return waiting;
  }

  async #upload(pack: FinishedPack): Promise<void> {
    try {
      // A plain put: a pack's name is the hash of its bytes, so an existing one is identical.
      await this.#store.backend.put(pack.key, pack.bytes);
      this.#bytesStored += pack.bytes.length;
      this.#written.push({ id: pack.id, size: pack.bytes.length, chunks: pack.entries });
    } catch (error) {
      this.#failure ??= error;
    } finally {
      discard(pack.bytes);
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
