// Restore a SQLite database file. The artifact is saved (verified) to a
// hidden temp file beside the target, checked with PRAGMA integrity_check,
// fsynced and renamed over the target: the target path only ever holds the
// old file or the complete new one. A kill leaves at most a
// `.<name>.lifeboat-partial-*` file, which nothing mistakes for the database.

import { randomBytes } from "node:crypto";
import { lstat, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LifeboatError } from "../../errors.ts";
import { fsyncPath } from "../../runtime/paths.ts";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { databaseArtifact } from "./capture.ts";

/** Files SQLite keeps beside a database; a stale one would be replayed into the new file and corrupt it. */
export const sideFileSuffixes = ["-wal", "-shm", "-journal"] as const;

async function checkTarget(targetPath: string, options: RestoreOptions): Promise<void> {
  const parent = dirname(targetPath);
  const parentInfo = await stat(parent).catch(() => undefined);
  if (!parentInfo?.isDirectory()) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `the directory ${parent} of target ${targetPath} does not exist`,
      {
        details: { target: targetPath },
      },
    );
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

export async function restoreSqlite(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const targetPath = resolve(target);
  await checkTarget(targetPath, options);
  const partial = join(
    dirname(targetPath),
    `.${basename(targetPath)}.lifeboat-partial-${randomBytes(6).toString("hex")}`,
  );
  try {
    await input.artifacts.saveTo(databaseArtifact, partial);
    context.signal?.throwIfAborted();
    // Fetched and verified: from here on the time is SQLite's own check and the swap.
    context.onPhase?.("restore");
    assertIntegrity(partial, `restored copy of ${targetPath} (${partial})`);
    await fsyncPath(partial);
    // Side files of the old database must go before the new file takes its name: a -wal left
    // next to the new file would be replayed into it. If we are killed in between, the old
    // database loses only un-checkpointed commits, and the caller asked to replace it anyway.
    for (const suffix of sideFileSuffixes) await rm(targetPath + suffix, { force: true });
    await rename(partial, targetPath);
    await fsyncPath(dirname(targetPath));
    context.log.debug(`sqlite: restored ${targetPath}`);
  } catch (error) {
    for (const path of [partial, ...sideFileSuffixes.map((suffix) => partial + suffix)]) {
      await rm(path, { force: true });
    }
    throw error;
  }
}
