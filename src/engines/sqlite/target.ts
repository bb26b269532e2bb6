// Looking at a SQLite target without changing it: what is there, what does
// it hold, and is it the source itself.

import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { FingerprintOptions, TargetState } from "../engine.ts";
import { fingerprintDatabase } from "./fingerprint.ts";
import { openExistingReadOnly } from "./open.ts";

export async function inspectSqliteTarget(target: string): Promise<TargetState> {
  const path = resolve(target);
  const info = await stat(path).catch(() => undefined);
  if (!info) return { exists: false, empty: true, description: `SQLite file ${path} (does not exist)` };
  if (!info.isFile())
    return { exists: true, empty: false, description: `${path} (exists and is not a regular file)` };
  if (info.size === 0) return { exists: true, empty: true, description: `SQLite file ${path} (empty)` };
  return { exists: true, empty: false, description: `SQLite file ${path} (${info.size} bytes)` };
}

export async function fingerprintSqliteTarget(
  target: string,
  options: FingerprintOptions = {},
): Promise<Fingerprint> {
  const db = await openExistingReadOnly(resolve(target), "TARGET_UNREACHABLE", "SQLite target");
  try {
    return fingerprintDatabase(db, { contentHashes: options.contentHashes === true });
  } catch (error) {
    // The file opened but its tables cannot be read: the restored data is not what was captured.
    throw new LifeboatError("VERIFICATION_FAILED", `reading ${target} failed: ${(error as Error).message}`, {
      details: { target },
      cause: error,
    });
  } finally {
    db.close();
  }
}

/** The canonical path of a file that may not exist yet: resolve its directory's symlinks. */
async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = await realpath(dirname(absolute)).catch(() => dirname(absolute));
    return join(parent, basename(absolute));
  }
}

export async function isSameSqliteFile(sourcePath: string, target: string): Promise<boolean> {
  const [sourceInfo, targetInfo] = await Promise.all([
    stat(resolve(sourcePath)).catch(() => undefined),
    stat(resolve(target)).catch(() => undefined),
  ]);
  // Hard links and bind mounts give one file two names: dev+inode sees through both.
  if (sourceInfo && targetInfo) return sourceInfo.dev === targetInfo.dev && sourceInfo.ino === targetInfo.ino;
  return (await canonicalPath(sourcePath)) === (await canonicalPath(target));
}
