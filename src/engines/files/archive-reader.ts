// Read a tar stream entry by entry, keeping names as raw bytes. It reads what
// Lifeboat writes (archive-entry.ts) and what it wrote before with node-tar
// (ustar with star's 130-byte prefix, pax path/linkpath/mtime/size records).
// Anything else (GNU long-name entries, global headers, old sparse formats,
// devices) is reported as an unsupported entry type for the caller to refuse.
//
// The whole stream is always read to its end, past the end-of-archive
// blocks: the artifact's whole-stream checksum is verified only there.

import { LifeboatError } from "../../errors.ts";
import { displayPath } from "./raw-path.ts";
import { decodeSparseMap, type Segment } from "./sparse.ts";
import { BLOCK, decodeUstar, paddingFor, parsePaxRecords } from "./tar-header.ts";

export interface ReadEntry {
  /** The path as stored (e.g. "./", "dir/", "dir/file"), raw bytes. */
  readonly path: Buffer;
  /** "file", "hardlink", "symlink", "dir", or the unsupported typeflag as `type <c>`. */
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch, possibly fractional (pax mtime). */
  readonly mtime: number;
  readonly linkpath: Buffer;
  /** For a file: its content length (the real size when sparse). */
  readonly size: number;
  /** For a sparse file: where its data goes; `data` yields the segments' bytes in order. */
  readonly segments?: readonly Segment[];
  /** The entry's data (without a sparse map); must be consumed or abandoned before the next entry. */
  readonly data: AsyncIterable<Buffer>;
}

const typeNames: Record<string, string> = {
  "0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "5": "dir",
};
/** Pax headers bigger than this are refused rather than held in memory. */
const maxPaxBytes = 1024 * 1024;

function malformed(message: string): LifeboatError {
  return new LifeboatError("VERIFICATION_FAILED", `the archive cannot be restored safely: ${message}`);
}

/** Exact-length reads over a stream of chunks. */
class ByteReader {
  offset = 0;
  readonly #source: AsyncIterator<Uint8Array>;
  #buffered: Buffer = Buffer.alloc(0);

  constructor(stream: AsyncIterable<Uint8Array>) {
    this.#source = stream[Symbol.asyncIterator]();
  }

  /** Up to `max` bytes (at least one), or an empty buffer at the end of the stream. */
  async some(max: number): Promise<Buffer> {
    while (this.#buffered.length === 0) {
      const next = await this.#source.next();
      if (next.done) return Buffer.alloc(0);
      const chunk = next.value;
      this.#buffered = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
    const taken = this.#buffered.subarray(0, max);
    this.#buffered = this.#buffered.subarray(taken.length);
    this.offset += taken.length;
    return taken;
  }

  async exactly(length: number, what: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const part = await this.some(length - got);
      if (part.length === 0) throw malformed(`the archive ends inside ${what}`);
      parts.push(part);
      got += part.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  async skip(length: number, what: string): Promise<void> {
    let left = length;
    while (left > 0) {
      const part = await this.some(left);
      if (part.length === 0) throw malformed(`the archive ends inside ${what}`);
      left -= part.length;
    }
  }

  async drain(): Promise<void> {
    while ((await this.some(Number.MAX_SAFE_INTEGER)).length > 0);
  }

  /** Stop the source early (a refused entry, a failed write): destroys a Readable and its read-ahead. */
  async close(): Promise<void> {
    await this.#source.return?.();
  }
}

function numberRecord(records: Map<string, Buffer>, key: string, fallback: number): number {
  const value = records.get(key);
  if (value === undefined) return fallback;
  const parsed = Number(value.toString("latin1"));
  if (!Number.isFinite(parsed)) throw malformed(`pax record ${key} is not a number`);
  return parsed;
}

/** A sparse 1.0 entry's map, read from the start of its data; returns the segments and the map's length. */
async function readSparseMap(
  reader: ByteReader,
  bodySize: number,
  realSize: number,
  name: string,
): Promise<{ segments: Segment[]; mapBytes: number }> {
  let map = Buffer.alloc(0);
  try {
    for (;;) {
      const decoded = decodeSparseMap(map, realSize);
      if (decoded) return decoded;
      if (map.length >= bodySize) throw new Error("it is longer than the entry");
      map = Buffer.concat([map, await reader.exactly(BLOCK, "a sparse map")]);
    }
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    throw malformed(`the sparse map of ${name} is malformed: ${(error as Error).message}`);
  }
}

export async function* readArchive(stream: AsyncIterable<Uint8Array>): AsyncGenerator<ReadEntry> {
  const reader = new ByteReader(stream);
  try {
    let pax = new Map<string, Buffer>();
    for (;;) {
      const at = reader.offset;
      const first = await reader.some(BLOCK);
      if (first.length === 0) throw malformed("the archive has no end-of-archive marker");
      const block =
        first.length === BLOCK
          ? first
          : Buffer.concat([first, await reader.exactly(BLOCK - first.length, "a header")]);
      const header = decodeUstar(block, at);
      if (header.end) break;
      if (header.typeflag === "x") {
        if (header.size > maxPaxBytes) throw malformed(`a pax header of ${header.size} bytes at byte ${at}`);
        pax = parsePaxRecords(
          await reader.exactly(header.size + paddingFor(header.size), "a pax header"),
          at,
        );
        continue;
      }
      const records = pax;
      pax = new Map();
      let path = records.get("path") ?? header.name;
      let type = typeNames[header.typeflag] ?? `type ${JSON.stringify(header.typeflag)}`;
      if (type === "file" && path[path.length - 1] === 0x2f) type = "dir"; // pre-POSIX directories
      // Some tars record a directory's st_size; a directory has no body whatever the field says.
      const bodySize = type === "dir" ? 0 : numberRecord(records, "size", header.size);
      let size = bodySize;
      let dataSize = bodySize;
      let segments: Segment[] | undefined;
      const sparseVersion = records.has("GNU.sparse.major")
        ? `${records.get("GNU.sparse.major")}.${records.get("GNU.sparse.minor")}`
        : records.has("GNU.sparse.size") || header.typeflag === "S"
          ? "0.x"
          : undefined;
      if (sparseVersion !== undefined && (sparseVersion !== "1.0" || type !== "file")) {
        type = `GNU sparse ${sparseVersion}`;
      } else if (sparseVersion === "1.0") {
        path = records.get("GNU.sparse.name") ?? path;
        size = numberRecord(records, "GNU.sparse.realsize", NaN);
        if (!Number.isSafeInteger(size) || size < 0) throw malformed("a sparse entry without its real size");
        const map = await readSparseMap(reader, bodySize, size, displayPath(path));
        segments = map.segments;
        dataSize = bodySize - map.mapBytes;
        const dataBytes = segments.reduce((sum, segment) => sum + segment.length, 0);
        if (dataBytes !== dataSize)
          throw malformed(`a sparse map promising ${dataBytes} bytes in ${dataSize}`);
      }
      let left = dataSize;
      const bodyEnd = reader.offset + dataSize + paddingFor(bodySize);
      const name = displayPath(path);
      async function* data(): AsyncGenerator<Buffer> {
        while (left > 0) {
          const part = await reader.some(left);
          if (part.length === 0) throw malformed(`the archive ends inside ${name}`);
          left -= part.length;
          yield part;
        }
      }
      yield {
        path,
        type,
        mode: numberRecord(records, "mode", header.mode),
        uid: numberRecord(records, "uid", header.uid),
        gid: numberRecord(records, "gid", header.gid),
        mtime: numberRecord(records, "mtime", header.mtime),
        linkpath: records.get("linkpath") ?? header.linkname,
        size: type === "file" ? size : 0,
        ...(segments ? { segments } : {}),
        data: data(),
      };
      // Whatever the consumer left of the body (and the padding) is skipped.
      await reader.skip(bodyEnd - reader.offset, name);
    }
    await reader.drain();
  } finally {
    await reader.close(); // a no-op once drained
  }
}
