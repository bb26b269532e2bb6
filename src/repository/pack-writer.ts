// Packs written one after another by the maintenance commands (prune's
// repacking, migrate): envelopes go in, each full pack is stored before the
// next one starts, and finish() returns the packs as an index lists them.
// Backups use PackDestination instead, which overlaps uploads with chunking.

import type { IndexedPack } from "./chunk-index.ts";
import type { ObjectStore } from "./object-store.ts";
import { PackBuilder } from "./pack-format.ts";

/** A builder for one of this repository's packs of `packSize`. */
export function newPackBuilder(store: ObjectStore, packSize: number): PackBuilder {
  return new PackBuilder(store.protection, store.encryptionKey, packSize, store.chunkSizeBounds().max);
}

export class SequentialPackWriter {
  readonly #store: ObjectStore;
  readonly #packSize: number;
  readonly #signal: AbortSignal | undefined;
  readonly #added = new Set<string>();
  readonly #written: IndexedPack[] = [];
  #builder: PackBuilder | undefined;

  constructor(store: ObjectStore, packSize: number, signal?: AbortSignal) {
    this.#store = store;
    this.#packSize = packSize;
    this.#signal = signal;
  }

  /** Whether a chunk was added already (a chunk two old packs both hold is copied once). */
  has(id: string): boolean {
    return this.#added.has(id);
  }

  /** Add a chunk envelope sealed under its id (copied); stores the pack when it is full. */
  async add(id: string, envelope: Uint8Array, plainLength: number): Promise<void> {
    this.#added.add(id);
    this.#builder ??= newPackBuilder(this.#store, this.#packSize);
    this.#builder.add(id, envelope, plainLength);
    if (this.#builder.size >= this.#packSize) await this.#ship();
  }

  /** Store the last pack; every pack written, for the index. */
  async finish(): Promise<IndexedPack[]> {
    await this.#ship();
    return this.#written;
  }

  async #ship(): Promise<void> {
    const builder = this.#builder;
    this.#builder = undefined;
    if (!builder || builder.count === 0) return;
    const pack = builder.finish();
    this.#signal?.throwIfAborted();
    // A plain put: a pack's name is the hash of its bytes.
    await this.#store.backend.put(pack.key, pack.bytes);
    this.#written.push({ id: pack.id, size: pack.bytes.length, chunks: pack.entries });
  }
}
