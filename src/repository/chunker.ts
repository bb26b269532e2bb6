// Content-defined chunking, FastCDC style with normalized chunking
// (docs/repository-format.md, "Chunks"). Boundaries depend only on nearby
// content, so inserting bytes changes one or two chunks and the rest
// deduplicate. This loop is the hottest code of a backup: 32-bit integer
// math on a typed gear table, no hashing of the first `min` bytes, and mask
// bits in the high part of the hash, which depends on the last 32 bytes.

export interface ChunkerSizes {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export const DEFAULT_CHUNKER: ChunkerSizes = { min: 256 * 1024, avg: 1024 * 1024, max: 4 * 1024 * 1024 };

export function validateChunkerSizes(sizes: ChunkerSizes): string | undefined {
  const { min, avg, max } = sizes;
  if (![min, avg, max].every((n) => Number.isSafeInteger(n) && n > 0)) return "sizes must be positive integers";
  if (!(min < avg && avg < max)) return "sizes must satisfy min < avg < max";
  const bits = Math.log2(avg);
  if (!Number.isInteger(bits) || bits < 6 || bits > 28) return "avg must be a power of two between 64 B and 256 MiB";
  if (max > 0xfffffff0) return "max must be below 4 GiB";
  return undefined;
}

function highMask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

export class Chunker {
  readonly sizes: ChunkerSizes;
  readonly #gear: Int32Array;
  /** The gear table shifted left by one, for the byte that is two steps old. */
  readonly #gear2: Int32Array;
  readonly #maskS: number;
  readonly #maskL: number;

  constructor(gear: Uint32Array, sizes: ChunkerSizes) {
    const problem = validateChunkerSizes(sizes);
    if (problem) throw new RangeError(`chunker: ${problem}`);
    if (gear.length !== 256) throw new RangeError("chunker: gear table must have 256 entries");
    this.sizes = sizes;
    this.#gear = new Int32Array(gear.buffer, gear.byteOffset, 256);
    this.#gear2 = this.#gear.map((value) => value << 1);
    // Tested every second byte, so one bit fewer than FastCDC's per-byte
    // masks gives the same cut probability per byte (2^-(bits+1), 2^-(bits-1)).
    const bits = Math.log2(sizes.avg);
    this.#maskS = highMask(bits);
    this.#maskL = highMask(bits - 2);
  }

  /**
   * Length of the chunk starting at `start`, looking at most at `end`
   * (exclusive). Call it with `end - start >= max`, or at the end of the
   * stream: when no boundary is found the chunk runs to `end`.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const { min, avg, max } = this.sizes;
    const n = Math.min(end - start, max);
    if (n <= min) return n;
    const gear = this.#gear;
    const gear2 = this.#gear2;
    const maskS = this.#maskS;
    const maskL = this.#maskL;
    const normalEnd = start + Math.min(avg, n);
    const stop = start + n;
    // Two bytes per step (FastCDC 2020's "rolling two bytes"): the hash is the
    // same as stepping one byte at a time, only tested at every second byte.
    let h = 0;
    let i = start + min;
    for (; i + 1 < normalEnd; i += 2) {
      h = ((h << 2) + gear2[buf[i]!]! + gear[buf[i + 1]!]!) | 0;
      if ((h & maskS) === 0) return i + 2 - start;
    }
    for (; i + 1 < stop; i += 2) {
      h = ((h << 2) + gear2[buf[i]!]! + gear[buf[i + 1]!]!) | 0;
      if ((h & maskL) === 0) return i + 2 - start;
    }
    return n;
  }

  /**
   * Split a stream into chunks. Pieces are gathered until `max` bytes are
   * buffered and joined once, so each byte is copied about once whatever the
   * piece size. Yielded chunks may share memory with the join buffer.
   */
  async *chunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    const max = this.sizes.max;
    const batch = 4 * max;
    let pieces: Buffer[] = [];
    let buffered = 0;
    for await (const piece of source) {
      if (piece.length === 0) continue;
      pieces.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      buffered += piece.length;
      // Join in batches of several chunks: the unconsumed tail is copied again
      // at the next join, so small batches would copy each byte many times.
      if (buffered < batch) continue;
      const joined = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, buffered);
      let offset = 0;
      while (buffered - offset >= max) {
        const length = this.cut(joined, offset, joined.length);
        yield joined.subarray(offset, offset + length);
        offset += length;
      }
      pieces = offset < joined.length ? [joined.subarray(offset)] : [];
      buffered = joined.length - offset;
    }
    if (buffered === 0) return;
    const rest = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, buffered);
    let offset = 0;
    while (offset < rest.length) {
      const length = this.cut(rest, offset, rest.length);
      yield rest.subarray(offset, offset + length);
      offset += length;
    }
  }
}
