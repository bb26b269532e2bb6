// Fingerprint a directory on disk (a restored target) by walking it and
// hashing every file's content; names and link targets as raw bytes.

import { createHash } from "node:crypto";
import { open, readlink } from "node:fs/promises";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { displayPath, underRoot } from "./raw-path.ts";
import { readFully, SCAN_CHUNK } from "./sparse.ts";
import { treeFingerprint, type TreeRecord } from "./tree-hash.ts";
import { walkTree } from "./walk.ts";

/** One reused 1 MiB buffer and positional reads: twice as fast as a read stream on big (sparse) files. */
async function sha256OfFile(path: Buffer): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(SCAN_CHUNK);
    for (let position = 0; ;) {
      const got = await readFully(handle, buffer, buffer.length, position);
      if (got === 0) break;
      hash.update(buffer.subarray(0, got));
      position += got;
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex");
}

function unreadable(error: unknown, path: Buffer): LifeboatError {
  const shown = displayPath(path);
  return new LifeboatError(
    "TARGET_UNREACHABLE",
    `restored path ${shown} cannot be read: ${(error as Error).message}`,
    {
      details: { path: shown },
      cause: error,
    },
  );
}

export async function fingerprintDirectory(root: string, log: Logger): Promise<Fingerprint> {
  const rootBytes = Buffer.from(root);
  const entries = await walkTree(root, {
    onSkipped: ({ path, kind }) =>
      log.warn(`files: skipping ${kind} ${displayPath(underRoot(rootBytes, path))}`),
    onFailure: unreadable,
  });
  const records: TreeRecord[] = [];
  for (const entry of entries) {
    if (entry.path.length === 0) continue;
    const absolute = underRoot(rootBytes, entry.path);
    const mode = entry.stats.mode & 0o7777;
    try {
      if (entry.type === "file") {
        const digest = await sha256OfFile(absolute);
        records.push({ path: entry.path, type: "file", mode, size: entry.stats.size, digest });
      } else if (entry.type === "symlink") {
        const target = await readlink(absolute, { encoding: "buffer" });
        records.push({ path: entry.path, type: "symlink", mode: 0, size: 0, digest: target });
      } else {
        records.push({ path: entry.path, type: "dir", mode, size: 0, digest: "" });
      }
    } catch (error) {
      throw unreadable(error, absolute);
    }
  }
  return treeFingerprint(records);
}
