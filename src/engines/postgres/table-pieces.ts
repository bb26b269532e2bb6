// Cut one table's data file into pieces at row boundaries while it streams
// out of the repository, so pg_restore can load the first rows of a large
// table while the rest is still being fetched. A directory-format data file
// is COPY text: a raw newline byte only ever ends a row (newlines inside
// values are escaped as `\n`, and the server encodings are ASCII-safe), and
// the file ends with the `\.` end marker. Each piece becomes a directory of
// its own holding toc.dat and the piece under the table's file name, which
// `pg_restore --section=data --use-list` loads like the whole file: same COPY
// statement, same settings, fewer rows.

import { copyFile, link, mkdtemp, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";

/** Never cut inside the end marker (`\.` newline newline): a lone trailing newline would load as a row. */
const minTailBytes = 4;

export interface PieceOptions {
  /** The verified artifact stream; it errors on damage. */
  readonly source: Readable;
  /** The artifact's size from the manifest. */
  readonly totalBytes: number;
  /** `<dumpId>.dat`. */
  readonly fileName: string;
  /** The staged toc.dat, hard-linked (or copied) into every piece's directory. */
  readonly tocPath: string;
  readonly stagingDir: string;
  readonly pieceBytes: number;
  /** Called with each finished piece's directory, the last one only after the whole artifact verified. */
  readonly onPiece: (dir: string) => void;
  readonly signal: AbortSignal;
}

export async function writePieces(options: PieceOptions): Promise<void> {
  let piece = await Piece.create(options);
  let offset = 0;
  try {
    for await (const chunk of options.source) {
      options.signal.throwIfAborted();
      let rest = chunk as Buffer;
      while (rest.length > 0) {
        const room = options.pieceBytes - piece.bytes;
        const newline = rest.length >= room ? rest.indexOf(0x0a, Math.max(0, room - 1)) : -1;
        const cut = newline + 1;
        if (newline < 0 || options.totalBytes - (offset + cut) < minTailBytes) {
          await piece.write(rest);
          offset += rest.length;
          break;
        }
        await piece.write(rest.subarray(0, cut));
        offset += cut;
        await piece.close();
        options.onPiece(piece.dir);
        piece = await Piece.create(options);
        rest = rest.subarray(cut);
      }
    }
  } finally {
    await piece.close();
  }
  // The stream ended without error: the artifact verified, the last piece may go.
  options.onPiece(piece.dir);
}

class Piece {
  readonly dir: string;
  readonly #handle: FileHandle;
  #closed = false;
  bytes = 0;

  private constructor(dir: string, handle: FileHandle) {
    this.dir = dir;
    this.#handle = handle;
  }

  static async create(options: PieceOptions): Promise<Piece> {
    const dir = await mkdtemp(join(options.stagingDir, "piece-"));
    const toc = join(dir, "toc.dat");
    // pg_restore wants regular files: a hard link costs nothing; a copy where links are refused.
    await link(options.tocPath, toc).catch(() => copyFile(options.tocPath, toc));
    return new Piece(dir, await open(join(dir, options.fileName), "wx", 0o600));
  }

  async write(bytes: Buffer): Promise<void> {
    await this.#handle.writeFile(bytes); // loops until every byte is written
    this.bytes += bytes.length;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}
