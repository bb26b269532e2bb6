// Reading only some byte ranges of an artifact: a partial restore of a tree
// fetches the chunks that hold the entries it restores, and no other. The
// format-2 index records each chunk's plaintext length, so the chunks under
// a range are known without reading any; each one read is authenticated and
// re-hashed against its id as every chunk is (chunk-reads.ts). The whole
// artifact's SHA-256 cannot be checked without reading all of it, so callers
// verify what they restored on their own terms (the files engine: each
// entry against the authenticated tree index). Where plaintext lengths are
// unknown (format 1, or a chunk no index names) the artifact is streamed
// whole, verified as usual, and only the ranges are passed on.

import { clipToRanges, type ByteRange } from "../domain/artifacts.ts";
import type { ArtifactRef } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import type { ChunkIndex } from "./chunk-index.ts";
import { planSpans, readSpan } from "./chunk-reads.ts";
import type { ObjectStore } from "./object-store.ts";

/** A chunk of the artifact with where its plaintext starts. */
interface PlacedChunk {
  readonly id: string;
  readonly start: number;
  readonly length: number;
}

/** Ranges sorted, checked, and merged where they touch. */
export function normaliseRanges(ranges: readonly ByteRange[], size: number): ByteRange[] {
  const sorted = [...ranges].filter((range) => range.length > 0).sort((a, b) => a.offset - b.offset);
  const merged: { offset: number; length: number }[] = [];
  for (const range of sorted) {
    if (!Number.isSafeInteger(range.offset) || range.offset < 0 || range.offset + range.length > size) {
      throw new LifeboatError(
        "INTERNAL",
        `byte range ${range.offset}+${range.length} lies outside an artifact of ${size} bytes`,
      );
    }
    const last = merged.at(-1);
    if (last && range.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, range.offset + range.length - last.offset);
    } else merged.push({ ...range });
  }
  return merged;
}

/** Where each chunk's plaintext starts, when the index knows every length and they add up. */
function placeChunks(ref: ArtifactRef, index: ChunkIndex | undefined): PlacedChunk[] | undefined {
  if (!index) return undefined;
  const placed: PlacedChunk[] = [];
  let start = 0;
  for (const id of ref.chunks) {
    const location = index.lookup(id);
    if (!location) return undefined;
    placed.push({ id, start, length: location.plainLength });
    start += location.plainLength;
  }
  return start === ref.size ? placed : undefined;
}

/**
 * The bytes of `ranges` of one artifact, in artifact order, concatenated.
 * `wholeStream` reads the artifact whole (verified), for when chunk lengths are unknown.
 */
export async function* rangeBytes(
  store: ObjectStore,
  ref: ArtifactRef,
  ranges: readonly ByteRange[],
  wholeStream: () => AsyncIterable<Buffer>,
): AsyncGenerator<Buffer> {
  const wanted = normaliseRanges(ranges, ref.size);
  if (wanted.length === 0) return;
  const index = store.format >= 2 ? (await store.loadIndex()).index : undefined;
  const placed = placeChunks(ref, index);
  if (!placed) {
    let at = 0;
    for await (const data of wholeStream()) {
      yield* clipToRanges(data, at, wanted);
      at += data.length;
    }
    return;
  }
  const needed = placed.filter((chunk) =>
    wanted.some(
      (range) => chunk.start < range.offset + range.length && range.offset < chunk.start + chunk.length,
    ),
  );
  // Spans keep the order of the ids they are given, one entry per id (an id may repeat).
  let next = 0;
  // One span at a time: a partial restore is small by nature, and order is what the consumer needs.
  for (const span of planSpans(
    needed.map((chunk) => chunk.id),
    index,
  )) {
    const plaintexts = await readSpan(store, span);
    for (const data of plaintexts) {
      const chunk = needed[next++]!;
      if (data.length !== chunk.length) {
        throw new LifeboatError(
          "CHECKSUM_MISMATCH",
          `chunk ${chunk.id} decodes to ${data.length} bytes; the index records ${chunk.length}`,
          { hint: "Run `lifeboat check` and `lifeboat repair index`." },
        );
      }
      yield* clipToRanges(data, chunk.start, wanted);
    }
  }
}
