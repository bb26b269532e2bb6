// A reader of Redis RDB files (versions 1 to 12: Redis up to 7.4) that walks
// every key without decoding values: it counts keys per database and per
// type, keys with a time to live, stream entries and function libraries.
// That is the fingerprint, taken from the RDB itself so it describes exactly
// the point in time the server's snapshot holds. Values are skipped by their
// encoded lengths, so a big RDB costs little more than reading it once.
// Format: redis/src/rdb.h and rdb.c (opcodes, length encoding, per-type layout).

import { closeSync, openSync } from "node:fs";
import { FileBytes, rdbError } from "./file-bytes.ts";

/** What one database of the RDB holds. */
export interface RdbDatabase {
  /** Keys alive at the reference time, by type (string, list, set, zset, hash, stream, module). */
  readonly types: Record<string, number>;
  /** Of those, keys with a time to live. */
  expires: number;
  /** Every key in the file, including those already expired at the reference time. */
  stored: number;
  /** Entries of the streams alive at the reference time. */
  streamEntries: number;
}

export interface RdbSummary {
  readonly version: number;
  /** The `ctime` the server wrote (seconds since the epoch), if any. */
  readonly createdAt?: number;
  readonly redisVersion?: string;
  readonly databases: Record<number, RdbDatabase>;
  /** Function libraries (Redis 7 functions). */
  readonly functions: number;
  /** The reference time for expiry, in ms since the epoch. */
  readonly referenceMs: number;
}

const opcode = {
  function2: 0xf5,
  functionPreGa: 0xf6,
  moduleAux: 0xf7,
  idle: 0xf8,
  freq: 0xf9,
  aux: 0xfa,
  resizeDb: 0xfb,
  expireMs: 0xfc,
  expireSeconds: 0xfd,
  selectDb: 0xfe,
  eof: 0xff,
} as const;

/** Value type byte → the Redis type it is (rdb.h RDB_TYPE_*). Types 22+ (7.4 hash field TTLs) too. */
const typeNames: Record<number, string> = {
  0: "string",
  1: "list",
  2: "set",
  3: "zset",
  4: "hash",
  5: "zset",
  6: "module",
  7: "module",
  9: "hash",
  10: "list",
  11: "set",
  12: "zset",
  13: "hash",
  14: "list",
  15: "stream",
  16: "hash",
  17: "zset",
  18: "list",
  19: "stream",
  20: "set",
  21: "stream",
  22: "hash",
  24: "hash",
};

interface Length {
  readonly value: number;
  /** Set when the length is a special string encoding (integer, LZF). */
  readonly encoding?: number;
}

class RdbWalker {
  private readonly bytes: FileBytes;
  private readonly path: string;
  constructor(bytes: FileBytes, path: string) {
    this.bytes = bytes;
    this.path = path;
  }

  length(): Length {
    const first = this.bytes.byte();
    const kind = first >> 6;
    if (kind === 0) return { value: first & 0x3f };
    if (kind === 1) return { value: ((first & 0x3f) << 8) | this.bytes.byte() };
    if (kind === 3) return { value: 0, encoding: first & 0x3f };
    if (first === 0x80) return { value: this.bytes.take(4).readUInt32BE(0) };
    if (first === 0x81) return { value: Number(this.bytes.take(8).readBigUInt64BE(0)) };
    throw rdbError(this.path, `has an unknown length encoding 0x${first.toString(16)}`);
  }

  count(): number {
    const length = this.length();
    if (length.encoding !== undefined)
      throw rdbError(this.path, "has an encoded value where a count belongs");
    return length.value;
  }

  /** A string, read (small strings: names, aux fields) or skipped. */
  string(keep: boolean): Buffer | undefined {
    const length = this.length();
    if (length.encoding === undefined) {
      if (keep) return Buffer.from(this.bytes.take(length.value));
      this.bytes.skip(length.value);
      return undefined;
    }
    const intBytes = [1, 2, 4][length.encoding];
    if (intBytes !== undefined) {
      const raw = this.bytes.take(intBytes);
      const value =
        intBytes === 1 ? raw.readInt8(0) : intBytes === 2 ? raw.readInt16LE(0) : raw.readInt32LE(0);
      return keep ? Buffer.from(String(value)) : undefined;
    }
    if (length.encoding === 3) {
      const compressed = this.count();
      this.count(); // uncompressed length
      if (keep) throw rdbError(this.path, "has a compressed string where a name belongs");
      this.bytes.skip(compressed);
      return undefined;
    }
    throw rdbError(this.path, `has an unknown string encoding ${length.encoding}`);
  }

  text(): string {
    return this.string(true)!.toString("utf8");
  }

  skipStrings(count: number): void {
    for (let index = 0; index < count; index++) this.string(false);
  }

  /** ZSET (type 3) scores: a length byte with 253/254/255 meaning NaN/+inf/-inf. */
  skipTextDouble(): void {
    const length = this.bytes.byte();
    if (length < 253) this.bytes.skip(length);
  }

  /** Module values (MODULE_2) and module aux data: typed opcodes until EOF (0). */
  skipModuleValue(): void {
    for (;;) {
      const code = this.count();
      if (code === 0) return;
      if (code === 1 || code === 2) this.length();
      else if (code === 3) this.bytes.skip(4);
      else if (code === 4) this.bytes.skip(8);
      else if (code === 5) this.string(false);
      else throw rdbError(this.path, `has an unknown module opcode ${code}`);
    }
  }

  /** Skip one value of `type`; returns the entries of a stream (0 for other types). */
  skipValue(type: number): number {
    switch (type) {
      case 0:
      case 9:
      case 10:
      case 11:
      case 12:
      case 13:
      case 16:
      case 17:
      case 20:
        this.string(false);
        return 0;
      case 1:
      case 2:
        this.skipStrings(this.count());
        return 0;
      case 3:
        for (let index = this.count(); index > 0; index--) {
          this.string(false);
          this.skipTextDouble();
        }
        return 0;
      case 5:
        for (let index = this.count(); index > 0; index--) {
          this.string(false);
          this.bytes.skip(8);
        }
        return 0;
      case 4:
        this.skipStrings(this.count() * 2);
        return 0;
      case 14:
        this.skipStrings(this.count());
        return 0;
      case 18:
        for (let index = this.count(); index > 0; index--) {
          this.count(); // container kind (plain or packed)
          this.string(false);
        }
        return 0;
      case 15:
      case 19:
      case 21:
        return this.skipStream(type);
      case 7:
        this.count(); // module id (64 bits, length-encoded)
        this.skipModuleValue();
        return 0;
      default:
        throw rdbError(
          this.path,
          `holds a value of type ${type}, which this Lifeboat cannot read (a newer Redis, or a module type)`,
        );
    }
  }

  private skipStream(type: number): number {
    this.skipStrings(this.count() * 2); // listpacks: master id + listpack each
    const entries = this.count();
    this.count(); // last id ms
    this.count(); // last id seq
    if (type >= 19) {
      for (let index = 0; index < 5; index++) this.count(); // first id, max deleted id, entries added
    }
    for (let groups = this.count(); groups > 0; groups--) {
      this.string(false);
      this.count();
      this.count();
      if (type >= 19) this.count(); // entries read
      for (let pending = this.count(); pending > 0; pending--) {
        this.bytes.skip(16 + 8); // raw id + delivery time
        this.count(); // delivery count
      }
      for (let consumers = this.count(); consumers > 0; consumers--) {
        this.string(false);
        this.bytes.skip(type >= 21 ? 16 : 8); // seen time (+ active time)
        this.bytes.skip(16 * this.count()); // their pending ids
      }
    }
    return entries;
  }
}

/**
 * Walk the RDB file at `path`. Keys whose expiry is before `referenceMs`
 * (default: the file's own creation time, the snapshot's moment) are counted
 * as stored but not as alive: a server loading the file drops them.
 */
export function readRdbSummary(path: string, referenceMs?: number): RdbSummary {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw rdbError(path, `cannot be read: ${(error as Error).message}`);
  }
  try {
    return walk(new FileBytes(fd, path), path, referenceMs);
  } finally {
    closeSync(fd);
  }
}

function walk(bytes: FileBytes, path: string, referenceMs: number | undefined): RdbSummary {
  const header = bytes.take(9).toString("latin1");
  if (!/^REDIS\d{4}$/.test(header)) throw rdbError(path, "is not an RDB file (no REDIS header)");
  const version = Number(header.slice(5));
  if (version > 12) throw rdbError(path, `is RDB version ${version}, newer than this Lifeboat reads (12)`);
  const walker = new RdbWalker(bytes, path);
  const databases: Record<number, RdbDatabase> = {};
  let createdAt: number | undefined;
  let redisVersion: string | undefined;
  let functions = 0;
  let database = 0;
  let expiresAt: number | undefined;
  const reference = () => referenceMs ?? (createdAt !== undefined ? createdAt * 1000 : Date.now());
  const current = () => (databases[database] ??= { types: {}, expires: 0, stored: 0, streamEntries: 0 });
  for (;;) {
    const code = bytes.byte();
    switch (code) {
      case opcode.eof:
        if (version >= 5) bytes.take(8); // the CRC64 trailer: its absence means a cut-off file
        return {
          version,
          ...(createdAt !== undefined ? { createdAt } : {}),
          ...(redisVersion ? { redisVersion } : {}),
          databases,
          functions,
          referenceMs: reference(),
        };
      case opcode.selectDb:
        database = walker.count();
        continue;
      case opcode.resizeDb:
        walker.count();
        walker.count();
        continue;
      case opcode.aux: {
        const key = walker.text();
        const value = walker.string(key === "ctime" || key === "redis-ver");
        if (key === "ctime" && value) createdAt = Number(value.toString());
        if (key === "redis-ver" && value) redisVersion = value.toString();
        continue;
      }
      case opcode.expireMs:
        expiresAt = Number(bytes.take(8).readBigInt64LE(0));
        continue;
      case opcode.expireSeconds:
        expiresAt = bytes.take(4).readInt32LE(0) * 1000;
        continue;
      case opcode.idle:
        walker.count();
        continue;
      case opcode.freq:
        bytes.skip(1);
        continue;
      case opcode.moduleAux:
        walker.count(); // module id
        walker.count(); // when opcode
        walker.count(); // when
        walker.skipModuleValue();
        continue;
      case opcode.function2:
        walker.string(false);
        functions++;
        continue;
      case opcode.functionPreGa:
        throw rdbError(path, "holds functions in the format of a Redis 7.0 release candidate");
      default: {
        const type = typeNames[code];
        if (type === undefined) throw rdbError(path, `holds an unknown value type ${code}`);
        walker.string(false); // the key
        const entries = walker.skipValue(code);
        const db = current();
        db.stored++;
        if (expiresAt === undefined || expiresAt > reference()) {
          db.types[type] = (db.types[type] ?? 0) + 1;
          if (expiresAt !== undefined) db.expires++;
          db.streamEntries += entries;
        }
        expiresAt = undefined;
      }
    }
  }
}
