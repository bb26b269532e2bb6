// The files fingerprint. Capture computes it from the tar stream it stores,
// restore verification from a walk of the restored directory; both reduce
// the tree to the same records, so the two can be compared exactly.

import { createHash } from "node:crypto";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { byUtf8, type TreeEntryType } from "./walk.ts";

export interface TreeRecord {
  /** Relative path with "/" separators; the root itself is not a record. */
  readonly path: string;
  readonly type: TreeEntryType;
  /** Permission bits (mode & 0o7777); 0 for symlinks, whose mode means nothing on Linux. */
  readonly mode: number;
  /** Content length for files, 0 otherwise. */
  readonly size: number;
  /** Content SHA-256 (hex) for files, the link target for symlinks, "" for directories. */
  readonly digest: string;
}

/**
 * counts: files, directories, symlinks, bytes (a hard-linked file counts once per name);
 * hashes.tree: SHA-256 over the records sorted by path. Owners and mtimes are restored
 * but not compared: a restore as another user must still verify.
 */
export function treeFingerprint(records: Iterable<TreeRecord>): Fingerprint {
  const sorted = [...records].sort((left, right) => byUtf8(left.path, right.path));
  const counts = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  const tree = createHash("sha256");
  for (const record of sorted) {
    if (record.type === "file") counts.files++;
    if (record.type === "dir") counts.directories++;
    if (record.type === "symlink") counts.symlinks++;
    counts.bytes += record.size;
    tree.update(JSON.stringify([record.path, record.type, record.mode, record.size, record.digest]) + "\n");
  }
  return { counts, hashes: { tree: tree.digest("hex") } };
}
