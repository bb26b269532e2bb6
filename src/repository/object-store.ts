// Chunks and manifests as the repository stores them: envelope + payload
// under their keys, verified by name on every read
// (docs/repository-format.md, "Chunks", "Manifests").

import { createHash } from "node:crypto";
import { isLifeboatError } from "../errors.ts";
import type { Backend } from "../storage/backend.ts";
import { discard } from "./buffers.ts";
import { acquireCodecPool } from "./codec-pool.ts";
import type { CodecContext, HeldChunk } from "./codec-pool.ts";
import { decodePayload, encodePayload } from "./compression.ts";
import { chunkIdOf } from "./crypto.ts";
import type { MasterKey } from "./crypto.ts";
import { envelopeOverhead, objectError, seal, unseal } from "./envelope.ts";
import type { Protection } from "./envelope.ts";

export const DATA_PREFIX = "data/";
export const SNAPSHOTS_PREFIX = "snapshots/";
/** Folders of JSON documents kept beside the snapshots (drill reports). */
export const DOCUMENT_FOLDERS = ["drills"] as const;
export type DocumentFolder = (typeof DOCUMENT_FOLDERS)[number];
/** Manifests are small; this only bounds what a damaged object can make us allocate. */
const MAX_MANIFEST_BYTES = 1024 * 1024 * 1024;

export function chunkKey(id: string): string {
  return `${DATA_PREFIX}${id.slice(0, 2)}/${id}`;
}

export function snapshotKey(id: string): string {
  return SNAPSHOTS_PREFIX + id;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface SealedChunk {
  readonly key: string;
  readonly bytes: Uint8Array;
}

export class ObjectStore {
  readonly backend: Backend;
  readonly protection: Protection;
  readonly #master: MasterKey;
  readonly #chunkMax: number;
  /** Chunk work runs in the codec pool, acquired on first use and released by close(). */
  #codec: { context: CodecContext; release: () => Promise<void> } | undefined;

  constructor(backend: Backend, master: MasterKey, protection: Protection, chunkMax: number) {
    this.backend = backend;
    this.#master = master;
    this.protection = protection;
    this.#chunkMax = chunkMax;
  }

  chunkIdOf(plaintext: Uint8Array): string {
    return chunkIdOf(this.#master, plaintext);
  }

  /** The range of sizes a stored chunk can have, for structure checks without reading it. */
  chunkSizeBounds(): { min: number; max: number } {
    const overhead = envelopeOverhead(this.protection);
    return { min: overhead + 2, max: overhead + 1 + this.#chunkMax };
  }

  /** Get an object; a missing one is OBJECT_MISSING naming it (details.object). */
  async get(key: string): Promise<Uint8Array> {
    try {
      return await this.backend.get(key);
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

  /** Compress and seal a held chunk, in its worker: the object to store. */
  async sealChunk(chunk: HeldChunk): Promise<SealedChunk> {
    const key = chunkKey(chunk.id);
    return { key, bytes: await chunk.seal(key) };
  }

  /** Store a sealed chunk (its bytes are freed once stored); returns the bytes stored. */
  async putSealed(sealed: SealedChunk): Promise<number> {
    const length = sealed.bytes.length;
    await this.backend.put(sealed.key, sealed.bytes);
    discard(sealed.bytes); // a resolved put keeps no reference (the Backend contract)
    return length;
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
    const key = chunkKey(id);
    const stored = await this.get(key);
    return this.#context().open(key, id, stored);
  }

  /** Store manifest bytes under their SHA-256; the commit point of a snapshot. */
  async putManifest(plaintext: Buffer): Promise<string> {
    const id = sha256Hex(plaintext);
    const key = snapshotKey(id);
    const sealed = seal(
      key,
      await encodePayload(plaintext, { sample: false }),
      this.protection,
      this.#master.encryption,
    );
    try {
      await this.backend.put(key, sealed, { ifAbsent: true });
    } catch (error) {
      // Same id, same bytes: the snapshot is already committed.
      if (!(isLifeboatError(error, "STORAGE_ERROR") && error.details["reason"] === "exists")) throw error;
    }
    return id;
  }

  /** A manifest's plaintext bytes, verified against its id; read twice before damage is reported, like a chunk. */
  async readManifest(id: string): Promise<Buffer> {
    try {
      return await this.#readManifestOnce(id);
    } catch (error) {
      if (!isLifeboatError(error, "CHECKSUM_MISMATCH") && !isLifeboatError(error, "OBJECT_TRUNCATED"))
        throw error;
      return this.#readManifestOnce(id);
    }
  }

  async #readManifestOnce(id: string): Promise<Buffer> {
    const key = snapshotKey(id);
    const payload = unseal(key, await this.get(key), this.protection, this.#master.encryption);
    const plaintext = await decodePayload(key, payload, MAX_MANIFEST_BYTES);
    if (sha256Hex(plaintext) !== id)
      throw objectError("CHECKSUM_MISMATCH", key, "manifest does not hash to its id");
    return plaintext;
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
  }

  /** A document's plaintext, authenticated (encrypted repositories) or checksummed (unencrypted). */
  async readDocument(key: string): Promise<Buffer> {
    const payload = unseal(key, await this.get(key), this.protection, this.#master.encryption);
    return decodePayload(key, payload, MAX_MANIFEST_BYTES);
  }
}
