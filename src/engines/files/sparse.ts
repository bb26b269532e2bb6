// Sparse files: find the holes of a file (so a 5 GiB file holding 40 KiB of
// data is stored as 40 KiB), and the GNU sparse 1.0 map that describes them
// in the archive (GNU tar and libarchive extract it; see docs/engines.md).
//
// Node has no SEEK_DATA/SEEK_HOLE, so holes are found by reading: every
// aligned 4 KiB block of zeros in a file the filesystem reports as sparse
// (fewer blocks allocated than its size needs) is treated as a hole. A hole
// reads as zeros, so this is exact for the content; it can also turn zeros
// that were written into holes, which is the same data in less space. Reading
// a hole still costs reading and hashing zeros (about a second per GiB here),
// though no disk I/O. On compressing filesystems (ZFS, btrfs) most files look
// sparse by this test: they are scanned, then read again to be stored.

import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { BLOCK, paddingFor } from "./tar-header.ts";

/** One run of data in a sparse file; everything between runs is a hole. */
export interface Segment {
  readonly offset: number;
  readonly length: number;
}

export const HOLE_GRANULE = 4096;
/** Bytes read at a time while scanning (a multiple of HOLE_GRANULE). */
export const SCAN_CHUNK = 1024 * 1024;
const zeros = Buffer.alloc(HOLE_GRANULE);

/** Only files the filesystem stores in fewer blocks than their size are scanned for holes. */
export function looksSparse(stats: Stats): boolean {
  return stats.size > 0 && stats.blocks * 512 < stats.size;
}

export interface ScanResult {
  readonly segments: readonly Segment[];
  /** Bytes in the segments (what the archive stores). */
  readonly dataBytes: number;
  /** SHA-256 of the whole content, holes read as zeros: the fingerprint's digest. */
  readonly contentDigest: string;
  /** SHA-256 of the segments' bytes in order: re-checked when they are stored. */
  readonly dataDigest: string;
  /** Bytes actually read; less than the size means the file shrank meanwhile. */
  readonly bytesRead: number;
}

/** Read up to `length` bytes at `position`; fewer only at end of file. */
export async function readFully(
  handle: FileHandle,
  buffer: Buffer,
  length: number,
  position: number,
): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** One pass over the file: its data segments and both digests, in bounded memory. */
export async function scanForHoles(handle: FileHandle, size: number): Promise<ScanResult> {
  const buffer = Buffer.allocUnsafe(SCAN_CHUNK);
  const content = createHash("sha256");
  const data = createHash("sha256");
  const segments: Segment[] = [];
  let runStart = -1; // start of the data run being built, -1 in a hole
  let position = 0;
  while (position < size) {
    const got = await readFully(handle, buffer, Math.min(SCAN_CHUNK, size - position), position);
    if (got === 0) break;
    content.update(buffer.subarray(0, got));
    for (let offset = 0; offset < got; offset += HOLE_GRANULE) {
      const end = Math.min(offset + HOLE_GRANULE, got);
      const isHole = buffer.compare(zeros, 0, end - offset, offset, end) === 0;
      if (isHole && runStart >= 0) {
        segments.push({ offset: runStart, length: position + offset - runStart });
        runStart = -1;
      } else if (!isHole) {
        if (runStart < 0) runStart = position + offset;
        data.update(buffer.subarray(offset, end));
      }
    }
    position += got;
  }
  if (runStart >= 0) segments.push({ offset: runStart, length: position - runStart });
  // GNU tar's convention: a file that ends in a hole ends its map with an empty segment at its size.
  const last = segments.at(-1);
  if (!last || last.offset + last.length < position) segments.push({ offset: position, length: 0 });
  const dataBytes = segments.reduce((sum, segment) => sum + segment.length, 0);
  return {
    segments,
    dataBytes,
    contentDigest: content.digest("hex"),
    dataDigest: data.digest("hex"),
    bytesRead: position,
  };
}

/** The map at the start of a sparse 1.0 entry's data: decimal count, offset/length pairs, each "\n"-ended. */
export function encodeSparseMap(segments: readonly Segment[]): Buffer {
  const lines = [String(segments.length), ...segments.flatMap((s) => [String(s.offset), String(s.length)])];
  const text = Buffer.from(lines.join("\n") + "\n", "ascii");
  return Buffer.concat([text, Buffer.alloc(paddingFor(text.length))]);
}

/**
 * Parse a sparse map from the numbers read so far; undefined while more blocks are needed.
 * Throws on anything but a well-formed, ordered map that fits in `realSize`.
 */
export function decodeSparseMap(
  map: Buffer,
  realSize: number,
): { segments: Segment[]; mapBytes: number } | undefined {
  const numbers: number[] = [];
  let start = 0;
  for (let index = 0; index < map.length; index++) {
    if (map[index] !== 0x0a) continue;
    const text = map.toString("latin1", start, index);
    if (!/^\d{1,16}$/.test(text)) throw new Error(`sparse map holds ${JSON.stringify(text.slice(0, 20))}`);
    numbers.push(Number(text));
    start = index + 1;
    const count = numbers[0]!;
    if (numbers.length === 1 + 2 * count) {
      const segments: Segment[] = [];
      let end = 0;
      for (let pair = 0; pair < count; pair++) {
        const segment = { offset: numbers[1 + 2 * pair]!, length: numbers[2 + 2 * pair]! };
        if (segment.offset < end || segment.offset + segment.length > realSize) {
          throw new Error(`sparse map segment ${pair} (${segment.offset}+${segment.length}) is out of order`);
        }
        end = segment.offset + segment.length;
        segments.push(segment);
      }
      return { segments, mapBytes: Math.ceil(start / BLOCK) * BLOCK };
    }
  }
  if (/[^\d\n]/.test(map.toString("latin1", start))) throw new Error("sparse map is malformed");
  return undefined;
}
