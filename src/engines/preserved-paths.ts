// `restore --undo` and `preserved drop` for engines whose targets are paths
// (files: a directory; sqlite: a file and its -wal/-journal). Undo renames
// the restored target aside as `<path>.pre_undo_<stamp>` and the kept copy
// back to the target's name: two renames, so a kill in between leaves the
// target's name empty with both copies beside it, named. Drop removes only a
// `pre_restore`/`pre_undo` copy beside the target.

import { rename, rm } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { LifeboatError } from "../errors.ts";
import { fsyncPath, pathExists } from "../runtime/paths.ts";
import type { PreservedCopy, PreserveRequest } from "./engine.ts";
import { firstFreeName, isPreservedName, preservedPath, type PreserveMarker } from "./preserved-names.ts";

/** A free `<path>.<marker>_<stamp>` (`_2`, `_3` when two copies share a second). */
export function freePreservedPath(path: string, stamp: string, marker: PreserveMarker): Promise<string> {
  return firstFreeName(preservedPath(path, stamp, marker), pathExists);
}

async function renameWithSideFiles(from: string, to: string, sideSuffixes: readonly string[]): Promise<void> {
  await rename(from, to);
  for (const suffix of sideSuffixes)
    await rename(from + suffix, to + suffix).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
}

export async function swapBackPath(
  target: string,
  copy: PreservedCopy,
  aside: PreserveRequest,
  sideSuffixes: readonly string[] = [],
): Promise<void> {
  const targetPath = resolve(target);
  if (!(await pathExists(copy.location))) {
    throw new LifeboatError(
      "PRESERVED_MISSING",
      `the kept copy ${copy.location} is gone: there is nothing to swap back into ${targetPath}`,
    );
  }
  if (await pathExists(targetPath)) {
    const moved = await freePreservedPath(targetPath, aside.stamp, "pre_undo");
    await renameWithSideFiles(targetPath, moved, sideSuffixes);
    aside.kept({ kind: "path", location: moved });
  }
  await renameWithSideFiles(copy.location, targetPath, sideSuffixes);
  await fsyncPath(dirname(targetPath));
}

export async function dropPreservedPath(
  target: string,
  copy: PreservedCopy,
  sideSuffixes: readonly string[] = [],
  remove: (path: string) => Promise<void> = (path) => rm(path, { recursive: true, force: true }),
): Promise<void> {
  const targetPath = resolve(target);
  const location = resolve(copy.location);
  // Only ever a kept copy beside its own target: never the target, never anything else.
  if (
    dirname(location) !== dirname(targetPath) ||
    !basename(location).startsWith(`${basename(targetPath)}.`) ||
    !isPreservedName(location)
  ) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${location} is not a copy a restore kept beside ${targetPath}: Lifeboat removes only <target>.pre_restore_* and <target>.pre_undo_* copies`,
    );
  }
  await remove(location);
  for (const suffix of sideSuffixes) await rm(location + suffix, { force: true });
}
