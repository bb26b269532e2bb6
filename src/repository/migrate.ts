// `lifeboat migrate` (docs/repository-format.md, "Migration"): convert a
// format 1 repository (a chunk per object) into format 2 (packs and an
// index), in place, under the exclusive lock. Snapshots keep their ids:
// manifests do not change, only where their chunks live.
//
// Order, so that a migration killed at any point leaves a repository that
// opens and restores:
//   1. read every chunk object, verify it, re-seal its payload under the
//      chunk's id (the AAD a pack uses) and write packs of them;
//   2. write index objects for the packs;
//   3. rewrite every key file's copy of config, then config itself, with
//      version 2: the commit point (opening trusts a key file's copy over a
//      differing config, so either write alone already means format 2);
//   4. delete the chunk objects, now copied into packs.
// Killed before 3, the repository is format 1 with some unreferenced extra
// objects (a format 1 prune removes them); after 3, it is format 2, whose
// reader prefers the index and a second `migrate` finishes step 4.

import { LifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { decodePayloadSync } from "./compression.ts";
import { CONFIG_KEY, encodeConfig } from "./config-file.ts";
import { chunkIdOf } from "./crypto.ts";
import type { MasterKey } from "./crypto.ts";
import { envelopeOverhead, HEADER_BYTES, objectError, seal, unseal } from "./envelope.ts";
import { listKeyFiles, rewriteConfigCopy } from "./key-files.ts";
import { DATA_PREFIX, idOfKey, INDEX_PREFIX, isDataKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";
import { chunkAad } from "./pack-format.ts";
import { SequentialPackWriter } from "./pack-writer.ts";
import { PACKS_PER_INDEX_OBJECT } from "./prune-work.ts";
import type { MigrationResult, RepositoryConfigFile } from "./types.ts";

export interface MigrationInput {
  readonly backend: Backend;
  /** A format 1 store of the repository being migrated. */
  readonly store: ObjectStore;
  readonly master: MasterKey;
  readonly config: RepositoryConfigFile;
  readonly packSize: number;
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
  /** Bytes of chunk objects converted so far, of the total. */
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export async function migrateToPacks(input: MigrationInput): Promise<MigrationResult> {
  const { backend, store, master, config } = input;
  const objects = [];
  for await (const info of backend.list(DATA_PREFIX)) if (isDataKey(info.key)) objects.push(info);
  objects.sort((a, b) => a.key.localeCompare(b.key));
  const bytesBefore = objects.reduce((sum, info) => sum + info.size, 0);
  if (input.dryRun) {
    return {
      from: 1,
      to: 2,
      dryRun: true,
      chunks: objects.length,
      packs: 0,
      bytesBefore,
      bytesAfter: 0,
      deleted: 0,
    };
  }

  // Index objects in a format 1 repository are a killed migration's: they name
  // packs that were never committed, which this run supersedes by writing its own.
  for await (const info of backend.list(INDEX_PREFIX)) await backend.delete(info.key);

  // 1. Chunks into packs.
  const packs = new SequentialPackWriter(store, input.packSize, input.signal);
  const converted: typeof objects = [];
  let done = 0;
  input.onProgress?.(0, bytesBefore);
  for (const info of objects) {
    input.signal?.throwIfAborted();
    const id = idOfKey(info.key);
    const stored = await store.get(info.key);
    if (!isSingleEnvelope(stored, store)) {
      input.onProgress?.((done += info.size), bytesBefore);
      continue; // a pack left by an earlier, interrupted migrate: unreferenced, a prune removes it
    }
    // Authenticated under its own key, decompressed and re-hashed: a damaged chunk stops the migration.
    const payload = unseal(info.key, stored, store.protection, master.encryption);
    const plaintext = decodePayloadSync(info.key, payload, config.chunker.max);
    if (chunkIdOf(master, plaintext) !== id) {
      throw objectError(
        "CHECKSUM_MISMATCH",
        info.key,
        "content does not hash to the chunk's id; nothing was migrated (run `lifeboat check`)",
      );
    }
    const envelope = seal(chunkAad(id), [payload], store.protection, master.encryption);
    converted.push(info);
    if (!packs.has(id)) await packs.add(id, envelope, plaintext.length);
    input.onProgress?.((done += info.size), bytesBefore);
  }
  const written = await packs.finish();

  // 2. Their index.
  for (let start = 0; start < written.length; start += PACKS_PER_INDEX_OBJECT) {
    await store.indexCatalog.write({
      version: 1,
      packs: written.slice(start, start + PACKS_PER_INDEX_OBJECT),
      supersedes: [],
    });
  }

  // 3. The commit point: config copies, then config.
  input.signal?.throwIfAborted();
  const migrated: RepositoryConfigFile = { ...config, version: 2 };
  const configBytes = encodeConfig(migrated);
  const { keys } = await listKeyFiles(backend, config.id);
  if (keys.length === 0) throw new LifeboatError("INTERNAL", "migrate found no key file of this repository");
  for (const key of keys) await rewriteConfigCopy(backend, key, master, configBytes);
  await backend.put(CONFIG_KEY, configBytes);

  // 4. The chunk objects are copies now (a killed run's packs stay: unindexed, a prune removes them).
  let deleted = 0;
  for (const info of converted) {
    await backend.delete(info.key);
    deleted++;
  }
  const bytesAfter = written.reduce((sum, pack) => sum + pack.size, 0);
  return {
    from: 1,
    to: 2,
    dryRun: false,
    chunks: objects.length,
    packs: written.length,
    bytesBefore,
    bytesAfter,
    deleted,
  };
}

/** A format 1 chunk object is one envelope whose recorded payload length fills the whole object. */
function isSingleEnvelope(stored: Uint8Array, store: ObjectStore): boolean {
  if (stored.length < HEADER_BYTES) return true; // let unseal name the damage
  const length = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength).readUInt32BE(6);
  return length + envelopeOverhead(store.protection) === stored.length;
}

/** A format 2 repository left by a migration killed in step 4: delete the chunk objects its packs already hold. */
export async function finishMigration(store: ObjectStore, dryRun: boolean): Promise<MigrationResult> {
  const { index } = await store.loadIndex({ refresh: true });
  const leftovers = [];
  for await (const info of store.backend.list(DATA_PREFIX)) {
    if (isDataKey(info.key) && !index.pack(idOfKey(info.key)) && index.has(idOfKey(info.key)))
      leftovers.push(info);
  }
  if (!dryRun) for (const info of leftovers) await store.backend.delete(info.key);
  const bytes = leftovers.reduce((sum, info) => sum + info.size, 0);
  return {
    from: 2,
    to: 2,
    dryRun,
    chunks: leftovers.length,
    packs: 0,
    bytesBefore: bytes,
    bytesAfter: 0,
    deleted: dryRun ? 0 : leftovers.length,
  };
}
