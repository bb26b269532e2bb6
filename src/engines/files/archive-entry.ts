// The header bytes of one archive entry, as Lifeboat writes them: a POSIX
// ustar block, preceded by a pax extended header when ustar cannot carry the
// entry exactly. The choices (documented in docs/engines.md) follow GNU tar's
// --format=posix, so GNU tar and bsdtar extract a Lifeboat archive:
//
// - a name over 100 bytes or with any non-ASCII byte goes in a pax `path`
//   (`linkpath` for a link target) record, as raw bytes; when those bytes are
//   not valid UTF-8 the header also says `hdrcharset=BINARY` (POSIX's way to
//   say "these are bytes, not UTF-8"). The ustar field then holds the name
//   with non-ASCII bytes as "_", for tars that ignore pax;
// - sizes over 8 GiB, ids over 2^21 and mtimes before 1970 get a pax record;
// - a sparse file is a GNU sparse 1.0 entry (GNU.sparse.* records, the map at
//   the start of its data, its ustar name `GNUSparseFile.0/<name>` so a tar
//   unaware of sparse files extracts it beside, not over, the real name).
//
// Nothing that changes without the data changing is written (atime, ctime,
// dev, inode, the writer's pid), so an unchanged tree gives identical bytes.

import { isUtf8 } from "node:buffer";
import { baseOf } from "./raw-path.ts";
import { encodePaxRecords, encodeUstar, octalLimit, paddingFor } from "./tar-header.ts";

export type ArchiveEntryType = "file" | "hardlink" | "symlink" | "dir";

const typeflags: Record<ArchiveEntryType, string> = { file: "0", hardlink: "1", symlink: "2", dir: "5" };

export interface EntryHeader {
  /** Relative path, raw bytes; empty for the root. */
  readonly path: Buffer;
  readonly type: ArchiveEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Whole seconds. */
  readonly mtime: number;
  /** Bytes of data that follow the header (for a sparse file: its map and data segments). */
  readonly size: number;
  /** Hard link: the path of the first name; symlink: the target. Raw bytes. */
  readonly linkpath?: Buffer;
  /** Present for a sparse file: its real size (the map is the start of the data). */
  readonly sparseRealSize?: number;
}

/** The name as stored: the root is "./", a directory ends in "/". */
export function archiveName(path: Buffer, type: ArchiveEntryType): Buffer {
  if (path.length === 0) return Buffer.from("./");
  return type === "dir" ? Buffer.concat([path, Buffer.from("/")]) : path;
}

function fitsUstar(name: Buffer): boolean {
  return name.length <= 100 && name.every((byte) => byte >= 0x20 && byte < 0x7f);
}

/** The name for tars that read only the ustar block: printable ASCII, at most 100 bytes. */
function ustarFallback(name: Buffer): Buffer {
  return Buffer.from(name.subarray(0, 100).map((byte) => (byte >= 0x20 && byte < 0x7f ? byte : 0x5f)));
}

function paxEntry(
  records: ReadonlyArray<readonly [string, Buffer]>,
  entryName: Buffer,
  mtime: number,
): Buffer {
  const body = encodePaxRecords(records);
  const header = encodeUstar({
    name: ustarFallback(Buffer.concat([Buffer.from("PaxHeaders/"), baseOf(entryName)])),
    typeflag: "x",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime,
    linkname: Buffer.alloc(0),
  });
  return Buffer.concat([header, body, Buffer.alloc(paddingFor(body.length))]);
}

export function encodeEntryHeader(entry: EntryHeader): Buffer {
  const name = archiveName(entry.path, entry.type);
  const linkpath = entry.linkpath ?? Buffer.alloc(0);
  const records: [string, Buffer][] = [];
  const text = (value: number) => Buffer.from(String(value));
  if (!isUtf8(name) || !isUtf8(linkpath)) records.push(["hdrcharset", Buffer.from("BINARY")]);
  let ustarName = name;
  if (entry.sparseRealSize !== undefined) {
    ustarName = ustarFallback(Buffer.concat([Buffer.from("GNUSparseFile.0/"), baseOf(name)]));
  } else if (!fitsUstar(name)) {
    records.push(["path", name]);
    ustarName = ustarFallback(name);
  }
  if (!fitsUstar(linkpath)) records.push(["linkpath", linkpath]);
  if (entry.size > octalLimit(12)) records.push(["size", text(entry.size)]);
  if (entry.uid > octalLimit(8)) records.push(["uid", text(entry.uid)]);
  if (entry.gid > octalLimit(8)) records.push(["gid", text(entry.gid)]);
  if (entry.mtime < 0 || entry.mtime > octalLimit(12)) records.push(["mtime", text(entry.mtime)]);
  if (entry.sparseRealSize !== undefined) {
    records.push(
      ["GNU.sparse.major", Buffer.from("1")],
      ["GNU.sparse.minor", Buffer.from("0")],
      ["GNU.sparse.name", name],
      ["GNU.sparse.realsize", text(entry.sparseRealSize)],
    );
  }
  const header = encodeUstar({
    name: ustarName,
    typeflag: typeflags[entry.type],
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
    mtime: entry.mtime,
    linkname: fitsUstar(linkpath) ? linkpath : ustarFallback(linkpath),
  });
  return records.length === 0 ? header : Buffer.concat([paxEntry(records, name, entry.mtime), header]);
}

/** Two zero blocks end an archive. */
export const endOfArchive = Buffer.alloc(1024);
