// Path facts that guards depend on: where something really is (through
// symlinks, even before it exists) and whether one path lies inside another.

import { open, realpath } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";

/** The canonical path of something that may not exist yet: resolve the nearest existing ancestor. */
export async function canonicalPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return join(await canonicalPath(parent), basename(absolute));
  }
}

/** True when `child` lies strictly below `parent` (both canonical). */
export function isInside(child: string, parent: string): boolean {
  const path = relative(parent, child);
  return path !== "" && !path.startsWith("..") && !isAbsolute(path);
}

/** fsync a file or directory by path: after a rename, the directory's fsync makes the new name durable. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
