// The two ends of an artifact's journey, as every layer sees them: engines
// write a capture into an ArtifactSink and read a restore from an
// ArtifactSource; the repository implements both. They live here because
// engines and the repository must not import each other.

import type { Readable } from "node:stream";
import type { ArtifactRef } from "./snapshot.ts";

/** Where a capture writes its artifacts: chunked, deduplicated, encrypted by the repository. */
export interface ArtifactSink {
  /** Consume the whole stream as one named artifact. Rejects if the stream errors. */
  write(name: string, data: Readable | AsyncIterable<Uint8Array>): Promise<ArtifactRef>;
  /** Observe bytes as they are stored (progress bars). */
  onProgress?: (bytes: number) => void;
}

/**
 * Where a restore reads artifacts from. Every chunk is authenticated and
 * re-hashed as it is read; a damaged chunk makes the stream error with
 * CHECKSUM_MISMATCH / OBJECT_MISSING / OBJECT_TRUNCATED naming the object.
 */
export interface ArtifactSource {
  readonly artifacts: readonly ArtifactRef[];
  /** A verified stream of one artifact's plaintext (the whole-stream SHA-256 is checked at its end). */
  open(name: string): Readable;
  /** Write one artifact to a local file, fully verified before the promise resolves. */
  saveTo(name: string, path: string): Promise<void>;
}
