// Read pg_dump's table of contents (toc.dat of the directory format) without
// pg_restore: partial restores choose entries from it and `ls` lists the
// objects it names. The layout follows pg_backup_archiver.c (ReadHead,
// ReadToc, ReadInt, ReadStr) and pg_backup_directory.c (ReadExtraToc: the
// entry's data file name), archive versions 1.12 to 1.16 (PostgreSQL 12-17).
// Anything that does not parse is a LifeboatError naming the artifact, never
// a crash: the artifact was verified, so it is a dump this code does not know.

import { LifeboatError } from "../../errors.ts";

/** pg_dump's teSection numbering. */
export type TocSection = "none" | "pre-data" | "data" | "post-data";
const sections: Record<number, TocSection> = { 1: "none", 2: "pre-data", 3: "data", 4: "post-data" };

export interface TocHeader {
  /** Archive version, e.g. "1.14.0" (pg_dump 15). */
  readonly version: string;
  readonly intSize: number;
  readonly offSize: number;
  /** The archive format byte (3 in pg_dump 15's directory archives). */
  readonly format: number;
  /** Up to 1.14 a zlib level; from 1.15 the algorithm byte (0: none, 1: gzip, 2: lz4, 3: zstd). */
  readonly compression: number;
  readonly databaseName: string | undefined;
  readonly serverVersion: string | undefined;
  readonly dumpVersion: string | undefined;
}

export interface TocEntry {
  readonly dumpId: number;
  readonly hadDumper: boolean;
  readonly tableoid: number;
  readonly oid: number;
  readonly tag: string;
  /** "TABLE", "TABLE DATA", "FK CONSTRAINT", "SEQUENCE SET", ... */
  readonly desc: string;
  readonly section: TocSection;
  readonly defn: string | undefined;
  readonly dropStmt: string | undefined;
  readonly copyStmt: string | undefined;
  readonly namespace: string | undefined;
  readonly tablespace: string | undefined;
  readonly tableam: string | undefined;
  /** pg_class.relkind as a character (archive 1.16 and later). */
  readonly relkind: string | undefined;
  readonly owner: string | undefined;
  readonly dependencies: readonly number[];
  /** The directory format's data file for this entry ("3345.dat"), when it has one. */
  readonly filename: string | undefined;
}

export interface TocFile {
  readonly header: TocHeader;
  readonly entries: readonly TocEntry[];
}

// pg_dump 15 writes 3 into a directory archive's toc.dat (checked against real
// dumps in test/postgres-partial.test.ts); 5 is accepted too, as ArchiveFormat
// names the directory format in pg_backup.h. Both carry a file name per entry.
const directoryFormats = new Set([3, 5]);
const oldest = [1, 12] as const;
const newest = [1, 16] as const;

export function parseToc(data: Buffer, artifact = "dump/toc.dat"): TocFile {
  try {
    return new TocReader(data).read();
  } catch (error) {
    if (!(error instanceof TocFormatError)) throw error;
    throw new LifeboatError(
      "CHECKSUM_MISMATCH",
      `${artifact} is not a table of contents this version reads: ${error.message}`,
      {
        details: { artifact },
        hint: "The artifact passed verification but does not parse as pg_dump's toc.dat (archive versions 1.12 to 1.16, directory format). Restore the whole snapshot with pg_restore, or report the pg_dump version used (engineMeta.pg_dump_version).",
      },
    );
  }
}

class TocFormatError extends Error {}

class TocReader {
  readonly #data: Buffer;
  #at = 0;
  #minor = 0;
  #intSize = 4;

  constructor(data: Buffer) {
    this.#data = data;
  }

  read(): TocFile {
    const header = this.#readHeader();
    const count = this.#int();
    // Each entry takes well over 8 bytes: a larger count is damage, not a reason to allocate.
    if (count < 0 || count > this.#data.length / 8)
      throw new TocFormatError(`implausible entry count ${count}`);
    const entries: TocEntry[] = [];
    for (let index = 0; index < count; index++) entries.push(this.#readEntry());
    return { header, entries };
  }

  #readHeader(): TocHeader {
    if (this.#bytes(5).toString("latin1") !== "PGDMP") throw new TocFormatError("no PGDMP magic string");
    const major = this.#byte();
    const minor = this.#byte();
    const revision = this.#byte();
    const version = `${major}.${minor}.${revision}`;
    if (major !== 1 || minor < oldest[1] || minor > newest[1]) {
      throw new TocFormatError(`archive version ${version} (this version reads 1.12 to 1.16)`);
    }
    this.#minor = minor;
    const intSize = this.#byte();
    if (intSize < 1 || intSize > 8) throw new TocFormatError(`integer size ${intSize}`);
    this.#intSize = intSize;
    const offSize = this.#byte();
    const format = this.#byte();
    if (!directoryFormats.has(format))
      throw new TocFormatError(`archive format ${format} (not a directory archive)`);
    // 1.15 replaced the zlib level (an int) with the compression algorithm (a byte).
    const compression = minor >= 15 ? this.#byte() : this.#int();
    for (let field = 0; field < 7; field++) this.#int(); // creation time: sec, min, hour, mday, mon, year, isdst
    const databaseName = this.#str();
    const serverVersion = this.#str();
    const dumpVersion = this.#str();
    return { version, intSize, offSize, format, compression, databaseName, serverVersion, dumpVersion };
  }

  #readEntry(): TocEntry {
    const dumpId = this.#int();
    if (dumpId <= 0) throw new TocFormatError(`entry id ${dumpId} out of range`);
    const hadDumper = this.#int() !== 0;
    const tableoid = Number(this.#str() ?? "0");
    const oid = Number(this.#str() ?? "0");
    const tag = this.#str() ?? "";
    const desc = this.#str() ?? "";
    const sectionNumber = this.#int();
    const section = sections[sectionNumber];
    if (!section) throw new TocFormatError(`entry ${dumpId} has section ${sectionNumber}`);
    const defn = this.#str();
    const dropStmt = this.#str();
    const copyStmt = this.#str();
    const namespace = this.#str();
    const tablespace = this.#str();
    const tableam = this.#str();
    const relkindCode = this.#minor >= 16 ? this.#int() : 0;
    const owner = this.#str();
    this.#str(); // "false": tables WITH OIDS, long unsupported
    const dependencies: number[] = [];
    for (let dep = this.#str(); dep !== undefined; dep = this.#str()) {
      const id = Number(dep);
      if (!Number.isInteger(id))
        throw new TocFormatError(`entry ${dumpId} has dependency ${JSON.stringify(dep)}`);
      dependencies.push(id);
    }
    const file = this.#str(); // ReadExtraToc of the directory format; empty: no data file
    return {
      dumpId,
      hadDumper,
      tableoid,
      oid,
      tag,
      desc,
      section,
      defn,
      dropStmt,
      copyStmt,
      namespace: namespace === "" ? undefined : namespace,
      tablespace: tablespace === "" ? undefined : tablespace,
      tableam: tableam === "" ? undefined : tableam,
      relkind: relkindCode > 0 ? String.fromCharCode(relkindCode) : undefined,
      owner: owner === "" ? undefined : owner,
      dependencies,
      filename: file === undefined || file === "" ? undefined : file,
    };
  }

  #need(length: number): void {
    if (this.#at + length > this.#data.length) {
      throw new TocFormatError(
        `truncated at byte ${this.#at} (needs ${length} more of ${this.#data.length})`,
      );
    }
  }

  #byte(): number {
    this.#need(1);
    return this.#data[this.#at++]!;
  }

  #bytes(length: number): Buffer {
    this.#need(length);
    const slice = this.#data.subarray(this.#at, this.#at + length);
    this.#at += length;
    return slice;
  }

  /** ReadInt: a sign byte, then intSize bytes, least significant first. */
  #int(): number {
    const negative = this.#byte() !== 0;
    let value = 0;
    const digits = this.#bytes(this.#intSize);
    for (let index = digits.length - 1; index >= 0; index--) value = value * 256 + digits[index]!;
    return negative ? -value : value;
  }

  /** ReadStr: a length (-1: NULL), then that many bytes (UTF-8 in practice: the dump's encoding). */
  #str(): string | undefined {
    const length = this.#int();
    if (length < 0) return undefined;
    return this.#bytes(length).toString("utf8");
  }
}

/** `schema.name` as pg_restore --list prints it ("-" without a schema). */
export function qualifiedTag(entry: Pick<TocEntry, "namespace" | "tag">): string {
  return entry.namespace ? `${entry.namespace}.${entry.tag}` : entry.tag;
}
