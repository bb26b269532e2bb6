// `check`: verify the repository's structure and, optionally, a share of its
// data. Data problems are returned, never thrown: the caller decides the exit
// code, and one damaged object must not hide the others.

import { isLifeboatError } from "../errors.ts";
import { isReadOnlyStorageError } from "../storage/backend.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { discard } from "./buffers.ts";
import { mapLimited } from "./limiter.ts";
import { decodeManifest } from "./manifest.ts";
import { chunkKey, DATA_PREFIX, SNAPSHOTS_PREFIX, snapshotKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";
import { checkPacks } from "./check-packs.ts";
import { problemOf, sampleOf } from "./check-problems.ts";
import type { DataCheck } from "./check-problems.ts";
import { chunkIdOfKey, chunkReferences } from "./references.ts";
import type { CheckOptions, CheckProblem, CheckReport } from "./types.ts";

/** Temp files of interrupted writes older than this are removed by check (an hour: no put takes that long). */
export const LEFTOVER_AGE_MS = 60 * 60 * 1000;
const PARALLEL_READS = 4;

export async function checkRepository(store: ObjectStore, options: CheckOptions): Promise<CheckReport> {
  const problems: CheckProblem[] = [];

  // 1. Every manifest decodes.
  const snapshotIds: string[] = [];
  for await (const info of store.backend.list(SNAPSHOTS_PREFIX))
    snapshotIds.push(info.key.slice(SNAPSHOTS_PREFIX.length));
  const snapshots: Snapshot[] = [];
  await mapLimited(snapshotIds, PARALLEL_READS, async (id) => {
    let plaintext: Buffer;
    try {
      plaintext = await store.readManifest(id, { fromStorage: true }); // the stored copy, not a cached one
    } catch (error) {
      problems.push(problemOf(error, snapshotKey(id), [id]));
      return;
    }
    try {
      snapshots.push(decodeManifest(id, plaintext));
    } catch (error) {
      // Authentic bytes that do not parse (or come from a newer format): the manifest itself is bad.
      if (!isLifeboatError(error)) throw error;
      problems.push({
        code: "BAD_MANIFEST",
        object: snapshotKey(id),
        message: error.message,
        snapshots: [id],
      });
    }
  });

  // 2. and 3. The data: structure, then a random share read back (per format).
  const referencedBy = chunkReferences(snapshots);
  const data =
    store.format >= 2
      ? await checkPacks(store, referencedBy, options)
      : await checkChunkObjects(store, referencedBy, options);
  problems.push(...data.problems);

  // On a read-only repository the leftovers are only counted: check must not write.
  let removeLeftovers = options.removeLeftovers ?? true;
  let leftovers: number;
  try {
    leftovers = await store.backend.cleanupInterrupted(LEFTOVER_AGE_MS, { dryRun: !removeLeftovers });
  } catch (error) {
    if (!isReadOnlyStorageError(error)) throw error;
    removeLeftovers = false; // read-only after all (--no-lock did not find out): count them instead
    leftovers = await store.backend.cleanupInterrupted(LEFTOVER_AGE_MS, { dryRun: true });
  }
  problems.sort((a, b) => a.object.localeCompare(b.object));
  return {
    snapshots: snapshotIds.length,
    objectsReferenced: data.referenced,
    objectsRead: data.read,
    unreferenced: data.unreferenced,
    leftoversRemoved: removeLeftovers ? leftovers : 0,
    leftoversKept: removeLeftovers ? 0 : leftovers,
    problems,
  };
}

/** Format 1: every referenced chunk is an object of a size its envelope allows; a share is read back. */
async function checkChunkObjects(
  store: ObjectStore,
  referencedBy: ReadonlyMap<string, string[]>,
  options: CheckOptions,
): Promise<DataCheck> {
  const problems: CheckProblem[] = [];
  const stored = new Map<string, number>();
  for await (const info of store.backend.list(DATA_PREFIX)) stored.set(info.key, info.size);
  const bounds = store.chunkSizeBounds();
  const present: string[] = [];
  for (const [id, users] of referencedBy) {
    const key = chunkKey(id);
    // The listing is the cheap stat of everything; confirm an absence with a real stat.
    const size = stored.get(key) ?? (await store.backend.stat(key))?.size;
    if (size === undefined) {
      problems.push({
        code: "OBJECT_MISSING",
        object: key,
        message: `${key}: object is missing`,
        snapshots: users,
      });
    } else if (size < bounds.min) {
      const message = `${key}: object is ${size} bytes, shorter than any chunk envelope (${bounds.min})`;
      problems.push({ code: "OBJECT_TRUNCATED", object: key, message, snapshots: users });
    } else if (size > bounds.max) {
      const message = `${key}: object is ${size} bytes, longer than any chunk envelope (${bounds.max})`;
      problems.push({ code: "CHECKSUM_MISMATCH", object: key, message, snapshots: users });
    } else {
      present.push(id);
    }
  }
  let unreferenced = 0;
  for (const key of stored.keys()) {
    if (!referencedBy.has(chunkIdOfKey(key))) unreferenced++;
  }

  // Read, authenticate and re-hash a random share of the referenced chunks.
  const toRead = sampleOf(present, options.readDataPercent);
  let done = 0;
  options.onProgress?.(0, toRead.length);
  await mapLimited(toRead, PARALLEL_READS, async (id) => {
    options.signal?.throwIfAborted();
    try {
      discard(await store.readChunk(id));
    } catch (error) {
      problems.push(problemOf(error, chunkKey(id), referencedBy.get(id) ?? []));
    }
    options.onProgress?.(++done, toRead.length);
  });

  return { problems, referenced: referencedBy.size, read: toRead.length, unreferenced };
}
