// Capture a SQLite database with SQLite's online backup API. The backup copy
// is the consistent point: it is fingerprinted and then streamed, so the
// stored bytes and the fingerprint describe exactly the same database.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { backup, type DatabaseSync } from "node:sqlite";
import type { SqliteSourceConfig } from "./config.ts";
import { LifeboatError } from "../../errors.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { recordObjects } from "./describe.ts";
import { fingerprintDatabase } from "./fingerprint.ts";
import { openExistingReadOnly, openPrivateCopy } from "./open.ts";

export const databaseArtifact = "database.sqlite";

/**
 * Copy every page in one backup step. A step holds one read transaction on the
 * source, so the copy can never restart or mix two states: in WAL mode writers
 * carry on meanwhile; in rollback-journal mode they wait (busy) for the step.
 * node:sqlite rejects -1 ("all pages"), so we pass the largest rate it accepts.
 */
const allPagesInOneStep = 2 ** 31 - 1;
/** SQLite's result code for "database or disk is full". */
const sqliteFull = 13;

function pragma(db: DatabaseSync, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  return row ? Object.values(row)[0] : undefined;
}

export async function captureSqlite(
  source: SqliteSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const path = resolve(source.path);
  const copyPath = join(context.tempDir, `sqlite-${randomBytes(6).toString("hex")}.sqlite`);
  const db = await openExistingReadOnly(path, "SOURCE_UNREACHABLE", "SQLite source");
  let engineMeta: Record<string, unknown>;
  let consistentAt: string;
  try {
    const file = await stat(path);
    engineMeta = {
      sqlite_version: (db.prepare("SELECT sqlite_version() AS v").get() as { v: string }).v,
      page_size: pragma(db, "page_size"),
      journal_mode: pragma(db, "journal_mode"),
      path,
      // Restore gives the file back its mode (and, as root, its owner): an app must still open it.
      mode: (file.mode & 0o7777).toString(8).padStart(4, "0"),
      uid: file.uid,
      gid: file.gid,
    };
    context.signal?.throwIfAborted();
    // SQLite has no server clock: the consistent point is on this machine's clock. We take it
    // just before the backup step opens its read transaction, so every write committed before
    // consistentAt is in the copy (taking the completion time instead would overstate freshness
    // by the copy's duration in WAL mode, where writers commit while the step runs).
    consistentAt = new Date().toISOString();
    await backup(db, copyPath, { rate: allPagesInOneStep });
  } catch (error) {
    await rm(copyPath, { force: true });
    if (error instanceof LifeboatError || context.signal?.aborted) throw error;
    // SQLITE_FULL here is the spool, not the source: say where space is missing.
    const full = (error as { errcode?: number }).errcode === sqliteFull;
    throw new LifeboatError(
      "SOURCE_TOOL_FAILED",
      `SQLite backup of ${path} failed: ${(error as Error).message}` +
        (full
          ? ` (the copy is spooled in ${context.tempDir}: free space there, or point TMPDIR elsewhere)`
          : ""),
      { details: { path }, cause: error },
    );
  } finally {
    db.close();
  }

  try {
    const copy = openPrivateCopy(copyPath);
    let fingerprint;
    try {
      fingerprint = fingerprintDatabase(copy, { contentHashes: source.content_hashes === true });
      // Names and types only, so `ls` shows indexes, views and triggers without fetching the file.
      engineMeta.objects = recordObjects(copy);
    } catch (error) {
      // A source SQLite copies page by page but cannot read back (a damaged b-tree): not a Lifeboat bug.
      throw new LifeboatError(
        "SOURCE_TOOL_FAILED",
        `reading the backup copy of ${path} failed: ${(error as Error).message} (is the source database damaged? try PRAGMA integrity_check on it)`,
        { details: { path }, cause: error },
      );
    } finally {
      copy.close();
    }
    // A file read stream reads into a fresh buffer each time, and nothing else reads them: handed over.
    await sink.write(databaseArtifact, createReadStream(copyPath), { handOver: true });
    context.log.debug(`sqlite: captured ${path} (${Object.keys(fingerprint.counts).length} counters)`);
    return { consistentAt, engineMeta, fingerprint };
  } finally {
    await rm(copyPath, { force: true });
  }
}
