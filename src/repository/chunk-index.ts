// The in-memory index of format 2: which pack holds each chunk, and where in
// it. Built from the index objects (index-objects.ts); deduplication asks it
// instead of listing data/, and reads use it to fetch one chunk's byte range.

import type { PackEntry } from "./pack-format.ts";

/** A pack as an index object records it. */
export interface IndexedPack {
  readonly id: string;
  /** The pack's size in bytes: check compares it with the listing. */
  readonly size: number;
  readonly chunks: readonly PackEntry[];
}

export interface ChunkLocation {
  readonly pack: string;
  readonly offset: number;
  readonly length: number;
  readonly plainLength: number;
}

export class ChunkIndex {
  readonly #chunks = new Map<string, ChunkLocation>();
  readonly #packs = new Map<string, IndexedPack>();

  /**
   * Add a pack. A chunk already indexed in another pack keeps its first
   * location: two backups racing may both store it, and either copy serves.
   */
  addPack(pack: IndexedPack): void {
    if (this.#packs.has(pack.id)) return;
    this.#packs.set(pack.id, pack);
    for (const entry of pack.chunks) {
      if (this.#chunks.has(entry.id)) continue;
      const { offset, length, plainLength } = entry;
      this.#chunks.set(entry.id, { pack: pack.id, offset, length, plainLength });
    }
  }

  has(id: string): boolean {
    return this.#chunks.has(id);
  }

  lookup(id: string): ChunkLocation | undefined {
    return this.#chunks.get(id);
  }

  pack(id: string): IndexedPack | undefined {
    return this.#packs.get(id);
  }

  packs(): IterableIterator<IndexedPack> {
    return this.#packs.values();
  }

  get chunkCount(): number {
    return this.#chunks.size;
  }

  get packCount(): number {
    return this.#packs.size;
  }
}
