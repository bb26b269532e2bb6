// The two ends of an artifact's journey, as every layer sees them: engines
// write a capture into an ArtifactSink and read a restore from an
// ArtifactSource; the repository implements both. They live here because
// engines and the repository must not import each other.

import type { Readable } from "node:stream";
import type { ArtifactRef } from "./snapshot.ts";

/** Where a capture writes its artifacts: chunked, deduplicated, encrypted by the repository. */
export interface ArtifactSink {
  /** Consume the whole stream as one named artifact. Rejects if the stream errors. */
  write(
    name: string,
    data: Readable | AsyncIterable<Uint8Array>,
    options?: WriteOptions,
  ): Promise<ArtifactRef>;
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
  open(name: string, options?: OpenOptions): Readable;
  /** Write one artifact to a local file, fully verified before the promise resolves. */
  saveTo(name: string, path: string): Promise<void>;
  /**
   * The bytes of some ranges of one artifact, in order, concatenated; only the
   * chunks under them are fetched where the repository knows where they lie.
   * Each chunk is authenticated, but the whole artifact's SHA-256 is not
   * checked: the caller verifies what it restores. Absent: read open() and skip.
   */
  openRanges?(name: string, ranges: readonly ByteRange[]): Readable;
}

export interface WriteOptions {
  /**
   * The stream's buffers are handed over: the sink may free each one as soon
   * as it has copied its bytes, and the buffer then reads as empty. Only for
   * a stream whose buffers nothing else reads once they are yielded (a
   * child's stdout, a file read into a fresh buffer per read). Freeing them
   * at once instead of at the next GC took a 1.1 GB base backup from about
   * 7.8 to 6.6 s (BENCHMARKS.md).
   */
  readonly handOver?: boolean;
}

export interface OpenOptions {
  /**
   * Plaintext fetched and verified ahead of the reader, at most. The default
   * is small because a restore may read several artifacts at once; a reader
   * of one stream at a time passes SOLE_STREAM_AHEAD_BYTES.
   */
  readonly aheadBytes?: number;
}

/**
 * Read-ahead for an artifact read alone (a base backup's tar, a files tree):
 * with the default one 4 MiB span was in flight while the reader worked on
 * the previous one, and both threads waited half the time. A PITR lay-down
 * of 1.4 GB took 5.05 s with the default and 3.73 s with this (BENCHMARKS.md).
 */
export const SOLE_STREAM_AHEAD_BYTES = 24 * 1024 * 1024;

/** Bytes [offset, offset + length) of an artifact's plaintext. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** Yield the parts of `data` (which starts at artifact offset `at`) that fall in `ranges` (sorted). */
export function* clipToRanges(data: Buffer, at: number, ranges: readonly ByteRange[]): Generator<Buffer> {
  const end = at + data.length;
  for (const range of ranges) {
    const from = Math.max(at, range.offset);
    const to = Math.min(end, range.offset + range.length);
    if (from < to) yield data.subarray(from - at, to - at);
  }
}

/**
 * Some ranges (sorted, not overlapping) of an artifact: through openRanges
 * where the source has it, else by reading the whole (verified) stream and
 * passing on only the ranges.
 */
export async function* readRanges(
  source: ArtifactSource,
  name: string,
  ranges: readonly ByteRange[],
): AsyncGenerator<Buffer> {
  if (source.openRanges) {
    for await (const data of source.openRanges(name, ranges)) yield data as Buffer;
    return;
  }
  let at = 0;
  let first = 0; // ranges before this one end before the bytes read so far
  for await (const data of source.open(name)) {
    const buffer = data as Buffer;
    while (first < ranges.length && ranges[first]!.offset + ranges[first]!.length <= at) first++;
    let last = first;
    while (last < ranges.length && ranges[last]!.offset < at + buffer.length) last++;
    yield* clipToRanges(buffer, at, ranges.slice(first, last));
    at += buffer.length;
  }
}
