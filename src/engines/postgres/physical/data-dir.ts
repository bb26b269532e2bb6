// The target data directory of an operator's point-in-time restore: who may
// own it, whether a server runs in it, and the move of the complete copy into
// place (the old contents go only after the new ones are there).

import { randomBytes } from "node:crypto";
import { chown, lstat, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { LifeboatError } from "../../../errors.ts";
import type { EngineContext, PreserveRequest } from "../../engine.ts";
import { freePreservedPath } from "../../preserved-paths.ts";

export interface ServerOwner {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** As root, files go to the postgres system user (the server refuses to run as root). */
export async function serverOwner(context: EngineContext): Promise<ServerOwner | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    context.runner.run("id", ["-u", "postgres"]),
    context.runner.run("id", ["-g", "postgres"]),
  ]);
  if (!uid.ok || !gid.ok) return undefined;
  return { name: "postgres", uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function chownTree(
  dir: string,
  owner: { readonly uid: number; readonly gid: number },
): Promise<void> {
  await chown(dir, owner.uid, owner.gid);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isSymbolicLink()) continue;
    await chown(path, owner.uid, owner.gid);
  }
}

export async function inspectDirectory(
  dir: string,
): Promise<{ entries: number; running: number | undefined }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: 0, running: undefined };
    if ((error as NodeJS.ErrnoException).code === "ENOTDIR") {
      throw new LifeboatError("TARGET_NOT_EMPTY", `${dir} is a file, not a directory`);
    }
    throw error;
  }
  let running: number | undefined;
  if (names.includes("postmaster.pid")) {
    const pid = Number((await readFile(join(dir, "postmaster.pid"), "utf8").catch(() => "")).split("\n")[0]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) running = pid;
  }
  return { entries: names.length, running };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Move the complete partial directory to `target`; a replaced old one is
 * removed only after the move, or kept as `<target>.pre_restore_<stamp>`.
 */
export async function swapInto(
  partial: string,
  target: string,
  replacing: boolean,
  preserve?: PreserveRequest,
): Promise<void> {
  const exists = await lstat(target).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await rename(partial, target);
    return;
  }
  if (!replacing) {
    await rmdir(target); // empty: inspectDirectory counted no entries
    await rename(partial, target);
    return;
  }
  const aside = preserve
    ? await freePreservedPath(target, preserve.stamp, "pre_restore")
    : `${target}.lifeboat-replaced-${randomBytes(4).toString("hex")}`;
  await rename(target, aside);
  await rename(partial, target);
  if (preserve) preserve.kept({ kind: "path", location: aside });
  else await rm(aside, { recursive: true, force: true });
}
