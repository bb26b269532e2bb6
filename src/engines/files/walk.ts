// A deterministic walk of a directory tree: parents before children,
// siblings in byte order of their UTF-8 names, symlinks not followed. Capture
// archives entries in this order, so an unchanged tree gives identical bytes.

import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

export type TreeEntryType = "file" | "dir" | "symlink";

export interface TreeEntry {
  /** Relative to the root with "/" separators; "" is the root itself. */
  readonly path: string;
  readonly type: TreeEntryType;
  readonly stats: Stats;
}

/** Sockets, FIFOs and devices cannot be restored as data: they are skipped and reported. */
export type SkippedEntry = { readonly path: string; readonly kind: string };

export function byUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, "utf8"), Buffer.from(right, "utf8"));
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
export async function walkTree(
  root: string,
  onSkipped: (skipped: SkippedEntry) => void,
): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  const visit = async (relative: string): Promise<void> => {
    const stats = await lstat(relative === "" ? root : join(root, relative));
    const kind = kindOf(stats);
    if (kind !== "file" && kind !== "dir" && kind !== "symlink") {
      onSkipped({ path: relative, kind });
      return;
    }
    entries.push({ path: relative, type: kind, stats });
    if (kind !== "dir") return;
    const names = (await readdir(relative === "" ? root : join(root, relative))).sort(byUtf8);
    for (const name of names) await visit(relative === "" ? name : `${relative}/${name}`);
  };
  await visit("");
  return entries;
}
