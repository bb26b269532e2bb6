// A deterministic walk of a directory tree: parents before children,
// siblings in byte order of their names, symlinks not followed. Names are
// read as raw bytes (never assumed to be UTF-8, see raw-path.ts). Capture
// archives entries in this order, so an unchanged tree gives identical bytes.

import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { childPath, underRoot } from "./raw-path.ts";

export type TreeEntryType = "file" | "dir" | "symlink";

export interface TreeEntry {
  /** Relative to the root, raw bytes with "/" separators; empty for the root itself. */
  readonly path: Buffer;
  readonly type: TreeEntryType;
  readonly stats: Stats;
}

/** Sockets, FIFOs and devices cannot be restored as data: they are skipped and reported. */
export type SkippedEntry = { readonly path: Buffer; readonly kind: string };

export interface WalkOptions {
  readonly onSkipped: (skipped: SkippedEntry) => void;
  /** Turn a failed lstat/readdir (EACCES, EIO, ...) of `path` (absolute, raw) into the caller's error. */
  readonly onFailure: (error: NodeJS.ErrnoException, path: Buffer) => Error;
}

function kindOf(stats: Stats): TreeEntryType | string {
  if (stats.isFile()) return "file";
  if (stats.isDirectory()) return "dir";
  if (stats.isSymbolicLink()) return "symlink";
  if (stats.isSocket()) return "socket";
  if (stats.isFIFO()) return "fifo";
  if (stats.isBlockDevice()) return "block device";
  if (stats.isCharacterDevice()) return "character device";
  return "unknown";
}

/** Walk `root` (which must be a directory); the root itself is the first entry. */
export async function walkTree(root: string, options: WalkOptions): Promise<TreeEntry[]> {
  const rootBytes = Buffer.from(root);
  const entries: TreeEntry[] = [];
  const visit = async (relative: Buffer): Promise<void> => {
    const absolute = underRoot(rootBytes, relative);
    let stats: Stats;
    try {
      stats = await lstat(absolute);
    } catch (error) {
      // A name listed a moment ago and gone now was deleted while we walked: as if before.
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && relative.length > 0) return;
      throw options.onFailure(error as NodeJS.ErrnoException, absolute);
    }
    const kind = kindOf(stats);
    if (kind !== "file" && kind !== "dir" && kind !== "symlink") {
      options.onSkipped({ path: relative, kind });
      return;
    }
    entries.push({ path: relative, type: kind, stats });
    if (kind !== "dir") return;
    let names: Buffer[];
    try {
      names = await readdir(absolute, { encoding: "buffer" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" && relative.length > 0) return;
      throw options.onFailure(error as NodeJS.ErrnoException, absolute);
    }
    names.sort(Buffer.compare);
    for (const name of names) await visit(childPath(relative, name));
  };
  await visit(Buffer.alloc(0));
  return entries;
}
