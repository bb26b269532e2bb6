// `lifeboat repair index` (docs/repository-format.md, "Check"): rebuild the
// index of a format 2 repository from the packs alone, for an index object
// that was lost or damaged. Each pack's header is read by range (its last
// bytes); the new index objects list every pack whose header authenticates,
// the last one superseding every index object there was, which are then
// deleted. Packs whose header cannot be read are reported, never deleted.

import { isLifeboatError } from "../errors.ts";
import type { IndexedPack } from "./chunk-index.ts";
import { envelopeOverhead, HEADER_BYTES } from "./envelope.ts";
import { DATA_PREFIX, idOfKey, INDEX_PREFIX, indexKey, isDataKey } from "./layout.ts";
import { mapLimited } from "./limiter.ts";
import type { ObjectStore } from "./object-store.ts";
import { headerLengthOf, PACK_TRAILER_BYTES, parsePackHeader } from "./pack-format.ts";
import { PACKS_PER_INDEX_OBJECT } from "./prune-work.ts";
import type { DamagedObject, IndexRepair } from "./types.ts";

/** Read this much of a pack's end at once: a header of a full pack usually fits, so one request per pack. */
const TAIL_GUESS = 256 * 1024;
const PARALLEL_HEADER_READS = 8;

export async function repairIndex(
  store: ObjectStore,
  options: { dryRun?: boolean; signal?: AbortSignal } = {},
): Promise<IndexRepair> {
  const objects = [];
  for await (const info of store.backend.list(DATA_PREFIX)) if (isDataKey(info.key)) objects.push(info);
  objects.sort((a, b) => a.key.localeCompare(b.key));
  const oldIndex: string[] = [];
  for await (const info of store.backend.list(INDEX_PREFIX)) oldIndex.push(idOfKey(info.key));
  oldIndex.sort();

  const unreadable: DamagedObject[] = [];
  let formatOneObjects = 0;
  const read = await mapLimited(
    objects,
    PARALLEL_HEADER_READS,
    async (info): Promise<IndexedPack | undefined> => {
      options.signal?.throwIfAborted();
      try {
        return {
          id: idOfKey(info.key),
          size: info.size,
          chunks: await readHeader(store, info.key, info.size),
        };
      } catch (error) {
        if (!isLifeboatError(error) || !["CHECKSUM_MISMATCH", "OBJECT_TRUNCATED"].includes(error.code))
          throw error;
        if (await isFormatOneChunk(store, info.key, info.size)) {
          formatOneObjects++; // read by its own name: no index entry needed
          return undefined;
        }
        unreadable.push({ code: error.code, object: info.key, message: error.message });
        return undefined;
      }
    },
  );
  const packs = read.filter((pack): pack is IndexedPack => pack !== undefined);
  options.signal?.throwIfAborted();
  if (!options.dryRun) {
    for (let start = 0; start < Math.max(packs.length, 1); start += PACKS_PER_INDEX_OBJECT) {
      const last = start + PACKS_PER_INDEX_OBJECT >= packs.length;
      const batch = packs.slice(start, start + PACKS_PER_INDEX_OBJECT);
      await store.indexCatalog.write({ version: 1, packs: batch, supersedes: last ? oldIndex : [] });
    }
    for (const id of oldIndex) await store.backend.delete(indexKey(id));
    await store.loadIndex({ refresh: true });
  }
  return {
    dryRun: !!options.dryRun,
    packs: packs.length,
    chunks: packs.reduce((sum, pack) => sum + pack.chunks.length, 0),
    indexObjectsReplaced: oldIndex.length,
    formatOneObjects,
    unreadable: unreadable.sort((a, b) => a.object.localeCompare(b.object)),
  };
}

/** A pack's header entries, read by range from its end. */
async function readHeader(store: ObjectStore, key: string, size: number) {
  const tailStart = Math.max(0, size - TAIL_GUESS);
  let tail = Buffer.from(await store.get(key, { offset: tailStart, length: size - tailStart }));
  const headerLength = headerLengthOf(key, tail, size);
  const headerOffset = size - PACK_TRAILER_BYTES - headerLength;
  if (headerOffset < tailStart) {
    tail = Buffer.from(await store.get(key, { offset: headerOffset, length: size - headerOffset }));
    return parsePackHeader(
      key,
      tail.subarray(0, headerLength),
      headerOffset,
      store.protection,
      store.encryptionKey,
    );
  }
  const sealed = tail.subarray(headerOffset - tailStart, headerOffset - tailStart + headerLength);
  return parsePackHeader(key, sealed, headerOffset, store.protection, store.encryptionKey);
}

/** A format 1 chunk object is one envelope whose recorded length is the whole object. */
async function isFormatOneChunk(store: ObjectStore, key: string, size: number): Promise<boolean> {
  if (size < HEADER_BYTES) return false;
  const head = Buffer.from(await store.get(key, { offset: 0, length: HEADER_BYTES }));
  return head.readUInt32BE(6) + envelopeOverhead(store.protection) === size;
}
