// Writes one snapshot: artifacts are chunked, deduplicated against the
// chunks already stored, compressed, encrypted and uploaded with bounded
// concurrency; the manifest is written last, only after every chunk put has
// resolved (docs/repository-format.md, "Write ordering").

import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type { ArtifactRef, Snapshot, SnapshotDraft } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import type { Chunker } from "./chunker.ts";
import { Limiter } from "./limiter.ts";
import { decodeManifest, encodeManifest } from "./manifest.ts";
import { DATA_PREFIX } from "./object-store.ts";
import type { ObjectStore } from "./object-store.ts";
import type { SnapshotWriter, WriteStats } from "./types.ts";

/** Uploads in flight per writer: enough to hide storage latency, few enough to bound memory (~4 × 3 × max chunk). */
export const UPLOADS_IN_FLIGHT = 4;

/** Ids of the chunks already stored, from one listing of data/ (objects too small to be whole are not trusted). */
export async function loadChunkIndex(store: ObjectStore): Promise<Set<string>> {
  const ids = new Set<string>();
  const { min } = store.chunkSizeBounds();
  for await (const info of store.backend.list(DATA_PREFIX)) {
    const id = info.key.slice(info.key.lastIndexOf("/") + 1);
    if (/^[0-9a-f]{64}$/.test(id) && info.size >= min) ids.add(id);
  }
  return ids;
}

export class RepositorySnapshotWriter implements SnapshotWriter {
  /** Receives the plaintext bytes just processed (a delta), for progress bars. */
  onProgress?: (bytes: number) => void;
  readonly #store: ObjectStore;
  readonly #chunker: Chunker;
  /** Chunks stored before this run plus those this run has started storing. */
  readonly #known: Set<string>;
  readonly #uploads = new Limiter(UPLOADS_IN_FLIGHT);
  readonly #artifacts: (ArtifactRef | undefined)[] = [];
  readonly #names = new Set<string>();
  #writing = 0;
  #failure: unknown;
  #committed = false;
  #stats = { bytesRead: 0, bytesStored: 0, chunksTotal: 0, chunksNew: 0 };

  constructor(store: ObjectStore, chunker: Chunker, known: Set<string>) {
    this.#store = store;
    this.#chunker = chunker;
    this.#known = known;
  }

  get stats(): WriteStats {
    return { ...this.#stats };
  }

  async write(name: string, data: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactRef> {
    if (this.#committed) throw new LifeboatError("INTERNAL", `artifact ${name} written after commit`);
    if (this.#names.has(name)) throw new LifeboatError("INTERNAL", `artifact ${name} written twice`);
    this.#names.add(name);
    const slot = this.#artifacts.push(undefined) - 1;
    this.#writing++;
    const uploads = new Set<Promise<void>>();
    let uploadFailure: unknown;
    try {
      const hash = createHash("sha256");
      const chunks: string[] = [];
      let size = 0;
      for await (const chunk of this.#chunker.chunks(data as AsyncIterable<Uint8Array>)) {
        if (uploadFailure !== undefined) throw uploadFailure;
        hash.update(chunk);
        size += chunk.length;
        const id = this.#store.chunkIdOf(chunk);
        chunks.push(id);
        this.#stats.bytesRead += chunk.length;
        this.#stats.chunksTotal++;
        if (!this.#known.has(id)) {
          this.#known.add(id);
          this.#stats.chunksNew++;
          // Backpressure: the source is not read on while the uploads are all busy.
          await this.#uploads.acquire();
          const upload: Promise<void> = this.#store
            .putChunk(id, chunk)
            .then(
              (stored) => {
                this.#stats.bytesStored += stored;
              },
              (error: unknown) => {
                uploadFailure ??= error;
              },
            )
            .finally(() => {
              this.#uploads.release();
              uploads.delete(upload);
            });
          uploads.add(upload);
        }
        this.onProgress?.(chunk.length);
      }
      await Promise.all(uploads);
      if (uploadFailure !== undefined) throw uploadFailure;
      const ref: ArtifactRef = { name, size, sha256: hash.digest("hex"), chunks };
      this.#artifacts[slot] = ref;
      return ref;
    } catch (error) {
      // Chunks of this run are in #known whether or not their upload worked:
      // the writer cannot be trusted to commit any more.
      this.#failure ??= error;
      await Promise.allSettled(uploads);
      throw error;
    } finally {
      this.#writing--;
    }
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
    const manifest = encodeManifest(draft, artifacts);
    const id = await this.#store.putManifest(manifest);
    this.#committed = true;
    return decodeManifest(id, manifest);
  }
}
