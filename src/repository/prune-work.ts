// The repository's side of prune (docs/repository-format.md, "Prune"):
// what data/ holds as prune sees it, and carrying out a plan that
// plan/prune.ts made from it. The caller holds the exclusive lock.
//
// Order in format 2, so that a prune killed at any point leaves an index
// naming a copy of every referenced chunk:
//   1. repack: copy the used chunk envelopes of mostly-unused packs into new
//      packs (unchanged: their AAD is the chunk id), after authenticating each;
//   2. write the new index objects; the last one supersedes every old one;
//   3. delete the old index objects;
//   4. delete the packs that were removed or repacked.
// Killed before 2, the new packs are unindexed leftovers; killed after, the
// old packs are; either way the next prune removes them.

import { isLifeboatError, LifeboatError } from "../errors.ts";
import type { IndexedPack } from "./chunk-index.ts";
import type { IndexFile } from "./index-objects.ts";
import { DATA_PREFIX, idOfKey, indexKey, isDataKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";
import { readWholePack } from "./pack-format.ts";
import { SequentialPackWriter } from "./pack-writer.ts";
import type { PruneCandidate, PruneOutcome, PruneWork } from "./types.ts";

const PARALLEL_DELETES = 8;
const DELETE_BATCH = 64;
/** Packs listed per index object a prune writes: an index of a large repository is split, never one huge object. */
export const PACKS_PER_INDEX_OBJECT = 2000;

/**
 * The objects under data/ with the chunks each holds. Refuses when an index
 * object cannot be read, or when a referenced chunk is in no indexed pack:
 * packs the index lost would look unused, and prune deletes unused packs.
 */
export async function pruneCandidates(
  store: ObjectStore,
  referenced: ReadonlyMap<string, readonly string[]>,
): Promise<PruneCandidate[]> {
  const objects = [];
  for await (const info of store.backend.list(DATA_PREFIX)) objects.push(info);
  if (store.format < 2) return objects; // each object is the one chunk its name gives
  const { index, damaged } = await store.loadIndex({ refresh: true });
  if (damaged.length > 0) {
    throw new LifeboatError(
      "PRUNE_INDEX_DAMAGED",
      `prune refused: ${damaged.map((damage) => damage.object).join(", ")} cannot be read (${damaged[0]!.message}); the packs it names would look unused, so nothing was deleted`,
      { details: { damaged: damaged.map(({ object, code }) => ({ object, code })) } },
    );
  }
  const listed = new Set(objects.map((info) => idOfKey(info.key)));
  for (const [id, users] of referenced) {
    if (index.has(id) || listed.has(id)) continue; // in a pack, or a format 1 object of an interrupted migrate
    throw new LifeboatError(
      "PRUNE_INDEX_DAMAGED",
      `prune refused: chunk ${id} of snapshot ${users[0]} is in no indexed pack; packs the index lost would look unused, so nothing was deleted`,
      { details: { chunk: id, snapshots: users } },
    );
  }
  return objects.map((info) => {
    const id = idOfKey(info.key);
    const pack = index.pack(id);
    if (pack) return { ...info, chunks: pack.chunks.map(({ id, length }) => ({ id, length })) };
    // A format 1 object (left by an interrupted `migrate`) holds its chunk, unless a pack holds it too.
    if (info.size < 1 || !/^[0-9a-f]{64}$/.test(id)) return { ...info, chunks: [] };
    return index.has(id) ? { ...info, chunks: [] } : info;
  });
}

export interface ApplyOptions {
  /** Stops before the next write or deletion starts (Ctrl-C, a lost lock). */
  readonly signal?: AbortSignal;
  readonly packSize: number;
}

export async function applyPruneWork(
  store: ObjectStore,
  work: PruneWork,
  options: ApplyOptions,
): Promise<PruneOutcome> {
  for (const object of [...work.remove, ...work.repack]) {
    // The only deletions prune may make: objects under data/. Nothing else, whatever the caller passes.
    if (!isDataKey(object.key)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `${object.key} is not a data object: prune deletes only chunks and packs`,
        {
          details: { key: object.key },
        },
      );
    }
  }
  let packsWritten = 0;
  if (store.format >= 2 && (work.remove.length > 0 || work.repack.length > 0)) {
    const written = await repack(store, work, options);
    packsWritten = written.length;
    await rewriteIndex(store, work, written, options.signal);
  }
  const doomed = [...work.remove, ...work.repack];
  const { deleted, deletedBytes } = await deleteAll(store, doomed, options.signal);
  return { deleted, deletedBytes, packsWritten };
}

/** Copy the kept chunks of each repacked pack into new packs; returns them as the index will list them. */
async function repack(store: ObjectStore, work: PruneWork, options: ApplyOptions): Promise<IndexedPack[]> {
  const packs = new SequentialPackWriter(store, options.packSize, options.signal);
  for (const object of work.repack) {
    options.signal?.throwIfAborted();
    const bytes = Buffer.from(await store.get(object.key));
    const entries = readWholePack(object.key, bytes, store.protection, store.encryptionKey);
    const keep = new Set(object.keep);
    for (const entry of entries) {
      if (!keep.has(entry.id)) continue;
      keep.delete(entry.id);
      const envelope = bytes.subarray(entry.offset, entry.offset + entry.length);
      // Authenticate before copying: a prune must never spread damage into a new pack.
      await store.openPackedChunk(
        object.key,
        entry.offset,
        entry.id,
        Uint8Array.prototype.slice.call(envelope),
      );
      if (!packs.has(entry.id)) await packs.add(entry.id, envelope, entry.plainLength);
    }
    if (keep.size > 0) {
      throw new LifeboatError(
        "CHECKSUM_MISMATCH",
        `${object.key}: pack header lacks chunk(s) the index places in it (${[...keep][0]}); nothing was deleted (run \`lifeboat repair index\`)`,
        { details: { object: object.key } },
      );
    }
  }
  return packs.finish();
}

/** New index objects for every pack that stays plus the new ones; the last supersedes all old index objects. */
async function rewriteIndex(
  store: ObjectStore,
  work: PruneWork,
  written: readonly IndexedPack[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const loaded = await store.loadIndex({ refresh: true });
  const gone = new Set([...work.remove, ...work.repack].map((object) => idOfKey(object.key)));
  const packs = [...loaded.index.packs()].filter((pack) => !gone.has(pack.id)).concat(written);
  const old = [...loaded.live, ...loaded.superseded];
  const batches: IndexedPack[][] = [];
  for (let start = 0; start < packs.length; start += PACKS_PER_INDEX_OBJECT)
    batches.push(packs.slice(start, start + PACKS_PER_INDEX_OBJECT));
  if (batches.length === 0) batches.push([]);
  for (const [position, batch] of batches.entries()) {
    signal?.throwIfAborted();
    const last = position === batches.length - 1;
    const file: IndexFile = { version: 1, packs: batch, supersedes: last ? old : [] };
    await store.indexCatalog.write(file);
  }
  for (const id of old) {
    signal?.throwIfAborted();
    await store.backend.delete(indexKey(id));
  }
  await store.loadIndex({ refresh: true });
}

/** Delete objects in batches, a few at a time; an abort stops before the next deletion starts. */
async function deleteAll(
  store: ObjectStore,
  objects: readonly { key: string; size: number }[],
  signal: AbortSignal | undefined,
): Promise<{ deleted: number; deletedBytes: number }> {
  let deleted = 0;
  let deletedBytes = 0;
  for (let start = 0; start < objects.length; start += DELETE_BATCH) {
    const batch = objects.slice(start, start + DELETE_BATCH);
    let next = 0;
    let failed = false; // one failed deletion stops the other workers too
    const worker = async () => {
      while (next < batch.length && !failed) {
        signal?.throwIfAborted();
        const object = batch[next++]!;
        try {
          await store.backend.delete(object.key);
        } catch (error) {
          failed = true;
          throw error;
        }
        deleted++;
        deletedBytes += object.size;
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(PARALLEL_DELETES, batch.length) }, worker));
    } catch (error) {
      if (!isLifeboatError(error)) throw error;
      throw new LifeboatError(
        error.code,
        `${error.message} (prune stopped after deleting ${deleted} of ${objects.length} object(s); run it again to finish)`,
        { details: { ...error.details, deleted }, hint: error.hint, exitCode: error.exitCode, cause: error },
      );
    }
  }
  return { deleted, deletedBytes };
}
