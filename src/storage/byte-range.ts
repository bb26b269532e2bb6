// What every backend does with the `range` of get(key, range): one check of
// what a valid range is and one rule for where a range past the end stops,
// so the backends (and the test doubles wrapping them) cannot disagree.

import { LifeboatError } from "../errors.ts";
import type { ByteRange } from "./backend.ts";

/**
 * A range is a non-negative integer offset and length whose end is still a
 * safe integer (S3's Range header and file positions are computed from it).
 * Ranges come from pack indexes Lifeboat wrote itself, so a bad one is a bug
 * in Lifeboat, never user input: INTERNAL.
 */
export function validateRange(key: string, range: ByteRange): void {
  const { offset, length } = (range ?? {}) as Partial<ByteRange>;
  const valid =
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset! >= 0 &&
    length! >= 0 &&
    Number.isSafeInteger(offset! + length!);
  if (!valid) {
    throw new LifeboatError(
      "INTERNAL",
      `invalid byte range (offset ${String(offset)}, length ${String(length)}) for object ${key}: both must be non-negative integers`,
      { details: { key, offset, length } },
    );
  }
}

/** How many bytes `range` holds in an object of `size` bytes: fewer than asked, or none, past the end. */
export function bytesInRange(size: number, range: ByteRange): number {
  return Math.max(0, Math.min(range.length, size - range.offset));
}

/** The bytes of `data` in `range`, as a copy (the caller may change it). */
export function sliceRange(data: Uint8Array, range: ByteRange): Uint8Array {
  return data.slice(range.offset, range.offset + range.length);
}

/** For messages: "bytes 100-199" (HTTP's inclusive notation), "0 bytes at 100". */
export function describeRange(range: ByteRange): string {
  return range.length === 0
    ? `0 bytes at ${range.offset}`
    : `bytes ${range.offset}-${range.offset + range.length - 1}`;
}
