// Finding a service's binary (redis-server, nats-server, mariadbd) on this
// host: the directories of PATH first, then the places distributions install
// servers that are often not on PATH (/usr/sbin for a non-root user).

import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";

/** The first executable `name` in PATH or `extraDirs`, or undefined. */
export async function findExecutable(
  name: string,
  extraDirs: readonly string[] = [],
): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
