// Chunks and manifests as the repository stores them: envelope + payload
// under their keys, verified by name on every read
// (docs/repository-format.md, "Chunks", "Manifests").

import { createHash } from "node:crypto";
import { isLifeboatError } from "../errors.ts";
import { LifeboatError } from "../errors.ts";
import type { Backend, ByteRange } from "../storage/backend.ts";
import type { ChunkLocation, IndexedPack } from "./chunk-index.ts";
import { acquireCodecPool } from "./codec-pool.ts";
import type { CodecContext, HeldChunk } from "./codec-pool.ts";
import { decodePayload, encodePayload } from "./compression.ts";
import { chunkIdOf } from "./crypto.ts";
import type { MasterKey } from "./crypto.ts";
import { envelopeOverhead, objectError, seal, unseal } from "./envelope.ts";
import type { Protection } from "./envelope.ts";
import { IndexCatalog } from "./index-objects.ts";
import type { LoadedIndex } from "./index-objects.ts";
import { chunkKey, INDEX_PREFIX, packKey, snapshotKey } from "./layout.ts";
import type { LocalCache } from "./local-cache.ts";
import { chunkAad } from "./pack-format.ts";
import type { DocumentFolder } from "./layout.ts";

/** Manifests are small; this only bounds what a damaged object can make us allocate. */
const MAX_MANIFEST_BYTES = 1024 * 1024 * 1024;

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface StoreOptions {
  /** The repository's format version: 1 stores a chunk per object, 2 stores chunks in packs. */
  readonly format: number;
  /** Local copies of immutable objects (index/, snapshots/, drills/); none: every read goes to storage. */
  readonly cache?: LocalCache;
}

export class ObjectStore {
  readonly backend: Backend;
  readonly protection: Protection;
  readonly format: number;
  readonly cache: LocalCache | undefined;
  readonly #master: MasterKey;
  readonly #chunkMax: number;
  readonly #indexCatalog: IndexCatalog;
  /** The loaded index (format 2), memoized: loadIndex({ refresh: true }) reads what other hosts added since. */
  #index: Promise<LoadedIndex> | undefined;
  /** The re-read of the index a lookup miss made (at most one per loaded index). */
  #missRefresh: Promise<LoadedIndex> | undefined;
  /** Chunk work runs in the codec pool, acquired on first use and released by close(). */
  #codec: { context: CodecContext; release: () => Promise<void> } | undefined;

  constructor(
    backend: Backend,
    master: MasterKey,
    protection: Protection,
    chunkMax: number,
    options: StoreOptions,
  ) {
    this.backend = backend;
    this.#master = master;
    this.protection = protection;
    this.#chunkMax = chunkMax;
    this.format = options.format;
    this.cache = options.cache;
    this.#indexCatalog = new IndexCatalog(this);
  }

  get encryptionKey(): Buffer {
    return this.#master.encryption;
  }

  get indexCatalog(): IndexCatalog {
    return this.#indexCatalog;
  }

  /**
   * The index of format 2 (an empty one for format 1): loaded once, re-listed
   * with `refresh`; `fromStorage` (check) re-reads every index object from
   * storage, trusting neither the cache nor what this process read before.
   */
  loadIndex(options: { refresh?: boolean; fromStorage?: boolean } = {}): Promise<LoadedIndex> {
    if (options.refresh || options.fromStorage || !this.#index) {
      const loading = this.#indexCatalog.load({ fromStorage: !!options.fromStorage });
      loading.catch(() => {
        if (this.#index === loading) this.#index = undefined; // a failed load is retried next time
      });
      this.#index = loading;
      this.#missRefresh = undefined;
    }
    return this.#index;
  }

  /** Make packs a writer stored (and indexed) visible to this process's reads at once. */
  async addPacksToIndex(packs: readonly IndexedPack[]): Promise<void> {
    if (!this.#index) return; // the next load reads them from storage
    const loaded = await this.#index;
    for (const pack of packs) loaded.index.addPack(pack);
  }

  chunkIdOf(plaintext: Uint8Array): string {
    return chunkIdOf(this.#master, plaintext);
  }

  /** The range of sizes a stored chunk envelope can have, for structure checks without reading it. */
  chunkSizeBounds(): { min: number; max: number } {
    const overhead = envelopeOverhead(this.protection);
    return { min: overhead + 2, max: overhead + 1 + this.#chunkMax };
  }

  /** Get an object (or a range of it); a missing one is OBJECT_MISSING naming it (details.object). */
  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    try {
      return await this.backend.get(key, range);
    } catch (error) {
      if (isLifeboatError(error, "OBJECT_MISSING")) {
        throw objectError("OBJECT_MISSING", key, `object is missing from ${this.backend.location}`, error);
      }
      throw error;
    }
  }

  /**
   * Compute a chunk's id in a worker thread, which keeps the chunk until
   * sealChunk() or drop(): the caller decides in between whether it is new.
   * The chunk is taken over (transferred): the caller must own it outright.
   */
  hashChunk(plaintext: Uint8Array): Promise<HeldChunk> {
    return this.#context().hash(plaintext);
  }

  /** Compress and seal a held chunk, in its worker: its envelope, sealed under the name this format gives it. */
  sealChunk(chunk: HeldChunk): Promise<Uint8Array> {
    return chunk.seal(this.chunkSealName(chunk.id));
  }

  /** The name a chunk's envelope is sealed under (its AAD): the object key in format 1, `chunk:<id>` in a pack. */
  chunkSealName(id: string): string {
    return this.format >= 2 ? chunkAad(id) : chunkKey(id);
  }

  /** Start the worker threads now, while the caller does something else (lists data/, runs a dump). */
  warmUp(): void {
    this.#context().warmUp();
  }

  /** Release the worker threads this store used (the repository is being closed; a later use starts over). */
  async close(): Promise<void> {
    const codec = this.#codec;
    this.#codec = undefined;
    if (codec) {
      codec.context.forget();
      await codec.release();
    }
  }

  #context(): CodecContext {
    if (!this.#codec) {
      const { pool, release } = acquireCodecPool();
      this.#codec = {
        context: pool.context(this.#master, this.protection, this.#chunkMax),
        release,
      };
    }
    return this.#codec.context;
  }

  /**
   * A chunk's plaintext, authenticated, decompressed and re-hashed against its id.
   * Bytes damaged in transit (a flaky network, a proxy) look exactly like bytes
   * damaged at rest, so a chunk that fails verification is read once more; only
   * a second failure is reported, and it names the object.
   */
  async readChunk(id: string): Promise<Buffer> {
    try {
      return await this.#readChunkOnce(id);
    } catch (error) {
      if (!isLifeboatError(error, "CHECKSUM_MISMATCH") && !isLifeboatError(error, "OBJECT_TRUNCATED"))
        throw error;
      return this.#readChunkOnce(id);
    }
  }

  async #readChunkOnce(id: string): Promise<Buffer> {
    if (this.format >= 2) {
      // A miss re-reads the index once: another host may have indexed (or a
      // prune re-indexed) the chunk since this process loaded it.
      let location = (await this.loadIndex()).index.lookup(id);
      if (!location) {
        // Once per loaded index, not per chunk: a lost index must not cost a listing per chunk.
        this.#missRefresh ??= this.loadIndex({ refresh: true });
        location = (await this.#missRefresh).index.lookup(id);
      }
      if (location) return this.readPackedChunk(id, location);
    }
    // Format 1, or a chunk no index names: a format 1 object (a repository part-way through `migrate`).
    const key = chunkKey(id);
    let stored: Uint8Array;
    try {
      stored = await this.get(key);
    } catch (error) {
      if (this.format < 2 || !isLifeboatError(error, "OBJECT_MISSING")) throw error;
      throw new LifeboatError("OBJECT_MISSING", `chunk ${id} is in no index object and no pack`, {
        details: { object: `${INDEX_PREFIX}`, chunk: id },
        hint: "If index objects were lost or damaged, `lifeboat repair index` rebuilds the index from the packs; then run `lifeboat check`.",
        cause: error,
      });
    }
    return this.#context().open(key, id, stored);
  }

  /** One chunk read by range out of its pack; errors name the pack and the chunk. */
  async readPackedChunk(id: string, location: ChunkLocation): Promise<Buffer> {
    const key = packKey(location.pack);
    const where = `chunk ${id} at offset ${location.offset}`;
    const stored = await this.get(key, { offset: location.offset, length: location.length });
    if (stored.length < location.length) {
      throw objectError(
        "OBJECT_TRUNCATED",
        key,
        `${where}: read ${stored.length} of its ${location.length} bytes (the pack is cut short)`,
      );
    }
    return this.openPackedChunk(key, location.offset, id, stored);
  }

  /** Authenticate, decompress and re-hash one chunk envelope of the pack `key` (taken over); errors name both. */
  async openPackedChunk(key: string, offset: number, id: string, envelope: Uint8Array): Promise<Buffer> {
    const name = chunkAad(id);
    try {
      return await this.#context().open(name, id, envelope);
    } catch (error) {
      if (!isLifeboatError(error)) throw error;
      const message = error.message.startsWith(`${name}: `)
        ? error.message.slice(name.length + 2)
        : error.message;
      // The envelope's bytes were all read (a short pack is caught before): an envelope
      // longer than its recorded length is inconsistent data, not a cut object.
      const code = error.code === "OBJECT_TRUNCATED" ? "CHECKSUM_MISMATCH" : error.code;
      throw new LifeboatError(code, `${key}: chunk ${id} at offset ${offset}: ${message}`, {
        details: { ...error.details, object: key, chunk: id },
        cause: error,
      });
    }
  }

  /**
   * An immutable object's plaintext (a manifest, an index object, a drill
   * report): from the local cache when it holds a copy that verifies,
   * otherwise from storage (and then cached). `verify` throws when the
   * plaintext does not match the object's name.
   */
  async readImmutable(
    key: string,
    verify: (plaintext: Buffer) => void = () => {},
    options: { fromStorage?: boolean } = {},
  ): Promise<Buffer> {
    const open = async (stored: Uint8Array) => {
      const payload = unseal(key, stored, this.protection, this.#master.encryption);
      const plaintext = await decodePayload(key, payload, MAX_MANIFEST_BYTES);
      verify(plaintext);
      return plaintext;
    };
    // `check` reads storage itself: a valid cached copy must not hide damage there.
    const cached = options.fromStorage ? undefined : await this.cache?.read(key);
    if (cached) {
      try {
        return await open(cached);
      } catch (error) {
        if (!isLifeboatError(error)) throw error;
        await this.cache?.remove(key); // a damaged copy: storage has the real one
      }
    }
    const stored = await this.get(key);
    const plaintext = await open(stored);
    await this.cache?.write(key, stored);
    return plaintext;
  }

  /** Seal and store an immutable object under `key` (kept in the cache too); one already stored under this name is the same. */
  async putImmutable(key: string, plaintext: Buffer): Promise<void> {
    const sealed = seal(
      key,
      await encodePayload(plaintext, { sample: false }),
      this.protection,
      this.#master.encryption,
    );
    // A plain put: the name is the hash of the plaintext, so an object already
    // there holds the same content, and a conditional put would cost a store
    // without one a HEAD (and a probe) per object.
    await this.backend.put(key, sealed);
    await this.cache?.write(key, sealed);
  }

  /** Store manifest bytes under their SHA-256; the commit point of a snapshot. */
  async putManifest(plaintext: Buffer): Promise<string> {
    const id = sha256Hex(plaintext);
    await this.putImmutable(snapshotKey(id), plaintext);
    return id;
  }

  /** A manifest's plaintext bytes, verified against its id; read twice before damage is reported, like a chunk. */
  async readManifest(id: string, options: { fromStorage?: boolean } = {}): Promise<Buffer> {
    try {
      return await this.#readManifestOnce(id, options);
    } catch (error) {
      if (!isLifeboatError(error, "CHECKSUM_MISMATCH") && !isLifeboatError(error, "OBJECT_TRUNCATED"))
        throw error;
      return this.#readManifestOnce(id, options);
    }
  }

  #readManifestOnce(id: string, options: { fromStorage?: boolean }): Promise<Buffer> {
    const key = snapshotKey(id);
    const verify = (plaintext: Buffer) => {
      if (sha256Hex(plaintext) !== id)
        throw objectError("CHECKSUM_MISMATCH", key, "manifest does not hash to its id");
    };
    return this.readImmutable(key, verify, options);
  }

  /** Seal and store a JSON document (a drill report) under `<folder>/<id>`. */
  async putDocument(folder: DocumentFolder, id: string, plaintext: Buffer): Promise<void> {
    if (!/^[A-Za-z0-9._-]+$/.test(id))
      throw objectError("INTERNAL", `${folder}/${id}`, "invalid document id");
    const key = `${folder}/${id}`;
    const sealed = seal(
      key,
      await encodePayload(plaintext, { sample: false }),
      this.protection,
      this.#master.encryption,
    );
    await this.backend.put(key, sealed, { ifAbsent: true });
    await this.cache?.write(key, sealed);
  }

  /** A document's plaintext, authenticated (encrypted repositories) or checksummed (unencrypted). */
  readDocument(key: string): Promise<Buffer> {
    return this.readImmutable(key);
  }
}
