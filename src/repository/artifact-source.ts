// Verified reads of a snapshot's artifacts. Every chunk is authenticated and
// re-hashed as it arrives (a few fetched ahead for throughput), and the
// whole stream's size and SHA-256 are compared with the manifest at the end.

import { createHash, randomBytes } from "node:crypto";
import { open as openFile, rename, unlink } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ArtifactRef, Snapshot } from "../domain/snapshot.ts";
import type { ArtifactSource, ByteRange, OpenOptions } from "../domain/artifacts.ts";
import { LifeboatError } from "../errors.ts";
import { discard } from "./buffers.ts";
import { rangeBytes } from "./artifact-ranges.ts";
import { planSpans, readSpan } from "./chunk-reads.ts";
import { objectError } from "./envelope.ts";
import { snapshotKey } from "./layout.ts";
import type { ObjectStore } from "./object-store.ts";

/**
 * Spans (a chunk, or in format 2 a run of chunks back to back in one pack,
 * fetched in one request: chunk-reads.ts) fetched and decoded ahead of the
 * consumer: enough to keep every codec worker busy, and a bound on memory: a
 * restore may read two artifacts at once, each holding this many spans.
 */
export const READ_AHEAD = 4;
/**
 * And at most this much plaintext in those spans (always at least one span):
 * a PostgreSQL restore reads several data files at once, so what one stream
 * holds is multiplied (format 1's 4 chunks ahead held about this much).
 */
export const READ_AHEAD_PLAIN_BYTES = 6 * 1024 * 1024;
/** saveTo flushes the file to disk after this many bytes, while reading on. */
const FLUSH_EVERY = 32 * 1024 * 1024;

async function* verifiedChunks(
  store: ObjectStore,
  snapshotId: string,
  ref: ArtifactRef,
  aheadBytes = READ_AHEAD_PLAIN_BYTES,
): AsyncGenerator<Buffer> {
  // A cap on spans as well as bytes: about one per MiB asked for (a span is at least one chunk,
  // 1 MiB on average, at most 4 MiB), never fewer than the default's.
  const aheadSpans = Math.max(READ_AHEAD, Math.ceil(aheadBytes / (1024 * 1024)));
  const hash = createHash("sha256");
  let size = 0;
  const index = store.format >= 2 ? (await store.loadIndex()).index : undefined;
  const spans = planSpans(ref.chunks, index);
  const queue: { read: Promise<Buffer[]>; bytes: number }[] = [];
  let queuedBytes = 0;
  let next = 0;
  const fill = () => {
    while (next < spans.length && queue.length < aheadSpans) {
      const bytes = spans[next]!.plainBytes;
      if (queue.length > 0 && queuedBytes + bytes > aheadBytes) break;
      const read = readSpan(store, spans[next++]!);
      // Reads ahead of a failure (or of an early close) must not become unhandled rejections.
      read.catch(() => {});
      queue.push({ read, bytes });
      queuedBytes += bytes;
    }
  };
  fill();
  while (queue.length > 0) {
    const { read, bytes } = queue.shift()!;
    const chunks = await read;
    queuedBytes -= bytes;
    fill();
    for (const chunk of chunks) {
      hash.update(chunk);
      size += chunk.length;
      yield chunk;
    }
  }
  const digest = hash.digest("hex");
  if (size !== ref.size || digest !== ref.sha256) {
    throw objectError(
      "CHECKSUM_MISMATCH",
      snapshotKey(snapshotId),
      `artifact ${ref.name} reads as ${size} bytes with SHA-256 ${digest}; the manifest records ${ref.size} bytes, ${ref.sha256}`,
    );
  }
}

export class RepositoryArtifactSource implements ArtifactSource {
  readonly artifacts: readonly ArtifactRef[];
  readonly #store: ObjectStore;
  readonly #snapshotId: string;

  constructor(store: ObjectStore, snapshot: Snapshot) {
    this.#store = store;
    this.#snapshotId = snapshot.id;
    this.artifacts = snapshot.artifacts;
  }

  #artifact(name: string): ArtifactRef {
    const ref = this.artifacts.find((artifact) => artifact.name === name);
    if (!ref) {
      const names = this.artifacts.map((artifact) => artifact.name).join(", ");
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `snapshot ${this.#snapshotId} has no artifact ${name} (it has: ${names})`,
        {
          details: { snapshot: this.#snapshotId, artifact: name },
          hint: "This is likely a bug in the engine reading the snapshot; please report it.",
        },
      );
    }
    return ref;
  }

  open(name: string, options: OpenOptions = {}): Readable {
    const chunks = verifiedChunks(this.#store, this.#snapshotId, this.#artifact(name), options.aheadBytes);
    return Readable.from(chunks, { objectMode: false });
  }

  openRanges(name: string, ranges: readonly ByteRange[]): Readable {
    const ref = this.#artifact(name);
    const whole = () => verifiedChunks(this.#store, this.#snapshotId, ref);
    return Readable.from(rangeBytes(this.#store, ref, ranges, whole), { objectMode: false });
  }

  /**
   * Written to a temporary name beside `path`, synced, and renamed only once
   * the whole artifact has verified: `path` never holds unverified bytes.
   */
  async saveTo(name: string, path: string): Promise<void> {
    const ref = this.#artifact(name);
    const temp = `${path}.lifeboat-partial-${randomBytes(4).toString("hex")}`;
    try {
      const handle = await openFile(temp, "wx", 0o600);
      try {
        // The disk is flushed as we go (one flush at a time, overlapping the
        // reads), not all at the end: with gigabytes of RAM nothing else
        // would start writing a file of a few hundred MB back before sync().
        let flushing: Promise<void> = Promise.resolve();
        let unflushed = 0;
        for await (const chunk of verifiedChunks(this.#store, this.#snapshotId, ref)) {
          await handle.write(chunk);
          unflushed += chunk.length;
          discard(chunk); // only this loop ever saw it: free it now, not at the next GC
          if (unflushed >= FLUSH_EVERY) {
            await flushing;
            flushing = handle.datasync();
            flushing.catch(() => {}); // awaited below; a failure must not go unhandled meanwhile
            unflushed = 0;
          }
        }
        await flushing;
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
  }
}
