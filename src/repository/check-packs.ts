// `check` of format 2's data (docs/repository-format.md, "Check"):
// structure from the index and one listing of data/ (every referenced chunk
// is indexed, every pack holding one exists at its recorded size), then a
// share of those packs read whole: the pack hashes to its name, its header
// agrees with the index, and every chunk envelope in it authenticates and
// re-hashes to its id.

import { isLifeboatError } from "../errors.ts";
import type { IndexedPack } from "./chunk-index.ts";
import { mapLimited } from "./limiter.ts";
import { chunkKey, DATA_PREFIX, INDEX_PREFIX, idOfKey, packKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";
import { readWholePack } from "./pack-format.ts";
import type { PackEntry } from "./pack-format.ts";
import { problemOf, sampleOf } from "./check-problems.ts";
import type { DataCheck } from "./check-problems.ts";
import { objectError } from "./envelope.ts";
import type { CheckOptions, CheckProblem } from "./types.ts";

/** Whole packs in memory at once (each up to the pack size): fewer than chunk reads. */
const PARALLEL_PACK_READS = 2;

export async function checkPacks(
  store: ObjectStore,
  referencedBy: ReadonlyMap<string, string[]>,
  options: CheckOptions,
): Promise<DataCheck> {
  const problems: CheckProblem[] = [];
  const { index, damaged } = await store.loadIndex({ fromStorage: true });
  for (const damage of damaged) problems.push({ ...damage, code: damageCode(damage.code), snapshots: [] });

  const stored = new Map<string, number>();
  for await (const info of store.backend.list(DATA_PREFIX)) stored.set(info.key, info.size);

  // Which packs hold referenced chunks, and who references each pack.
  const packUsers = new Map<string, Set<string>>();
  for (const [id, users] of referencedBy) {
    const location = index.lookup(id);
    if (location) {
      const set = packUsers.get(location.pack) ?? new Set<string>();
      for (const user of users) set.add(user);
      packUsers.set(location.pack, set);
    } else if (!stored.has(chunkKey(id))) {
      // Neither indexed nor a format 1 object (which a repository part-way through `migrate` may still hold).
      problems.push({
        code: "OBJECT_MISSING",
        object: INDEX_PREFIX,
        message: `chunk ${id} is in no index object and no pack (run \`lifeboat repair index\` if index objects were lost)`,
        snapshots: users,
      });
    }
  }

  const present: IndexedPack[] = [];
  for (const [packId, users] of packUsers) {
    const pack = index.pack(packId)!;
    const key = packKey(packId);
    const size = stored.get(key) ?? (await store.backend.stat(key))?.size;
    const snapshots = [...users].sort();
    if (size === undefined) {
      problems.push({ code: "OBJECT_MISSING", object: key, message: `${key}: pack is missing`, snapshots });
    } else if (size < pack.size) {
      const message = `${key}: pack is ${size} bytes, the index records ${pack.size} (cut short)`;
      problems.push({ code: "OBJECT_TRUNCATED", object: key, message, snapshots });
    } else if (size !== pack.size) {
      const message = `${key}: pack is ${size} bytes, the index records ${pack.size}`;
      problems.push({ code: "CHECKSUM_MISMATCH", object: key, message, snapshots });
    } else {
      present.push(pack);
    }
  }

  let unreferenced = 0;
  for (const key of stored.keys())
    if (!packUsers.has(idOfKey(key)) && !referencedBy.has(idOfKey(key))) unreferenced++;

  const toRead = sampleOf(present, options.readDataPercent);
  let done = 0;
  options.onProgress?.(0, toRead.length);
  await mapLimited(toRead, PARALLEL_PACK_READS, async (pack) => {
    options.signal?.throwIfAborted();
    const key = packKey(pack.id);
    const snapshots = [...packUsers.get(pack.id)!].sort();
    try {
      await readPackTwice(store, key, pack);
    } catch (error) {
      problems.push(problemOf(error, key, snapshots));
    }
    options.onProgress?.(++done, toRead.length);
  });
  return { problems, referenced: packUsers.size, read: toRead.length, unreferenced };
}

function damageCode(code: string): CheckProblem["code"] {
  return code === "OBJECT_TRUNCATED" ? "OBJECT_TRUNCATED" : "CHECKSUM_MISMATCH";
}

/** Damage in transit looks like damage at rest: a pack that fails is read once more before it is reported. */
async function readPackTwice(store: ObjectStore, key: string, pack: IndexedPack): Promise<void> {
  try {
    await verifyPack(store, key, pack);
  } catch (error) {
    if (!isLifeboatError(error, "CHECKSUM_MISMATCH") && !isLifeboatError(error, "OBJECT_TRUNCATED"))
      throw error;
    await verifyPack(store, key, pack);
  }
}

/** Read a pack whole: its name, its header against the index, then every chunk envelope. */
export async function verifyPack(store: ObjectStore, key: string, pack: IndexedPack): Promise<PackEntry[]> {
  const bytes = Buffer.from(await store.get(key));
  const entries = readWholePack(key, bytes, store.protection, store.encryptionKey);
  const differs = headerDiffers(entries, pack.chunks);
  if (differs) {
    throw objectError("CHECKSUM_MISMATCH", key, `pack header differs from the index: ${differs}`);
  }
  for (const entry of entries) {
    // A copy per chunk: the worker takes its bytes over, and the pack is read on.
    const envelope = Uint8Array.prototype.slice.call(bytes, entry.offset, entry.offset + entry.length);
    await store.openPackedChunk(key, entry.offset, entry.id, envelope);
  }
  return entries;
}

function headerDiffers(header: readonly PackEntry[], indexed: readonly PackEntry[]): string | undefined {
  if (header.length !== indexed.length)
    return `${header.length} chunks in the header, ${indexed.length} indexed`;
  const byId = new Map(indexed.map((entry) => [entry.id, entry]));
  for (const entry of header) {
    const other = byId.get(entry.id);
    if (!other) return `chunk ${entry.id} is not indexed`;
    if (
      other.offset !== entry.offset ||
      other.length !== entry.length ||
      other.plainLength !== entry.plainLength
    )
      return `chunk ${entry.id} is indexed at another place`;
  }
  return undefined;
}
