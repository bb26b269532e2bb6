// Path facts that guards depend on: where something really is (through
// symlinks, even before it exists), whether one path lies inside another,
// what a failed write of a local target means, and which leftovers of
// earlier restores beside a target are provably dead.

import { createHash, randomBytes } from "node:crypto";
import { lstat, open, readdir, realpath } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { LifeboatError } from "../errors.ts";

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
/** Whether anything (a file, a directory, a dangling link) is at `path`. */
export function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

export async function fsyncPath(path: string | Buffer): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What went wrong writing a local target, as the error a user can act on (never INTERNAL). */
export function localTargetError(error: unknown, target: string): unknown {
  if (error instanceof LifeboatError) return error;
  const failure = error as NodeJS.ErrnoException;
  if (failure.code === "ENOSPC" || failure.code === "EDQUOT") {
    const why = failure.code === "ENOSPC" ? "no space left on its filesystem" : "the disk quota is exceeded";
    return new LifeboatError(
      "TARGET_FULL",
      `restoring into ${target} failed: ${why} (${failure.code}); the partial copy was removed and the existing target left as it was`,
      { details: { target, errno: failure.code }, cause: error },
    );
  }
  return new LifeboatError("TARGET_UNREACHABLE", `restoring into ${target} failed: ${failure.message}`, {
    details: { target, ...(failure.code ? { errno: failure.code } : {}) },
    cause: error,
  });
}

/** This host in leftover names: a short hash of its hostname (names stay short, any hostname fits). */
const hostTag = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);

export type LeftoverKind = "partial" | "old";

/**
 * The name of a partial (or set-aside) copy of `base`:
 * `<base>.lifeboat-<kind>-<host>-<pid>-<random>`. The host tag and pid prove
 * which process made it, so a later restore can remove it once that process
 * is gone, and never while it runs.
 */
export function leftoverName(base: string, kind: LeftoverKind): string {
  return `${base}.lifeboat-${kind}-${hostTag}-${process.pid}-${randomBytes(6).toString("hex")}`;
}

export interface Leftover {
  readonly path: string;
  readonly kind: LeftoverKind;
  /**
   * dead: made by a process of this host that no longer runs; alive: it still runs;
   * unknown: made on another host, or named before pids were recorded.
   */
  readonly owner: "dead" | "alive" | "unknown";
  readonly pid?: number;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH"; // EPERM: it runs, as another user
  }
}

/**
 * Leftovers of earlier restores of `base` in `directory`: partial copies and set-aside old
 * targets, including files that carry such a name plus a suffix (a -journal, a temp file of
 * the same restore). Nothing is removed here.
 */
export async function findLeftovers(directory: string, base: string): Promise<Leftover[]> {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`^${escaped}\\.lifeboat-(partial|old)-(?:([0-9a-f]{8})-(\\d+)-)?[0-9a-f]{8,12}`);
  const names = await readdir(directory).catch(() => [] as string[]);
  const leftovers: Leftover[] = [];
  for (const name of names.sort()) {
    const match = pattern.exec(name);
    if (!match) continue;
    const [, kind, host, pidText] = match;
    const pid = pidText === undefined ? undefined : Number(pidText);
    const owner = pid === undefined || host !== hostTag ? "unknown" : isRunning(pid) ? "alive" : "dead";
    leftovers.push({
      path: join(directory, name),
      kind: kind as LeftoverKind,
      owner,
      ...(pid ? { pid } : {}),
    });
  }
  return leftovers;
}
