// Restore a SQLite database file. The artifact is saved (verified) to a
// hidden temp file beside the target, checked with PRAGMA integrity_check,
// fsynced and renamed over the target: the target path only ever holds the
// old file or the complete new one, with the source's mode (and owner, as
// root). A kill leaves at most a `.<name>.lifeboat-partial-<host>-<pid>-*`
// file, which nothing mistakes for the database; the next restore into the
// same target removes it once that process is gone (see runtime/paths.ts).
// A full disk is TARGET_FULL, with the old target untouched.

import { chmod, chown, link, lstat, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { findLeftovers, fsyncPath, leftoverName, localTargetError } from "../../runtime/paths.ts";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { databaseArtifact } from "./capture.ts";
import { freePreservedPath } from "../preserved-paths.ts";

/** Files SQLite keeps beside a database; a stale one would be replayed into the new file and corrupt it. */
export const sideFileSuffixes = ["-wal", "-shm", "-journal"] as const;

/** The guards every restore into `targetPath` passes first: its directory exists, a non-empty file needs --force/--clean. */
export async function checkSqliteTarget(targetPath: string, options: RestoreOptions): Promise<void> {
  const parent = dirname(targetPath);
  const parentInfo = await stat(parent).catch((error: NodeJS.ErrnoException) => error);
  if (parentInfo instanceof Error || !parentInfo.isDirectory()) {
    const why =
      parentInfo instanceof Error && parentInfo.code !== "ENOENT"
        ? `cannot be read (${parentInfo.code})`
        : "does not exist";
    throw new LifeboatError("TARGET_UNREACHABLE", `the directory ${parent} of target ${targetPath} ${why}`, {
      details: { target: targetPath },
    });
  }
  const existing = await lstat(targetPath).catch(() => undefined);
  if (!existing) return;
  if (!existing.isFile()) {
    throw new LifeboatError("TARGET_UNREACHABLE", `target ${targetPath} exists and is not a regular file`, {
      details: { target: targetPath },
    });
  }
  if (existing.size > 0 && !options.force && !options.clean) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `target ${targetPath} already holds a database (${existing.size} bytes)`,
      {
        details: { target: targetPath, size: existing.size },
      },
    );
  }
}

/** Run PRAGMA integrity_check; anything but a single "ok" is VERIFICATION_FAILED naming the file. */
export function assertIntegrity(path: string, label = path): void {
  let db: DatabaseSync | undefined;
  let problems: string[];
  try {
    // Read-write on purpose: closing the last connection removes the -wal/-shm it creates.
    db = new DatabaseSync(path, { open: true });
    const rows = db.prepare("PRAGMA integrity_check").all() as Record<string, unknown>[];
    problems = rows.map((row) => String(Object.values(row)[0]));
  } catch (error) {
    problems = [(error as Error).message];
  } finally {
    db?.close();
  }
  if (problems.length !== 1 || problems[0] !== "ok") {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `integrity_check of ${label} failed: ${problems.slice(0, 5).join("; ")}`,
      {
        details: { path: label, problems: problems.slice(0, 20) },
      },
    );
  }
}

/**
 * The mode (and, when restoring as root, the owner) the restored file gets: the source file's,
 * recorded at capture. Snapshots taken before Lifeboat recorded them get 0644 filtered by the
 * umask: what SQLite itself gives a database it creates (SQLITE_DEFAULT_FILE_PERMISSIONS),
 * rather than the 0600 of the private download.
 */
export function restoredOwnership(meta: Readonly<Record<string, unknown>>): {
  mode: number;
  owner?: { uid: number; gid: number };
} {
  const recorded =
    typeof meta.mode === "string" && /^[0-7]{3,4}$/.test(meta.mode) ? parseInt(meta.mode, 8) : NaN;
  const mode = Number.isNaN(recorded) ? 0o644 & ~process.umask() : recorded;
  const { uid, gid } = meta;
  return Number.isSafeInteger(uid) && Number.isSafeInteger(gid)
    ? { mode, owner: { uid: uid as number, gid: gid as number } }
    : { mode };
}

/** Remove partial copies that killed restores of this target left; never a running restore's. */
export async function removeStaleLeftovers(targetPath: string, log: Logger): Promise<void> {
  for (const leftover of await findLeftovers(dirname(targetPath), `.${basename(targetPath)}`)) {
    if (leftover.owner === "alive") continue;
    if (leftover.owner === "unknown") {
      log.warn(
        `sqlite: ${leftover.path} was left by a restore Lifeboat cannot identify (another host, or an older version); delete it once no restore into ${targetPath} is running`,
      );
      continue;
    }
    await rm(leftover.path, { force: true });
    log.info(
      `sqlite: removed ${leftover.path}, left by restore process ${leftover.pid} of this host, which is gone`,
    );
  }
}

/**
 * Keep the database a restore replaces as `<target>.pre_restore_<stamp>`: a
 * hard link to it (so the target's name still holds the old file until the
 * new one is renamed over it), with its -wal/-journal moved along, since
 * they hold commits the file alone lacks. Undefined: nothing to keep.
 */
export async function keepOldDatabase(targetPath: string, stamp: string): Promise<string | undefined> {
  const existing = await lstat(targetPath).catch(() => undefined);
  if (!existing || existing.size === 0) return undefined;
  const aside = await freePreservedPath(targetPath, stamp, "pre_restore");
  await link(targetPath, aside);
  for (const suffix of sideFileSuffixes)
    await rename(targetPath + suffix, aside + suffix).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
    });
  await fsyncPath(dirname(targetPath));
  return aside;
}

export async function restoreSqlite(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const targetPath = resolve(target);
  await checkSqliteTarget(targetPath, options);
  // Hidden, and named after its process, so a later restore can tell a dead one from a live one.
  const partial = join(dirname(targetPath), leftoverName(`.${basename(targetPath)}`, "partial"));
  try {
    await removeStaleLeftovers(targetPath, context.log);
    await input.artifacts.saveTo(databaseArtifact, partial);
    context.signal?.throwIfAborted();
    // Fetched and verified: from here on the time is SQLite's own check and the swap.
    context.onPhase?.("restore");
    assertIntegrity(partial, `restored copy of ${targetPath} (${partial})`);
    const { mode, owner } = restoredOwnership(input.engineMeta);
    if (owner && process.getuid?.() === 0) await chown(partial, owner.uid, owner.gid);
    await chmod(partial, mode); // after chown, which would clear setuid/setgid bits
    await fsyncPath(partial);
    // The caller's fingerprint check runs on the complete copy, before it takes the target's name.
    await input.verify?.(partial);
    context.signal?.throwIfAborted();
    // Side files of the old database must go before the new file takes its name: a -wal left
    // next to the new file would be replayed into it. If we are killed in between, the old
    // database loses only un-checkpointed commits, and the caller asked to replace it anyway.
    const kept = options.preserve ? await keepOldDatabase(targetPath, options.preserve.stamp) : undefined;
    for (const suffix of sideFileSuffixes) await rm(targetPath + suffix, { force: true });
    await rename(partial, targetPath);
    if (kept) options.preserve!.kept({ kind: "path", location: kept });
    await fsyncPath(dirname(targetPath));
    context.log.debug(`sqlite: restored ${targetPath}`);
  } catch (error) {
    for (const path of [partial, ...sideFileSuffixes.map((suffix) => partial + suffix)]) {
      await rm(path, { force: true });
    }
    // ENOSPC while saving is TARGET_FULL, EACCES TARGET_UNREACHABLE: never an INTERNAL "bug".
    throw localTargetError(error, targetPath);
  }
}
