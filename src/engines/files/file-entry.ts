// One regular file as archive bytes (header, data, padding) and its
// fingerprint record, hashed from the very bytes that are stored. A file the
// filesystem reports as sparse is scanned for holes first and, if it has
// any, stored as a GNU sparse entry: only its data segments, plus a map.
// Memory stays bounded (1 MiB at a time) whatever the file's size.

import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { LifeboatError } from "../../errors.ts";
import { encodeEntryHeader, type EntryHeader } from "./archive-entry.ts";
import { displayPath } from "./raw-path.ts";
import { encodeSparseMap, looksSparse, readFully, scanForHoles, SCAN_CHUNK } from "./sparse.ts";
import { paddingFor } from "./tar-header.ts";
import type { TreeRecord } from "./tree-hash.ts";

/** "EACCES: permission denied" from a Node error (its message would show a raw path as U+FFFD). */
function reason(error: NodeJS.ErrnoException): string {
  return error.code ? error.message.split(",")[0]! : error.message;
}

/** The tree changed under the capture: fail rather than store a damaged entry. */
export function changedDuringCapture(absolute: Buffer, what: string, cause?: unknown): LifeboatError {
  const path = displayPath(absolute);
  return new LifeboatError(
    "SOURCE_TOOL_FAILED",
    `archiving ${path} failed: it ${what} (was the tree changed during the capture?)`,
    {
      details: { path },
      cause,
      hint: "Run the backup again; a tree that keeps changing needs a filesystem snapshot.",
    },
  );
}

/** A source path that cannot be read: gone meanwhile (changed), or unreadable (SOURCE_UNREACHABLE). */
export function sourceReadError(error: unknown, absolute: Buffer): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const failure = error as NodeJS.ErrnoException;
  if (failure.code === "ENOENT" || failure.code === "ELOOP" || failure.code === "ENOTDIR") {
    return changedDuringCapture(absolute, `disappeared (${failure.code})`, error);
  }
  const path = displayPath(absolute);
  return new LifeboatError("SOURCE_UNREACHABLE", `source path ${path} cannot be read: ${reason(failure)}`, {
    details: { path, errno: failure.code },
    cause: error,
    hint:
      failure.code === "EACCES" || failure.code === "EPERM"
        ? "Run the backup as a user that can read the whole tree (or fix the permissions of the path named)."
        : undefined,
  });
}

async function* readRange(
  handle: FileHandle,
  offset: number,
  length: number,
  absolute: Buffer,
): AsyncGenerator<Buffer> {
  let position = offset;
  const end = offset + length;
  while (position < end) {
    // A fresh buffer per chunk: the sink may still hold the previous one.
    const buffer = Buffer.allocUnsafe(Math.min(SCAN_CHUNK, end - position));
    const got = await readFully(handle, buffer, buffer.length, position).catch((error: unknown) => {
      throw sourceReadError(error, absolute);
    });
    if (got < buffer.length) throw changedDuringCapture(absolute, "shrank while it was read");
    position += got;
    yield buffer;
  }
}

/** Yield the entry's bytes; return its fingerprint record. */
export async function* fileEntry(absolute: Buffer, relative: Buffer): AsyncGenerator<Buffer, TreeRecord> {
  // O_NOFOLLOW: a file replaced by a symlink since the walk must not be followed out of the tree.
  const handle = await open(absolute, constants.O_RDONLY | constants.O_NOFOLLOW).catch((error: unknown) => {
    throw sourceReadError(error, absolute);
  });
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw changedDuringCapture(absolute, "is no longer a regular file");
    const header: Omit<EntryHeader, "size"> = {
      path: relative,
      type: "file",
      mode: stats.mode & 0o7777,
      uid: stats.uid,
      gid: stats.gid,
      mtime: Math.floor(stats.mtimeMs / 1000),
    };
    const record = { path: relative, type: "file" as const, mode: header.mode, size: stats.size };

    if (looksSparse(stats)) {
      const scan = await scanForHoles(handle, stats.size).catch((error: unknown) => {
        throw sourceReadError(error, absolute);
      });
      if (scan.bytesRead < stats.size) throw changedDuringCapture(absolute, "shrank while it was read");
      if (scan.dataBytes < stats.size) {
        const map = encodeSparseMap(scan.segments);
        const size = map.length + scan.dataBytes;
        yield encodeEntryHeader({ ...header, size, sparseRealSize: stats.size });
        yield map;
        // The second read of the data must be the first one's bytes, or the digest would lie.
        const data = createHash("sha256");
        for (const segment of scan.segments) {
          for await (const chunk of readRange(handle, segment.offset, segment.length, absolute)) {
            data.update(chunk);
            yield chunk;
          }
        }
        if (data.digest("hex") !== scan.dataDigest)
          throw changedDuringCapture(absolute, "changed while it was read");
        yield Buffer.alloc(paddingFor(size));
        return { ...record, digest: scan.contentDigest };
      }
    }

    yield encodeEntryHeader({ ...header, size: stats.size });
    const content = createHash("sha256");
    for await (const chunk of readRange(handle, 0, stats.size, absolute)) {
      content.update(chunk);
      yield chunk;
    }
    yield Buffer.alloc(paddingFor(stats.size));
    return { ...record, digest: content.digest("hex") };
  } finally {
    await handle.close();
  }
}
