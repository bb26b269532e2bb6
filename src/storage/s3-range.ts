// Ranged GetObject for the S3 backend: the Range header to send, and what a
// reply must look like to be trusted. A pack's chunk is read by range, so a
// reply that starts elsewhere, or holds more or fewer bytes than the range
// has in the object, must never reach the repository as if it were the chunk.

import type { ByteRange } from "./backend.ts";
import { bytesInRange, sliceRange } from "./byte-range.ts";

/** HTTP's inclusive `bytes=first-last`; a zero-length range has no header form (the backend asks HEAD). */
export function rangeHeader(range: ByteRange): string {
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

export interface ContentRange {
  readonly first: number;
  readonly last: number;
  /** The whole object's size; undefined when the store sent `*`. */
  readonly size: number | undefined;
}

/** `bytes 0-99/1234` or `bytes 0-99/*`; undefined for anything else. */
export function parseContentRange(header: string): ContentRange | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  if (!match) return undefined;
  const [first, last] = [Number(match[1]), Number(match[2])];
  const size = match[3] === "*" ? undefined : Number(match[3]);
  if (last < first || (size !== undefined && last >= size)) return undefined;
  return { first, last, size };
}

export interface RangedReply {
  /** The HTTP status: 206, or 200 from a store that ignored Range and sent the whole object. */
  readonly status: number | undefined;
  readonly contentRange: string | undefined;
  /** The body, already checked against Content-Length (a transfer cut short is caught before). */
  readonly bytes: Uint8Array;
}

/**
 * The range's bytes out of a ranged GetObject reply, or why the reply cannot
 * be trusted (the caller turns that into a retryable STORAGE_ERROR).
 */
export function rangedBytes(reply: RangedReply, range: ByteRange): Uint8Array | { readonly problem: string } {
  const { contentRange, bytes } = reply;
  if (contentRange === undefined) {
    // HTTP lets a server ignore Range: a 200 carries the whole object, and the range is cut from it.
    if (reply.status === 200) return sliceRange(bytes, range);
    return { problem: `a partial reply (HTTP ${reply.status ?? "?"}) without Content-Range` };
  }
  const parsed = parseContentRange(contentRange);
  if (parsed === undefined) return { problem: `an unreadable Content-Range "${contentRange}"` };
  if (parsed.first !== range.offset) {
    return { problem: `the reply starts at byte ${parsed.first}, not at ${range.offset} as asked` };
  }
  if (bytes.length !== parsed.last - parsed.first + 1) {
    return { problem: `received ${bytes.length} bytes for Content-Range ${contentRange}` };
  }
  // Without the object's size, the store's own Content-Range says where the object ends.
  const expected = bytesInRange(parsed.size ?? parsed.last + 1, range);
  if (bytes.length < expected) {
    return {
      problem: `received ${bytes.length} of the ${expected} bytes the range holds (Content-Range ${contentRange})`,
    };
  }
  // More than asked (s3rver answers bytes=0-0 with the whole object): only the asked bytes are the answer.
  return bytes.length > expected ? bytes.slice(0, expected) : bytes;
}
