// The bytes of a tar header: one POSIX ustar block, and the records of a pax
// extended header ("x" entry) that carry what ustar cannot (long or non-ASCII
// names, raw non-UTF-8 names, big sizes, GNU sparse maps). Names and values
// are raw bytes; nothing here decodes them as text.
//
// Lifeboat writes and reads these itself rather than through node-tar, whose
// headers hold names as JavaScript strings (so a non-UTF-8 name cannot be
// carried) and which has no sparse files; see docs/engines.md.

import { LifeboatError } from "../../errors.ts";

export const BLOCK = 512;

/** Zero bytes that round `size` up to a whole number of blocks. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

export interface UstarFields {
  /** At most 100 bytes: longer names travel in a pax `path` record. */
  readonly name: Buffer;
  readonly typeflag: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  /** At most 100 bytes (pax `linkpath` otherwise). */
  readonly linkname: Buffer;
}

/** Largest value an octal field of `width` bytes holds (width - 1 digits and a NUL). */
export function octalLimit(width: number): number {
  return 8 ** (width - 1) - 1;
}

function writeNumber(block: Buffer, offset: number, width: number, value: number): void {
  // A negative value (an mtime before 1970) is written as 0 here and exactly in a pax record.
  value = Math.max(0, Math.floor(value));
  if (value <= octalLimit(width)) {
    block.write(value.toString(8).padStart(width - 1, "0"), offset, width - 1, "ascii");
    return;
  }
  // Base-256 (GNU, star): a leading 0x80 and the value big-endian. The pax record carries it too.
  block[offset] = 0x80;
  let rest = value;
  for (let index = offset + width - 1; index > offset; index--) {
    block[index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
}

function checksum(block: Buffer): number {
  let sum = 8 * 0x20; // the checksum field itself counts as eight spaces
  for (let index = 0; index < BLOCK; index++) {
    if (index < 148 || index >= 156) sum += block[index]!;
  }
  return sum;
}

export function encodeUstar(fields: UstarFields): Buffer {
  const block = Buffer.alloc(BLOCK);
  fields.name.copy(block, 0, 0, 100);
  writeNumber(block, 100, 8, fields.mode);
  writeNumber(block, 108, 8, fields.uid);
  writeNumber(block, 116, 8, fields.gid);
  writeNumber(block, 124, 12, fields.size);
  writeNumber(block, 136, 12, fields.mtime);
  block.write(fields.typeflag, 156, 1, "ascii");
  fields.linkname.copy(block, 157, 0, 100);
  block.write("ustar\u000000", 257, 8, "ascii");
  writeNumber(block, 329, 8, 0);
  writeNumber(block, 337, 8, 0);
  block.write(checksum(block).toString(8).padStart(6, "0") + "\u0000 ", 148, 8, "ascii");
  return block;
}

export interface DecodedUstar extends UstarFields {
  /** True for the all-zero block that ends an archive. */
  readonly end: boolean;
}

function damaged(offset: number, what: string): LifeboatError {
  return new LifeboatError(
    "VERIFICATION_FAILED",
    `the archive cannot be restored safely: the tar header at byte ${offset} is damaged (${what})`,
    { details: { offset } },
  );
}

function readNumber(block: Buffer, offset: number, width: number, at: number): number {
  const field = block.subarray(offset, offset + width);
  if (field[0]! & 0x80) {
    // Base-256: 0x80 then a positive big-endian value, or 0xff and a two's complement negative one.
    if (field[0] !== 0x80 && field[0] !== 0xff) throw damaged(at, `field at ${offset} is not a number`);
    let value = 0n;
    for (let index = field[0] === 0x80 ? 1 : 0; index < width; index++)
      value = value * 256n + BigInt(field[index]!);
    if (field[0] !== 0x80) value -= 256n ** BigInt(width);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw damaged(at, "number too large");
    }
    return Number(value);
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw damaged(at, `field at ${offset} is not octal`);
  return parseInt(text, 8);
}

function cString(bytes: Buffer): Buffer {
  const end = bytes.indexOf(0);
  return end < 0 ? bytes : bytes.subarray(0, end);
}

/** Decode one header block; `at` is its offset in the archive, for messages. */
export function decodeUstar(block: Buffer, at: number): DecodedUstar {
  if (block.every((byte) => byte === 0)) {
    return {
      end: true,
      name: Buffer.alloc(0),
      typeflag: "",
      mode: 0,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      linkname: Buffer.alloc(0),
    };
  }
  const recorded = readNumber(block, 148, 8, at);
  if (recorded !== checksum(block)) throw damaged(at, "checksum mismatch");
  let name = cString(block.subarray(0, 100));
  if (block.toString("latin1", 257, 263) === "ustar\u0000") {
    // POSIX ustar prefix is 155 bytes; node-tar (Lifeboat before 0.2) used star's 130-byte
    // prefix followed by atime/ctime. Like node-tar: a byte at 475 means the long form.
    const prefix = cString(block.subarray(345, block[475] !== 0 ? 500 : 475));
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from("/"), name]);
  }
  return {
    end: false,
    name,
    typeflag: block.toString("latin1", 156, 157).replace("\u0000", "0"),
    mode: readNumber(block, 100, 8, at),
    uid: readNumber(block, 108, 8, at),
    gid: readNumber(block, 116, 8, at),
    size: readNumber(block, 124, 12, at),
    mtime: readNumber(block, 136, 12, at),
    linkname: cString(block.subarray(157, 257)),
  };
}

/** A pax extended header body: `<length> <key>=<value>\n` per record, the length counting itself. */
export function encodePaxRecords(records: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const rest = Buffer.byteLength(key) + value.length + 3; // " ", "=", "\n"
    let length = rest + String(rest).length;
    if (String(length).length !== String(rest).length) length = rest + String(length).length;
    parts.push(Buffer.from(`${length} ${key}=`), value, Buffer.from("\n"));
  }
  return Buffer.concat(parts);
}

/** Parse a pax body into key -> raw value; later records win, as POSIX says. */
export function parsePaxRecords(body: Buffer, at: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < body.length) {
    if (body[offset] === 0) break; // padding
    const space = body.indexOf(0x20, offset);
    const length = Number(body.toString("latin1", offset, space));
    if (
      space < 0 ||
      !Number.isSafeInteger(length) ||
      length <= space - offset ||
      offset + length > body.length
    ) {
      throw damaged(at, "malformed pax record");
    }
    const record = body.subarray(space + 1, offset + length);
    const equals = record.indexOf(0x3d);
    if (equals < 0 || record[record.length - 1] !== 0x0a) throw damaged(at, "malformed pax record");
    records.set(
      record.toString("utf8", 0, equals),
      Buffer.from(record.subarray(equals + 1, record.length - 1)),
    );
    offset += length;
  }
  return records;
}
