// The files fingerprint. Capture computes it from the very bytes it stores,
// restore verification from a walk of the restored directory; both reduce
// the tree to the same records, so the two can be compared exactly.

import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import type { TreeEntryType } from "./walk.ts";

export interface TreeRecord {
  /** Relative path, raw bytes with "/" separators; the root itself is not a record. */
  readonly path: Buffer;
  readonly type: TreeEntryType;
  /** Permission bits (mode & 0o7777); 0 for symlinks, whose mode means nothing on Linux. */
  readonly mode: number;
  /** Content length for files (the real size of a sparse file), 0 otherwise. */
  readonly size: number;
  /** Content SHA-256 (hex) for files, the link target (raw bytes) for symlinks, "" for directories. */
  readonly digest: string | Buffer;
}

/**
 * A name in the hash: as a JSON string when it is UTF-8 (which is every name
 * Lifeboat could store before raw names, so their fingerprints are
 * unchanged), else as {"bytes": hex}, which no string can collide with.
 */
function hashable(value: string | Buffer): string | { bytes: string } {
  if (typeof value === "string") return value;
  return isUtf8(value) ? value.toString("utf8") : { bytes: value.toString("hex") };
}

/**
 * counts: files, directories, symlinks, bytes (a hard-linked file counts once per name);
 * hashes.tree: SHA-256 over the records sorted by the bytes of their paths. Owners and
 * mtimes are restored but not compared: a restore as another user must still verify.
 */
export function treeFingerprint(records: Iterable<TreeRecord>): Fingerprint {
  const sorted = [...records].sort((left, right) => Buffer.compare(left.path, right.path));
  const counts = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  const tree = createHash("sha256");
  for (const record of sorted) {
    if (record.type === "file") counts.files++;
    if (record.type === "dir") counts.directories++;
    if (record.type === "symlink") counts.symlinks++;
    counts.bytes += record.size;
    const fields = [hashable(record.path), record.type, record.mode, record.size, hashable(record.digest)];
    tree.update(JSON.stringify(fields) + "\n");
  }
  return { counts, hashes: { tree: tree.digest("hex") } };
}
