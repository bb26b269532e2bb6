// The tree index: a small artifact beside tree.tar that lists every entry
// of the archive (name, type, mode, size, owner, mtime, content digest) with
// where its bytes lie in the archive. `ls` and `diff` read it instead of the
// archive, and a partial restore reads it to fetch only the byte ranges of
// the entries it restores (docs/engines.md, "files"). It is authenticated
// like any artifact; a partial restore also checks that the fingerprint
// computed from it is the snapshot's, so an index that does not describe
// its archive can never steer a restore.
//
// Encoding: UTF-8 lines, the first a header object, then one JSON array per
// entry in archive order:
//   [path, type, mode, size, mtime, uid, gid, digest, link, offset, length]
// path and link are strings when UTF-8, else {"hex": "..."}; type is
// "dir" | "file" | "symlink" | "hardlink"; digest is a file's content SHA-256
// (hex) or ""; link is a symlink's target or a hard link's first name, or
// null; offset and length are the entry's bytes in tree.tar (its pax header,
// if any, its ustar header, data and padding). The root directory is the
// entry with path "".

import { isUtf8 } from "node:buffer";
import { z } from "zod";
import { LifeboatError } from "../../errors.ts";
import type { ArchiveEntryType } from "./archive-entry.ts";
import type { TreeRecord } from "./tree-hash.ts";

export const treeIndexArtifact = "tree.index";
export const treeIndexSchema = "lifeboat.tree-index/1";

export interface TreeIndexEntry {
  readonly path: Buffer;
  readonly type: ArchiveEntryType;
  readonly mode: number;
  /** Content length of a file (a hard link: of the file it names), 0 otherwise. */
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
  /** A file's content SHA-256 (hex), "" otherwise. */
  readonly digest: string;
  /** A symlink's target, a hard link's first name. */
  readonly link?: Buffer;
  /** Where the entry's bytes start in tree.tar, and how many there are. */
  readonly offset: number;
  readonly length: number;
}

type RawName = string | { hex: string };

function encodeName(name: Buffer): RawName {
  return isUtf8(name) ? name.toString("utf8") : { hex: name.toString("hex") };
}

const nameSchema = z.union([z.string(), z.strictObject({ hex: z.string().regex(/^([0-9a-f]{2})*$/) })]);
const count = z.number().int().nonnegative();
const lineSchema = z.tuple([
  nameSchema,
  z.enum(["dir", "file", "symlink", "hardlink"]),
  count,
  count,
  z.number().int(),
  count,
  count,
  z.string(),
  nameSchema.nullable(),
  count,
  count,
]);
const headerSchema = z.object({ schema: z.literal(treeIndexSchema), entries: count });

function decodeName(name: z.infer<typeof nameSchema>): Buffer {
  return typeof name === "string" ? Buffer.from(name, "utf8") : Buffer.from(name.hex, "hex");
}

/** The index's bytes: one header line, then one line per entry. */
export function* encodeTreeIndex(entries: readonly TreeIndexEntry[]): Generator<Buffer> {
  yield Buffer.from(JSON.stringify({ schema: treeIndexSchema, entries: entries.length }) + "\n");
  let batch: string[] = [];
  for (const entry of entries) {
    const line: z.infer<typeof lineSchema> = [
      encodeName(entry.path),
      entry.type,
      entry.mode,
      entry.size,
      entry.mtime,
      entry.uid,
      entry.gid,
      entry.digest,
      entry.link ? encodeName(entry.link) : null,
      entry.offset,
      entry.length,
    ];
    batch.push(JSON.stringify(line));
    if (batch.length === 1000) {
      yield Buffer.from(batch.join("\n") + "\n");
      batch = [];
    }
  }
  if (batch.length > 0) yield Buffer.from(batch.join("\n") + "\n");
}

function damaged(why: string): LifeboatError {
  return new LifeboatError("CHECKSUM_MISMATCH", `the snapshot's tree index is damaged: ${why}`, {
    hint: "Run `lifeboat check --read-data`; the whole tree still restores from tree.tar.",
  });
}

export function decodeTreeIndex(bytes: Buffer): TreeIndexEntry[] {
  const lines = bytes.toString("utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  const header = headerSchema.safeParse(parseJson(lines[0] ?? ""));
  if (!header.success) throw damaged("its header is not a lifeboat.tree-index/1 header");
  if (lines.length - 1 !== header.data.entries)
    throw damaged(`it holds ${lines.length - 1} entries, its header says ${header.data.entries}`);
  return lines.slice(1).map((text, index) => {
    const parsed = lineSchema.safeParse(parseJson(text));
    if (!parsed.success) throw damaged(`entry ${index + 1} does not parse`);
    const [path, type, mode, size, mtime, uid, gid, digest, link, offset, length] = parsed.data;
    return {
      path: decodeName(path),
      type,
      mode,
      size,
      mtime,
      uid,
      gid,
      digest,
      ...(link !== null ? { link: decodeName(link) } : {}),
      offset,
      length,
    };
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The fingerprint records the index stands for, exactly as capture makes them
 * (tree-hash.ts): the root is no record, a hard link repeats the record of
 * the file it names under its own path.
 */
export function indexRecords(entries: readonly TreeIndexEntry[]): TreeRecord[] {
  const records: TreeRecord[] = [];
  const files = new Map<string, TreeRecord>();
  for (const entry of entries) {
    if (entry.path.length === 0) continue;
    if (entry.type === "dir") {
      records.push({ path: entry.path, type: "dir", mode: entry.mode, size: 0, digest: "" });
    } else if (entry.type === "symlink") {
      records.push({
        path: entry.path,
        type: "symlink",
        mode: 0,
        size: 0,
        digest: entry.link ?? Buffer.alloc(0),
      });
    } else if (entry.type === "file") {
      const record: TreeRecord = {
        path: entry.path,
        type: "file",
        mode: entry.mode,
        size: entry.size,
        digest: entry.digest,
      };
      files.set(entry.path.toString("latin1"), record);
      records.push(record);
    } else {
      const first = files.get((entry.link ?? Buffer.alloc(0)).toString("latin1"));
      if (!first) throw damaged(`hard link ${entry.path.toString()} names no file before it`);
      records.push({ ...first, path: entry.path });
    }
  }
  return records;
}
