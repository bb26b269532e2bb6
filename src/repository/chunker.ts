// Content-defined chunking, FastCDC style with normalized chunking
// (docs/repository-format.md, "Chunks"). Boundaries depend only on nearby
// content, so inserting bytes changes one or two chunks and the rest
// deduplicate. This loop is the hottest code of a backup: 32-bit integer
// math on a typed gear table, no hashing of the first `min` bytes, and mask
// bits in the high part of the hash, which depends on the last 32 bytes.
// cut() is the reference form over one buffer; chunks() is the same search
// resumed across the pieces of a stream.

import { discard, ownsItsMemory } from "./buffers.ts";

export interface ChunkerSizes {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export const DEFAULT_CHUNKER: ChunkerSizes = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

export function validateChunkerSizes(sizes: ChunkerSizes): string | undefined {
  const { min, avg, max } = sizes;
  if (![min, avg, max].every((n) => Number.isSafeInteger(n) && n > 0))
    return "sizes must be positive integers";
  if (!(min < avg && avg < max)) return "sizes must satisfy min < avg < max";
  const bits = Math.log2(avg);
  if (!Number.isInteger(bits) || bits < 6 || bits > 28)
    return "avg must be a power of two between 64 B and 256 MiB";
  if (max > 0xfffffff0) return "max must be below 4 GiB";
  return undefined;
}

function highMask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

export class Chunker {
  readonly sizes: ChunkerSizes;
  readonly #gear: Int32Array;
  readonly #maskS: number;
  readonly #maskL: number;

  constructor(gear: Uint32Array, sizes: ChunkerSizes) {
    const problem = validateChunkerSizes(sizes);
    if (problem) throw new RangeError(`chunker: ${problem}`);
    if (gear.length !== 256) throw new RangeError("chunker: gear table must have 256 entries");
    this.sizes = sizes;
    this.#gear = new Int32Array(gear.buffer, gear.byteOffset, 256);
    const bits = Math.log2(sizes.avg);
    this.#maskS = highMask(bits + 1);
    this.#maskL = highMask(bits - 1);
  }

  /**
   * Length of the chunk starting at `start`, looking at most at `end`
   * (exclusive). Call it with `end - start >= max`, or at the end of the
   * stream: when no boundary is found the chunk runs to `end`.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const n = Math.min(end - start, this.sizes.max);
    const found = this.#scan(new ScanState(), buf, start, start + n);
    return found < 0 ? n : found - start;
  }

  /**
   * Split a stream into chunks, scanning each piece where it lies: a chunk
   * inside one piece is yielded without copying (it shares that piece's
   * memory), a chunk spanning pieces is copied once. Boundaries are exactly
   * those of cut(), whatever the piece sizes. The producer must not reuse a
   * piece's memory after yielding it (Node streams never do).
   *
   * With `{ copy: true }` every chunk is a fresh buffer that the caller owns
   * outright (the writer hands it to a worker thread by transfer, and frees
   * it without waiting for a GC); each byte is still copied only once. With
   * `release` as well, each piece is freed (detached) as soon as all its
   * bytes are copied into chunks, when it is the whole of its own memory:
   * the source hands its pieces over (WriteOptions.handOver). Without that,
   * every 64 KiB piece of a pipe waited for a GC, and those GCs were the
   * largest cost of a backup's main thread after the boundary scan.
   */
  async *chunks(
    source: AsyncIterable<Uint8Array>,
    options: { copy?: boolean; release?: boolean } = {},
  ): AsyncGenerator<Buffer> {
    const copy = options.copy === true;
    const release = copy && options.release === true;
    const join = (parts: Buffer[]) => (parts.length === 1 && !copy ? parts[0]! : Buffer.concat(parts));
    const scan = new ScanState();
    let parts: Buffer[] = [];
    /** Pieces whose last bytes wait in `parts`: freed once the chunk that holds them is copied. */
    let waiting: Uint8Array[] = [];
    for await (const piece of source) {
      const bytes = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      let offset = 0;
      let tailWaits = false;
      while (offset < bytes.length) {
        const end = this.#scan(scan, bytes, offset, bytes.length);
        if (end < 0) {
          parts.push(bytes.subarray(offset));
          tailWaits = true;
          break;
        }
        parts.push(bytes.subarray(offset, end));
        const chunk = join(parts);
        parts = [];
        for (const done of waiting) discard(done);
        waiting = [];
        yield chunk;
        offset = end;
      }
      if (release && ownsItsMemory(piece)) {
        if (tailWaits) waiting.push(piece);
        else discard(piece);
      }
    }
    if (parts.length > 0) yield join(parts);
    for (const done of waiting) discard(done);
  }

  /**
   * Continue the boundary search of the current chunk over buf[from..to):
   * the index just past the boundary, or -1 when the piece ends first (the
   * position and hash are kept in `state` for the next piece).
   */
  #scan(state: ScanState, buf: Uint8Array, from: number, to: number): number {
    const { min, avg, max } = this.sizes;
    let i = from;
    let pos = state.pos;
    if (pos < min) {
      const skip = Math.min(min - pos, to - i);
      i += skip;
      pos += skip;
      if (pos < min) {
        state.pos = pos;
        return -1;
      }
    }
    const gear = this.#gear;
    let h = state.hash;
    if (pos < avg) {
      const maskS = this.#maskS;
      const stop = Math.min(to, i + (avg - pos));
      const begin = i;
      for (; i < stop; i++) {
        h = ((h << 1) + gear[buf[i]!]!) | 0;
        if ((h & maskS) === 0) return state.reset(i + 1);
      }
      pos += i - begin;
    }
    const maskL = this.#maskL;
    const stop = Math.min(to, i + (max - pos));
    const begin = i;
    for (; i < stop; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return state.reset(i + 1);
    }
    pos += i - begin;
    if (pos >= max) return state.reset(i);
    state.pos = pos;
    state.hash = h;
    return -1;
  }
}

/** Where the search for the current chunk's end stands, across stream pieces. */
class ScanState {
  /** Bytes of the current chunk seen so far. */
  pos = 0;
  hash = 0;

  reset(end: number): number {
    this.pos = 0;
    this.hash = 0;
    return end;
  }
}
