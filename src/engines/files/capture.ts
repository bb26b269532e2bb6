// Capture a directory tree as one tar artifact. Entries come from our own
// sorted walk and only fields that are data are written, so an unchanged tree
// produces the same bytes and deduplicates in the repository. The format is
// POSIX pax as GNU tar writes it (archive-entry.ts, docs/engines.md).
//
// Not atomic: there is no filesystem snapshot, so a tree being written to
// while it is captured is archived best-effort, as tar would. Each file is
// read once (a sparse one twice, checked equal) and its stored content is
// exactly what the fingerprint hashes; a file that disappears or shrinks
// between the walk and its read fails the capture loudly (SOURCE_TOOL_FAILED
// naming it) rather than storing a damaged entry; run the backup again. A
// path the backup may not read (EACCES) is SOURCE_UNREACHABLE naming it.
//
// Kept: regular files (content, holes of sparse files, mode incl.
// setuid/sticky bits, mtime in whole seconds, owner), directories (also empty
// ones), symlinks as symlinks (never followed, even dangling or pointing
// outside the tree), hard links inside the tree (restored as links), names
// and link targets as raw bytes (not necessarily UTF-8). Skipped with a
// warning: sockets, FIFOs and devices.

import { readlink, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import type { FilesSourceConfig } from "./config.ts";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { encodeEntryHeader, endOfArchive } from "./archive-entry.ts";
import { fileEntry, sourceReadError } from "./file-entry.ts";
import { displayPath, underRoot } from "./raw-path.ts";
import { treeFingerprint, type TreeRecord } from "./tree-hash.ts";
import { encodeTreeIndex, treeIndexArtifact, type TreeIndexEntry } from "./tree-index.ts";
import { walkTree, type TreeEntry } from "./walk.ts";

export const treeArtifact = "tree.tar";

async function assertDirectory(root: string): Promise<void> {
  const info = await stat(root).catch((error: Error) => {
    throw new LifeboatError(
      "SOURCE_UNREACHABLE",
      `source directory ${root} cannot be read: ${error.message}`,
      {
        details: { path: root },
        cause: error,
      },
    );
  });
  if (!info.isDirectory()) {
    throw new LifeboatError("SOURCE_UNREACHABLE", `source ${root} is not a directory`, {
      details: { path: root },
    });
  }
}

/** Yield a generator's buffers, counting their bytes; return what it returns. */
async function* counted<R>(
  parts: AsyncGenerator<Buffer, R>,
  add: (bytes: number) => void,
): AsyncGenerator<Buffer, R> {
  for (;;) {
    const next = await parts.next();
    if (next.done) return next.value;
    add(next.value.length);
    yield next.value;
  }
}

/**
 * The archive's bytes, entry by entry; `records` receives each entry's
 * fingerprint record and `index` its tree index entry (where its bytes lie).
 */
async function* archive(
  root: string,
  entries: readonly TreeEntry[],
  records: TreeRecord[],
  index: TreeIndexEntry[],
): AsyncGenerator<Buffer> {
  const rootBytes = Buffer.from(root);
  /** dev:inode of files with several names -> the first name archived (later ones become links). */
  const firstNames = new Map<string, TreeRecord>();
  let position = 0;
  for (const entry of entries) {
    const absolute = underRoot(rootBytes, entry.path);
    const { stats } = entry;
    const common = {
      path: entry.path,
      uid: stats.uid,
      gid: stats.gid,
      mtime: Math.floor(stats.mtimeMs / 1000),
      size: 0,
    };
    const start = position;
    const indexed = (fields: Pick<TreeIndexEntry, "type" | "mode" | "size" | "digest" | "link">) =>
      index.push({ ...common, ...fields, offset: start, length: position - start });
    let header: Buffer;
    if (entry.type === "dir") {
      header = encodeEntryHeader({ ...common, type: "dir", mode: stats.mode & 0o7777 });
      position += header.length;
      yield header;
      if (entry.path.length > 0)
        records.push({ path: entry.path, type: "dir", mode: stats.mode & 0o7777, size: 0, digest: "" });
      indexed({ type: "dir", mode: stats.mode & 0o7777, size: 0, digest: "" });
    } else if (entry.type === "symlink") {
      const target = await readlink(absolute, { encoding: "buffer" }).catch((error: unknown) => {
        throw sourceReadError(error, absolute);
      });
      header = encodeEntryHeader({ ...common, type: "symlink", mode: 0o777, linkpath: target });
      position += header.length;
      yield header;
      records.push({ path: entry.path, type: "symlink", mode: 0, size: 0, digest: target });
      indexed({ type: "symlink", mode: 0o777, size: 0, digest: "", link: target });
    } else {
      const inode = `${stats.dev}:${stats.ino}`;
      const first = stats.nlink > 1 ? firstNames.get(inode) : undefined;
      if (first) {
        // Another name of a file already archived: a link, restored as the same inode.
        header = encodeEntryHeader({
          ...common,
          type: "hardlink",
          mode: stats.mode & 0o7777,
          linkpath: first.path,
        });
        position += header.length;
        yield header;
        records.push({ ...first, path: entry.path });
        indexed({
          type: "hardlink",
          mode: first.mode,
          size: first.size,
          digest: String(first.digest),
          link: first.path,
        });
        continue;
      }
      const record = yield* counted(fileEntry(absolute, entry.path), (bytes) => (position += bytes));
      records.push(record);
      indexed({ type: "file", mode: record.mode, size: record.size, digest: String(record.digest) });
      if (stats.nlink > 1) firstNames.set(inode, record);
    }
  }
  yield endOfArchive;
}

export async function captureFiles(
  source: FilesSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const root = resolve(source.path);
  await assertDirectory(root);
  // No filesystem snapshot: the capture start is the best honest bound on this machine's clock.
  const consistentAt = new Date().toISOString();
  const entries = await walkTree(root, {
    onSkipped: ({ path, kind }) =>
      context.log.warn(
        `files: skipping ${kind} ${displayPath(path)} in ${root} (only files, directories and symlinks are kept)`,
      ),
    onFailure: (error, path) => sourceReadError(error, path),
  });
  context.signal?.throwIfAborted();

  const records: TreeRecord[] = [];
  const index: TreeIndexEntry[] = [];
  async function* stoppable(): AsyncGenerator<Buffer> {
    for await (const chunk of archive(root, entries, records, index)) {
      context.signal?.throwIfAborted();
      if (chunk.length > 0) yield chunk;
    }
  }
  // Each file's bytes are read into a fresh buffer and hashed before they are yielded: handed over.
  await sink.write(treeArtifact, stoppable(), { handOver: true });
  // Written after the archive, from what was archived: ls, diff and partial restores read it.
  await sink.write(treeIndexArtifact, Readable.from(encodeTreeIndex(index)));
  const fingerprint = treeFingerprint(records);
  return {
    consistentAt,
    engineMeta: { path: root, files: fingerprint.counts.files ?? 0 },
    fingerprint,
  };
}
