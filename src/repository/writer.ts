// Writes one snapshot: artifacts are chunked, deduplicated against the
// chunks already stored, compressed, encrypted and handed to a destination
// (an object per chunk in format 1, packs in format 2); the manifest is
// written last, only after the destination says every chunk is durable
// (docs/repository-format.md, "Write ordering").
//
// The main thread chunks and hashes the whole stream; each chunk then goes
// to a codec worker (codec-pool.ts) for its id and, when new, compression
// and sealing, so several chunks are in the works at once. Their ids land in
// the artifact's list in stream order whatever order the workers finish in.

import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { WriteOptions } from "../domain/artifacts.ts";
import type { ArtifactRef, Snapshot, SnapshotDraft } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import type { Chunker } from "./chunker.ts";
import type { ChunkDestination } from "./chunk-destination.ts";
import { Limiter } from "./limiter.ts";
import { decodeManifest, encodeManifest } from "./manifest.ts";
import type { ObjectStore } from "./object-store.ts";
import type { SnapshotWriter, WriteStats } from "./types.ts";

/**
 * Chunks between the chunker and their resolved put, per writer: enough to
 * keep every worker busy while uploads wait, few enough to bound memory
 * (each holds at most a max-size chunk and its envelope).
 */
export const CHUNKS_IN_FLIGHT = 6;

export class RepositorySnapshotWriter implements SnapshotWriter {
  /** Receives the plaintext bytes just processed (a delta), for progress bars. */
  onProgress?: (bytes: number) => void;
  readonly #store: ObjectStore;
  readonly #chunker: Chunker;
  readonly #destination: ChunkDestination;
  readonly #inFlight = new Limiter(CHUNKS_IN_FLIGHT);
  readonly #artifacts: (ArtifactRef | undefined)[] = [];
  readonly #names = new Set<string>();
  #writing = 0;
  #failure: unknown;
  #committed = false;
  #stats = { bytesRead: 0, chunksTotal: 0, chunksNew: 0 };

  constructor(store: ObjectStore, chunker: Chunker, destination: ChunkDestination) {
    this.#store = store;
    this.#chunker = chunker;
    this.#destination = destination;
  }

  get stats(): WriteStats {
    return { ...this.#stats, bytesStored: this.#destination.bytesStored };
  }

  async write(
    name: string,
    data: Readable | AsyncIterable<Uint8Array>,
    options: WriteOptions = {},
  ): Promise<ArtifactRef> {
    if (this.#committed) throw new LifeboatError("INTERNAL", `artifact ${name} written after commit`);
    if (this.#names.has(name)) throw new LifeboatError("INTERNAL", `artifact ${name} written twice`);
    this.#names.add(name);
    const slot = this.#artifacts.push(undefined) - 1;
    this.#writing++;
    const tasks = new Set<Promise<void>>();
    let taskFailure: unknown;
    try {
      const hash = createHash("sha256");
      const chunks: string[] = [];
      let size = 0;
      // Fresh chunks, ours alone: each is handed to a worker without a second copy.
      const chunking = { copy: true, release: options.handOver === true };
      for await (const chunk of this.#chunker.chunks(data as AsyncIterable<Uint8Array>, chunking)) {
        if (taskFailure !== undefined) throw taskFailure;
        const length = chunk.length; // the chunk goes to a worker below, and reads as empty afterwards
        hash.update(chunk);
        size += length;
        this.#stats.bytesRead += length;
        this.#stats.chunksTotal++;
        // Backpressure: the source is not read on while CHUNKS_IN_FLIGHT are in the works.
        await this.#inFlight.acquire();
        const position = chunks.push("") - 1;
        const task: Promise<void> = this.#storeChunk(chunk)
          .then(
            (id) => {
              chunks[position] = id;
            },
            (error: unknown) => {
              taskFailure ??= error;
            },
          )
          .finally(() => {
            this.#inFlight.release();
            tasks.delete(task);
          });
        tasks.add(task);
        this.onProgress?.(length);
      }
      await Promise.all(tasks);
      if (taskFailure !== undefined) throw taskFailure;
      const ref: ArtifactRef = { name, size, sha256: hash.digest("hex"), chunks };
      this.#artifacts[slot] = ref;
      return ref;
    } catch (error) {
      // Chunks of this run are in #known whether or not their upload worked:
      // the writer cannot be trusted to commit any more.
      this.#failure ??= error;
      await Promise.allSettled(tasks);
      throw error;
    } finally {
      this.#writing--;
    }
  }

  /** The chunk's id, after handing it to the destination unless it is already stored (or being stored by this run). */
  async #storeChunk(chunk: Uint8Array): Promise<string> {
    const length = chunk.length; // the chunk is transferred to a worker below
    const held = await this.#store.hashChunk(chunk);
    if (!this.#destination.claim(held.id)) {
      held.drop();
      return held.id;
    }
    this.#stats.chunksNew++;
    const envelope = await this.#store.sealChunk(held);
    await this.#destination.store(held.id, envelope, length);
    return held.id;
  }

  async commit(draft: SnapshotDraft): Promise<Snapshot> {
    if (this.#writing > 0)
      throw new LifeboatError("INTERNAL", "commit called while artifacts are being written");
    if (this.#failure !== undefined) {
      throw new LifeboatError("INTERNAL", "commit called after a failed artifact write", {
        cause: this.#failure,
      });
    }
    if (this.#committed) throw new LifeboatError("INTERNAL", "snapshot committed twice");
    const artifacts = this.#artifacts.filter((ref): ref is ArtifactRef => ref !== undefined);
    // Every chunk durable (and, in format 2, indexed) before the manifest: the commit point.
    await this.#destination.flush();
    const manifest = encodeManifest(draft, artifacts);
    const id = await this.#store.putManifest(manifest);
    this.#committed = true;
    return decodeManifest(id, manifest);
  }
}
