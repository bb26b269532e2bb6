// A SQLite table restore (options.selection): the snapshot's database is
// saved (verified) to a private temp file, the plan is made on it
// (table-plan.ts) before anything appears beside the target, and a NEW
// database file is built under the hidden partial name holding only the
// chosen tables: their exact CREATE TABLE text, their rows with their rowids
// (ATTACH and INSERT ... SELECT in one transaction), then their indexes,
// triggers and sqlite_sequence entries. integrity_check, the caller's
// fingerprint check on the chosen tables' keys, fsync, rename: the same
// discipline as the whole restore in restore.ts, whose guards it shares.

import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { chmod, chown, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LifeboatError } from "../../errors.ts";
import { fsyncPath, leftoverName, localTargetError } from "../../runtime/paths.ts";
import type {
  EngineContext,
  PartialRestoreSummary,
  RestoreInput,
  RestoreOptions,
  RestoreSelection,
  VerifyScope,
} from "../engine.ts";
import { databaseArtifact } from "./capture.ts";
import { openPrivateCopy } from "./open.ts";
import {
  assertIntegrity,
  checkSqliteTarget,
  keepOldDatabase,
  removeStaleLeftovers,
  restoredOwnership,
  sideFileSuffixes,
} from "./restore.ts";
import { asciiLower } from "./sql-names.ts";
import { checkSqliteSelection, planTableRestore, quoteIdentifier, type TablePlan } from "./table-plan.ts";

/** The attached copy's schema name in our own statements (never stored in the new file). */
const source = "lifeboat_source";

export async function restoreSqliteTables(
  input: RestoreInput,
  target: string,
  selection: RestoreSelection,
  options: RestoreOptions,
  context: EngineContext,
): Promise<PartialRestoreSummary> {
  const wanted = checkSqliteSelection(selection);
  const targetPath = resolve(target);
  await checkSqliteTarget(targetPath, options);
  const copy = join(context.tempDir, `sqlite-partial-source-${randomBytes(6).toString("hex")}.sqlite`);
  const partial = join(dirname(targetPath), leftoverName(`.${basename(targetPath)}`, "partial"));
  try {
    await removeStaleLeftovers(targetPath, context.log);
    await saveCopy(input, copy, context.tempDir);
    context.signal?.throwIfAborted();
    context.onPhase?.("restore");
    const plan = readPlan(copy, wanted, selection.noForeignKeys === true);
    for (const item of plan.leftOut) context.log.info(`sqlite: not restored: ${item}`);
    try {
      buildPartial(partial, copy, plan);
      assertIntegrity(partial, `restored copy of ${targetPath} (${partial})`);
      const { mode, owner } = restoredOwnership(input.engineMeta);
      if (owner && process.getuid?.() === 0) await chown(partial, owner.uid, owner.gid);
      await chmod(partial, mode); // after chown, which would clear setuid/setgid bits
      await fsyncPath(partial);
      await input.verify?.(partial, tablesScope(plan));
      context.signal?.throwIfAborted();
      // WAL mode only now: a read-only reader (the fingerprint) of a WAL file leaves -wal/-shm
      // beside it, which would outlive the rename under the partial name.
      if (isWalFile(copy)) setWalMode(partial);
      for (const suffix of sideFileSuffixes) await rm(partial + suffix, { force: true });
      await fsyncPath(partial);
      const kept = options.preserve ? await keepOldDatabase(targetPath, options.preserve.stamp) : undefined;
      for (const suffix of sideFileSuffixes) await rm(targetPath + suffix, { force: true });
      await rename(partial, targetPath);
      await fsyncPath(dirname(targetPath));
      if (kept) options.preserve!.kept({ kind: "path", location: kept });
    } catch (error) {
      for (const path of [partial, ...sideFileSuffixes.map((suffix) => partial + suffix)]) {
        await rm(path, { force: true });
      }
      throw error;
    }
    context.log.debug(
      `sqlite: restored tables ${plan.tables.map((t) => t.name).join(", ")} into ${targetPath}`,
    );
    return {
      tables: plan.tables.map((table) => table.name),
      dependencies: plan.dependencies,
      leftOut: plan.leftOut,
    };
  } catch (error) {
    throw localTargetError(error, targetPath);
  } finally {
    await rm(copy, { force: true });
  }
}

/** The snapshot's database, verified, in the private temp dir; a full spool says where space is missing. */
async function saveCopy(input: RestoreInput, copy: string, tempDir: string): Promise<void> {
  try {
    await input.artifacts.saveTo(databaseArtifact, copy);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (error instanceof LifeboatError || (code !== "ENOSPC" && code !== "EDQUOT")) throw error;
    throw new LifeboatError(
      "TARGET_FULL",
      `saving the snapshot's database to ${tempDir} failed (${code}): a table restore reads it from a private copy there; free space, or point TMPDIR elsewhere`,
      { details: { tempDir, errno: code }, cause: error },
    );
  }
}

/** Verification covers exactly the chosen tables' row counts and content hashes. */
export function tablesScope(plan: Pick<TablePlan, "tables">): VerifyScope {
  const keys = new Set(plan.tables.flatMap((table) => [`rows:${table.name}`, `content:${table.name}`]));
  return { covers: (key) => keys.has(key) };
}

function readPlan(copy: string, wanted: readonly string[], noForeignKeys: boolean): TablePlan {
  let db: DatabaseSync;
  try {
    db = openPrivateCopy(copy);
  } catch (error) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `the snapshot's database cannot be opened: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    const plan = planTableRestore(db, wanted, noForeignKeys);
    for (const table of plan.tables) checkTableIntegrity(db, table.name);
    return plan;
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    // The bytes were authenticated, so a schema SQLite cannot read was captured that way.
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `reading the schema of the snapshot's database failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    db.close();
  }
}

/**
 * integrity_check of one table and its indexes in the snapshot's copy: damage SQLite can see
 * is named before anything is built, not met halfway through copying rows.
 */
function checkTableIntegrity(db: DatabaseSync, table: string): void {
  let problems: string[];
  try {
    const rows = db.prepare(`PRAGMA integrity_check(${quoteIdentifier(table)})`).all();
    problems = (rows as Record<string, unknown>[]).map((row) => String(Object.values(row)[0]));
  } catch (error) {
    // A page damaged badly enough makes the check itself fail ("database disk image is malformed").
    problems = [(error as Error).message];
  }
  if (problems.length === 1 && problems[0] === "ok") return;
  throw new LifeboatError(
    "VERIFICATION_FAILED",
    `the snapshot's database fails integrity_check for table ${table}: ${problems.slice(0, 5).join("; ")}`,
    { details: { table, problems: problems.slice(0, 20) } },
  );
}

/** SQLite's primary result codes we tell apart while building the new file. */
const sqliteFull = 13;
const sqliteCorrupt = 11;

/** A failure while building: a full disk is TARGET_FULL, a damaged source VERIFICATION_FAILED. */
function buildError(error: unknown, partial: string): unknown {
  if (error instanceof LifeboatError) return error;
  const code = ((error as { errcode?: number }).errcode ?? 0) & 0xff;
  const message = (error as Error).message;
  if (code === sqliteFull) {
    return new LifeboatError(
      "TARGET_FULL",
      `building ${partial} failed: ${message}; the partial copy was removed and the existing target left as it was`,
      { details: { target: partial }, cause: error },
    );
  }
  if (code === sqliteCorrupt) {
    return new LifeboatError("VERIFICATION_FAILED", `reading the snapshot's database failed: ${message}`, {
      cause: error,
    });
  }
  return new LifeboatError("TARGET_UNREACHABLE", `building ${partial} failed: ${message}`, {
    details: { target: partial },
    cause: error,
  });
}

function sqlLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** The copy, attached read-only and immutable: no locks, no side files next to it. */
function sourceUri(copy: string): string {
  const url = new URL("file:");
  url.pathname = copy;
  url.searchParams.set("mode", "ro");
  url.searchParams.set("immutable", "1");
  return url.href;
}

function buildPartial(partial: string, copy: string, plan: TablePlan): void {
  try {
    buildTables(partial, copy, plan);
  } catch (error) {
    throw buildError(error, partial);
  }
}

function buildTables(partial: string, copy: string, plan: TablePlan): void {
  // Foreign keys off: rows are copied as the source held them, in any table order.
  const db = new DatabaseSync(partial, { enableForeignKeyConstraints: false });
  try {
    const { settings } = plan;
    // Before the first table: these are fixed when the file gets its first page.
    db.exec(`PRAGMA page_size = ${settings.pageSize}`);
    db.exec(`PRAGMA encoding = ${sqlLiteral(settings.encoding)}`);
    db.exec(`PRAGMA auto_vacuum = ${settings.autoVacuum}`);
    // A failed build is deleted, never rolled back into: no journal; the file is fsynced once it is complete.
    db.exec("PRAGMA journal_mode = OFF");
    db.exec("PRAGMA synchronous = OFF");
    db.exec(`ATTACH ${sqlLiteral(sourceUri(copy))} AS ${source}`);
    db.exec("BEGIN");
    for (const table of plan.tables) db.exec(table.sql);
    for (const table of plan.tables) copyRows(db, table.name, table.withoutRowid);
    for (const name of plan.sequences) {
      // Copying rows with their rowids sets the entry to the largest rowid; the source's may be higher.
      db.prepare("DELETE FROM main.sqlite_sequence WHERE name = ?").run(name);
      db.prepare(
        `INSERT INTO main.sqlite_sequence(name, seq) SELECT name, seq FROM ${source}.sqlite_sequence WHERE name = ?`,
      ).run(name);
    }
    for (const index of plan.indexes) db.exec(index.sql);
    for (const trigger of plan.triggers) db.exec(trigger.sql);
    db.exec(`PRAGMA user_version = ${settings.userVersion}`);
    db.exec(`PRAGMA application_id = ${settings.applicationId}`);
    db.exec("COMMIT");
    checkSchema(db, plan);
    db.exec(`DETACH ${source}`);
    db.exec("PRAGMA journal_mode = DELETE");
  } finally {
    db.close();
  }
}

/** The journal mode the snapshot's file had (WAL is recorded in the header); closing removes the -wal/-shm. */
function setWalMode(partial: string): void {
  const db = new DatabaseSync(partial);
  try {
    db.exec("PRAGMA journal_mode = WAL");
  } finally {
    db.close();
  }
}

/** Bytes 18 and 19 of the header (file format write and read versions) are 2 in a WAL-mode file. */
function isWalFile(copy: string): boolean {
  const header = Buffer.alloc(20);
  const fd = openSync(copy, "r");
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  return header[18] === 2 && header[19] === 2;
}

function copyRows(db: DatabaseSync, table: string, withoutRowid: boolean): void {
  const columns = (
    db.prepare(`PRAGMA ${source}.table_xinfo(${quoteIdentifier(table)})`).all() as {
      name: string;
      hidden: number;
    }[]
  )
    // Generated columns (hidden 2 and 3) are computed again, never inserted.
    .filter((column) => column.hidden === 0)
    .map((column) => column.name);
  const names = new Set(columns.map(asciiLower));
  // The rowid is data an application may rely on (foreign keys to it, cached ids): keep it,
  // under whichever of its three names no column shadows.
  const rowid = withoutRowid ? undefined : ["rowid", "oid", "_rowid_"].find((alias) => !names.has(alias));
  const list = [...(rowid ? [rowid] : []), ...columns.map(quoteIdentifier)].join(", ");
  db.exec(
    `INSERT INTO main.${quoteIdentifier(table)} (${list}) SELECT ${list} FROM ${source}.${quoteIdentifier(table)}`,
  );
}

/** The new file's schema for what was restored must be the source's, text for text. */
function checkSchema(db: DatabaseSync, plan: TablePlan): void {
  const query = (schema: string) =>
    (
      db
        .prepare(
          `SELECT type, name, tbl_name, sql FROM ${schema}.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name`,
        )
        .all() as { type: string; name: string; tbl_name: string; sql: string }[]
    ).map((row) => JSON.stringify([row.type, row.name, row.tbl_name, row.sql]));
  const restored = new Set(
    [
      ...plan.tables.map((t) => ["table", t.name]),
      ...plan.indexes.map((i) => ["index", i.name]),
      ...plan.triggers.map((t) => ["trigger", t.name]),
    ].map(([type, name]) => `${type}\u0000${name}`),
  );
  const expected = query(source).filter((row) => {
    const [type, name] = JSON.parse(row) as string[];
    return restored.has(`${type}\u0000${name}`);
  });
  const actual = query("main");
  if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      "the restored tables' schema differs from the snapshot's; the restored copy was discarded",
      { details: { expected, actual } },
    );
  }
}
