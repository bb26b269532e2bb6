// `mkdir -p` that always finishes. Node's mkdir({ recursive: true }) never
// returns on a path whose parent refuses creation with ENOENT at every level
// (under /proc, say): it retries in the thread pool at 100% CPU, and no
// signal can stop it. Creating one level at a time fails at once instead.

import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * Create `dir` and any missing parents. Returns the first directory created
 * (as mkdir's recursive mode does), or undefined when `dir` existed.
 */
export async function makeDirectories(dir: string, mode?: number): Promise<string | undefined> {
  const missing: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) {
        throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${current}'`), {
          code: "ENOTDIR",
          path: current,
        });
      }
      break;
    }
    missing.unshift(current);
    if (dirname(current) === current) break;
  }
  for (const level of missing) {
    await mkdir(level, mode === undefined ? undefined : { mode }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error; // another process made it meanwhile: fine
    });
  }
  return missing[0];
}
