// Extract a tree.tar stream into an empty directory, faithfully and safely.
//
// Names are raw bytes end to end, so a name that is not UTF-8 comes back
// with exactly its bytes. Any entry whose path is absolute or contains ".."
// fails the restore (a backup restored minus some files is not a restore),
// as does anything that is not a file, directory, hard link or symlink, or a
// name given twice. Symlinks are created after everything else, exactly as
// stored (absolute or pointing outside the tree): creating them last means
// no entry can be written through one. Hard links may only name a file
// extracted before them. Sparse files get their data segments at their
// offsets and their size by ftruncate, so holes stay holes. Finally exact
// modes (chown clears setuid bits, so modes come after owners) and directory
// mtimes are applied, and everything is fsynced before the caller renames
// the directory into place. File writes and their finishing run behind the
// reading (write-behind.ts): several files are written and synced at once.

import { constants } from "node:fs";
import {
  chmod,
  chown,
  lchown,
  link,
  lutimes,
  mkdir,
  open,
  realpath,
  symlink,
  utimes,
} from "node:fs/promises";
import type { Readable } from "node:stream";
import { LifeboatError } from "../../errors.ts";
import { fsyncPath } from "../../runtime/paths.ts";
import { readArchive, type ReadEntry } from "./archive-reader.ts";
import { displayPath, parentOf, pathKey, splitComponents, underRoot } from "./raw-path.ts";
import { WriteBehind } from "./write-behind.ts";

interface Placed {
  readonly path: Buffer;
  readonly mode: number;
  readonly mtime: number;
  readonly uid: number;
  readonly gid: number;
}

interface PendingSymlink extends Placed {
  readonly target: Buffer;
}

function refuse(message: string): LifeboatError {
  return new LifeboatError("VERIFICATION_FAILED", `the archive cannot be restored safely: ${message}`);
}

/** Archive paths as stored ("dir/", "./a") to record paths ("dir", "a"); "" is the root. */
export function normalizeArchivePath(path: Buffer): Buffer {
  let end = path.length;
  while (end > 0 && path[end - 1] === 0x2f) end--;
  let normalized = path.subarray(0, end);
  while (normalized.length >= 2 && normalized[0] === 0x2e && normalized[1] === 0x2f)
    normalized = normalized.subarray(2);
  return normalized.length === 1 && normalized[0] === 0x2e ? Buffer.alloc(0) : normalized;
}

/** Why an archive path may not be written below the target, or undefined when it is safe. */
export function unsafeArchivePath(path: Buffer): string | undefined {
  if (path[0] === 0x2f) return "is absolute";
  if (splitComponents(path).some((part) => part.length === 2 && part[0] === 0x2e && part[1] === 0x2e)) {
    return "contains '..'";
  }
  return undefined;
}

const epochSeconds = (seconds: number) => new Date(seconds * 1000);

/**
 * Create one file and start writing it; its writes and finishing (mode,
 * times, fsync, close) complete in the background, tracked by `behind`, so
 * the next entry is read meanwhile.
 */
async function writeFileEntry(
  absolute: Buffer,
  entry: ReadEntry,
  asRoot: boolean,
  sync: boolean,
  behind: WriteBehind,
): Promise<void> {
  // wx: a name given twice (or a name below a symlink, impossible here) fails instead of overwriting.
  const handle = await open(
    absolute,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  // Positional writes: several of this file's may be in flight at once.
  const writes: Promise<unknown>[] = [];
  const write = async (bytes: Buffer, position: number) => {
    // Without the write's result, which holds the buffer until the whole file is finished.
    const done = handle.write(bytes, 0, bytes.length, position).then(() => {});
    writes.push(done);
    await behind.add(done, bytes.length);
  };
  try {
    if (entry.segments) {
      const segments = entry.segments;
      let index = 0;
      let written = 0; // within the current segment
      for await (const chunk of entry.data) {
        let rest = chunk;
        while (rest.length > 0) {
          while (written === segments[index]!.length) [index, written] = [index + 1, 0];
          const segment = segments[index]!;
          const piece = rest.subarray(0, segment.length - written);
          await write(piece, segment.offset + written);
          written += piece.length;
          rest = rest.subarray(piece.length);
        }
      }
    } else {
      let position = 0;
      for await (const chunk of entry.data) {
        await write(chunk, position);
        position += chunk.length;
      }
    }
  } catch (error) {
    await Promise.allSettled(writes);
    await handle.close();
    throw error;
  }
  const finish = async () => {
    try {
      await Promise.all(writes);
      if (entry.segments) await handle.truncate(entry.size); // the holes after the last segment
      if (asRoot) await handle.chown(entry.uid, entry.gid);
      await handle.chmod(entry.mode & 0o7777);
      await handle.utimes(epochSeconds(entry.mtime), epochSeconds(entry.mtime));
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  };
  await behind.add(finish());
}

/** Symlinks last and exactly as stored, each only where real directories lead to it. */
async function placeSymlinks(
  root: Buffer,
  symlinks: readonly PendingSymlink[],
  asRoot: boolean,
): Promise<void> {
  for (const pending of symlinks) {
    const absolute = underRoot(root, pending.path);
    const parent = underRoot(root, parentOf(pending.path));
    // Only real directories lie between root and the link: nothing can be created outside the root.
    if (!(await realpath(parent, { encoding: "buffer" })).equals(parent)) {
      throw refuse(`symlink ${JSON.stringify(displayPath(pending.path))} lies below another symlink`);
    }
    await symlink(pending.target, absolute);
    if (asRoot) await lchown(absolute, pending.uid, pending.gid);
    await lutimes(absolute, epochSeconds(pending.mtime), epochSeconds(pending.mtime));
  }
}

/** Owners, modes and times of the directories and the root, once nothing below them changes any more. */
async function applyDirectoryMetadata(
  root: Buffer,
  directories: readonly Placed[],
  rootEntry: Placed | undefined,
  asRoot: boolean,
  sync: boolean,
): Promise<void> {
  // Deepest directories first (archive order reversed), the root last: setting a child's times or
  // mode must not disturb its parent afterwards.
  const order = [...directories].reverse();
  if (rootEntry) order.push(rootEntry);
  for (const entry of order) {
    const absolute = underRoot(root, entry.path);
    if (asRoot) await chown(absolute, entry.uid, entry.gid);
    await chmod(absolute, entry.mode);
    if (sync) await fsyncPath(absolute);
    await utimes(absolute, epochSeconds(entry.mtime), epochSeconds(entry.mtime));
  }
}

export interface ExtractOptions {
  /**
   * fsync every file and directory before returning (the default). A caller
   * whose consumer syncs the tree itself turns it off: PostgreSQL fsyncs its
   * whole data directory when it starts from a backup_label.
   */
  readonly sync?: boolean;
}

export async function extractTree(
  stream: Readable,
  directory: string,
  onStreamed?: () => void,
  signal?: AbortSignal,
  options: ExtractOptions = {},
): Promise<void> {
  const sync = options.sync ?? true;
  const root = await realpath(Buffer.from(directory), { encoding: "buffer" });
  const asRoot = process.getuid?.() === 0;
  const directories: Placed[] = [];
  const symlinks: PendingSymlink[] = [];
  const files = new Set<string>();
  const seen = new Set<string>();
  /** Directories known to exist (the root, extracted ones, parents made for others). */
  const made = new Set<string>([""]);
  const ensureParent = async (path: Buffer) => {
    const parent = parentOf(path);
    if (made.has(pathKey(parent))) return;
    // Parents come first in Lifeboat's archives; others may omit them (made 0755, like tar).
    await mkdir(underRoot(root, parent), { recursive: true, mode: 0o755 });
    made.add(pathKey(parent));
  };
  let rootEntry: Placed | undefined;
  const behind = new WriteBehind();
  try {
    for await (const entry of readArchive(stream)) {
      signal?.throwIfAborted();
      const path = normalizeArchivePath(entry.path);
      const shown = JSON.stringify(displayPath(entry.path));
      const unsafe =
        unsafeArchivePath(path) ??
        (entry.type === "hardlink" ? unsafeArchivePath(entry.linkpath) : undefined);
      if (unsafe) throw refuse(`entry ${shown} ${unsafe}`);
      // The archive may set the root's mode and mtime, but not make the root a file or a link.
      if (path.length === 0 && entry.type !== "dir")
        throw refuse(`a ${entry.type} entry names the root directory`);
      if (!["file", "dir", "hardlink", "symlink"].includes(entry.type)) {
        throw refuse(`entry ${shown} has unsupported type ${entry.type}`);
      }
      const key = pathKey(path);
      if (seen.has(key)) throw refuse(`entry ${shown} appears twice`);
      seen.add(key);
      const placed = { path, mode: entry.mode & 0o7777, mtime: entry.mtime, uid: entry.uid, gid: entry.gid };
      const absolute = underRoot(root, path);
      if (path.length > 0 && entry.type !== "symlink") await ensureParent(path);
      switch (entry.type) {
        case "dir":
          if (path.length === 0) rootEntry = placed;
          else {
            // Owner-only while we write into it; its own mode is applied at the end.
            await mkdir(absolute, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
              if (error.code !== "EEXIST") throw error; // made above as another entry's parent
            });
            made.add(key);
            directories.push(placed);
          }
          break;
        case "file":
          await writeFileEntry(absolute, entry, asRoot, sync, behind);
          files.add(key);
          break;
        case "hardlink": {
          const original = normalizeArchivePath(entry.linkpath);
          if (!files.has(pathKey(original))) {
            throw refuse(
              `hard link ${shown} names ${JSON.stringify(displayPath(original))}, not a file before it`,
            );
          }
          await link(underRoot(root, original), absolute);
          files.add(key);
          break;
        }
        case "symlink":
          symlinks.push({ ...placed, target: entry.linkpath });
          break;
      }
    }
    onStreamed?.();
    // Every file complete before links and directory times: creating a file changes its directory's mtime.
    await behind.drain();

    // Every parent first, while the tree holds no symlink that mkdir could follow.
    for (const pending of symlinks) await ensureParent(pending.path);
    await placeSymlinks(root, symlinks, asRoot);
    await applyDirectoryMetadata(root, directories, rootEntry, asRoot, sync);
    if (sync) await fsyncPath(root);
  } finally {
    await behind.settle(); // nothing is still writing when this returns or throws
  }
}
