// Fingerprint a directory on disk (a restored target) by walking it and
// hashing every file's content.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import type { Logger } from "../../runtime/logger.ts";
import { treeFingerprint, type TreeRecord } from "./tree-hash.ts";
import { walkTree } from "./walk.ts";

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function fingerprintDirectory(root: string, log: Logger): Promise<Fingerprint> {
  const entries = await walkTree(root, ({ path, kind }) =>
    log.warn(`files: skipping ${kind} ${join(root, path)}`),
  );
  const records: TreeRecord[] = [];
  for (const entry of entries) {
    if (entry.path === "") continue;
    const absolute = join(root, entry.path);
    const mode = entry.stats.mode & 0o7777;
    if (entry.type === "file") {
      records.push({
        path: entry.path,
        type: "file",
        mode,
        size: entry.stats.size,
        digest: await sha256OfFile(absolute),
      });
    } else if (entry.type === "symlink") {
      records.push({ path: entry.path, type: "symlink", mode: 0, size: 0, digest: await readlink(absolute) });
    } else {
      records.push({ path: entry.path, type: "dir", mode, size: 0, digest: "" });
    }
  }
  return treeFingerprint(records);
}
