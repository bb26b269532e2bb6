// Index objects of format 2 (docs/repository-format.md, "Index"): sealed
// JSON naming packs and the chunks in each, under index/<SHA-256 of the
// JSON>. A backup writes one for the packs it wrote; prune and `repair
// index` write one that supersedes the others. The in-memory index is the
// union of every index object no other one supersedes.

import { createHash } from "node:crypto";
import { z } from "zod";
import { isLifeboatError } from "../errors.ts";
import type { ErrorCode } from "../errors.ts";
import { ChunkIndex } from "./chunk-index.ts";
import type { IndexedPack } from "./chunk-index.ts";
import { objectError } from "./envelope.ts";
import { idOfKey, INDEX_PREFIX, indexKey } from "./layout.ts";
import { mapLimited } from "./limiter.ts";
import type { ObjectStore } from "./object-store.ts";
import { packEntrySchema } from "./pack-format.ts";
import type { DamagedObject } from "./types.ts";

const PARALLEL_INDEX_READS = 8;

export interface IndexFile {
  readonly version: 1;
  readonly packs: readonly IndexedPack[];
  /** Index objects this one replaces (their packs are listed here, or gone). */
  readonly supersedes: readonly string[];
}

const indexFileSchema = z.object({
  version: z.literal(1),
  packs: z.array(
    z.object({
      id: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().positive(),
      chunks: z.array(packEntrySchema),
    }),
  ),
  supersedes: z.array(z.string().regex(/^[0-9a-f]{64}$/)),
});

/** Errors that mean "this index object is unreadable", as opposed to a storage failure (which still throws). */
const INDEX_DAMAGE: ReadonlySet<ErrorCode> = new Set([
  "CHECKSUM_MISMATCH",
  "OBJECT_TRUNCATED",
  "OBJECT_MISSING",
]);

export function encodeIndexFile(file: IndexFile): Buffer {
  return Buffer.from(JSON.stringify(file), "utf8");
}

export function decodeIndexFile(key: string, plaintext: Buffer): IndexFile {
  let raw: unknown;
  try {
    raw = JSON.parse(plaintext.toString("utf8"));
  } catch (error) {
    throw objectError("CHECKSUM_MISMATCH", key, "index object is not valid JSON", error);
  }
  const parsed = indexFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw objectError(
      "CHECKSUM_MISMATCH",
      key,
      `index object does not match its schema (${issue?.path.join(".")}: ${issue?.message})`,
    );
  }
  return parsed.data;
}

export function indexIdOf(plaintext: Uint8Array): string {
  return createHash("sha256").update(plaintext).digest("hex");
}

export interface LoadedIndex {
  readonly index: ChunkIndex;
  /** Ids of the index objects in use, sorted. */
  readonly live: readonly string[];
  /** Ids of index objects another one supersedes (a prune or repair stopped before deleting them). */
  readonly superseded: readonly string[];
  /** Index objects that cannot be read: the chunks they list look absent. */
  readonly damaged: readonly DamagedObject[];
}

/**
 * The index objects of one repository, read once each (they are immutable)
 * and re-listed on every load(), so index objects written by other hosts
 * since the last load are found and deleted ones are dropped.
 */
export class IndexCatalog {
  readonly #store: ObjectStore;
  readonly #files = new Map<string, IndexFile>();

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  async load(options: { fromStorage?: boolean } = {}): Promise<LoadedIndex> {
    if (options.fromStorage) this.#files.clear();
    const ids: string[] = [];
    for await (const info of this.#store.backend.list(INDEX_PREFIX)) {
      const id = idOfKey(info.key);
      if (/^[0-9a-f]{64}$/.test(id)) ids.push(id);
    }
    ids.sort();
    const present = new Set(ids);
    for (const id of this.#files.keys()) if (!present.has(id)) this.#files.delete(id);
    await this.#store.cache?.retain(INDEX_PREFIX, new Set(ids.map(indexKey)));

    const damaged: DamagedObject[] = [];
    await mapLimited(
      ids.filter((id) => !this.#files.has(id)),
      PARALLEL_INDEX_READS,
      async (id) => {
        const key = indexKey(id);
        try {
          const verify = (bytes: Buffer) => {
            if (indexIdOf(bytes) !== id)
              throw objectError("CHECKSUM_MISMATCH", key, "index does not hash to its id");
          };
          const plaintext = await this.#store.readImmutable(key, verify, options);
          this.#files.set(id, decodeIndexFile(key, plaintext));
        } catch (error) {
          if (!isLifeboatError(error) || !INDEX_DAMAGE.has(error.code)) throw error;
          if (error.code === "OBJECT_MISSING") return; // deleted between the listing and the read
          damaged.push({ code: error.code, object: key, message: error.message });
        }
      },
    );

    const supersededSet = new Set<string>();
    for (const file of this.#files.values()) for (const id of file.supersedes) supersededSet.add(id);
    const index = new ChunkIndex();
    const live: string[] = [];
    const superseded: string[] = [];
    for (const id of ids) {
      const file = this.#files.get(id);
      if (!file) continue;
      if (supersededSet.has(id)) {
        superseded.push(id);
        continue;
      }
      live.push(id);
      for (const pack of file.packs) index.addPack(pack);
    }
    damaged.sort((a, b) => a.object.localeCompare(b.object));
    return { index, live, superseded, damaged };
  }

  /** Seal and store an index object; returns its id. */
  async write(file: IndexFile): Promise<string> {
    const plaintext = encodeIndexFile(file);
    const id = indexIdOf(plaintext);
    await this.#store.putImmutable(indexKey(id), plaintext);
    this.#files.set(id, file);
    return id;
  }
}
