// Moving a verified partial database into the target. MariaDB has no
// RENAME DATABASE, so the tables move with ONE `RENAME TABLE p.t1 TO d.t1,
// ...` statement (atomic: all or none; with --clean the old tables leave for
// `<target>_lifeboat_old_<hex>` in the same statement), and everything that
// cannot cross databases that way is re-created afterwards from the
// partial's own definitions: views (their definition names the partial
// database and is rewritten), routines, triggers (which must be dropped
// before their table may change database) and events, each under the
// session settings it was defined with.

import type * as mariadb from "mariadb";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { quoteIdent, rows } from "./connection.ts";
import { readDatabaseState } from "./target.ts";

type Row = Record<string, unknown>;

interface Definition {
  readonly kind: "view" | "trigger" | "procedure" | "function" | "event";
  readonly name: string;
  readonly sql: string;
  readonly settings: Readonly<Record<string, string>>;
}

export interface SwapPlan {
  readonly partial: string;
  readonly old: string;
  readonly target: string;
  readonly charset: { charset: string; collation: string } | undefined;
  readonly clean: boolean;
  /** Keep the old tables in this database instead of dropping them (restore's default); `old` otherwise. */
  readonly preserveAs?: string;
}

function text(row: Row | undefined, column: string): string {
  const value = row?.[column];
  return Buffer.isBuffer(value) ? value.toString("utf8") : String(value ?? "");
}

function settingsOf(row: Row | undefined, withTimeZone = false): Record<string, string> {
  const settings: Record<string, string> = {};
  if (row?.sql_mode !== undefined) settings.sql_mode = text(row, "sql_mode");
  if (row?.character_set_client !== undefined)
    settings.character_set_client = text(row, "character_set_client");
  if (row?.collation_connection !== undefined)
    settings.collation_connection = text(row, "collation_connection");
  if (withTimeZone && row?.time_zone !== undefined) settings.time_zone = text(row, "time_zone");
  return settings;
}

async function readDefinitions(connection: mariadb.Connection, database: string): Promise<Definition[]> {
  const db = quoteIdent(database);
  // With the partial as the current database the server prints its objects unqualified.
  await connection.query(`USE ${db}`);
  const definitions: Definition[] = [];
  const names = async (sql: string) =>
    await rows<{ name: string; type?: string }>(connection, sql, [database]);
  for (const { name, type } of await names(
    "SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
  )) {
    const kind = type === "FUNCTION" ? "function" : "procedure";
    const [row] = await rows<Row>(connection, `SHOW CREATE ${kind.toUpperCase()} ${db}.${quoteIdent(name)}`);
    const column = kind === "function" ? "Create Function" : "Create Procedure";
    definitions.push({ kind, name, sql: text(row, column), settings: settingsOf(row) });
  }
  for (const { name } of await names(
    "SELECT TABLE_NAME AS name FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
  )) {
    const [row] = await rows<Row>(connection, `SHOW CREATE VIEW ${db}.${quoteIdent(name)}`);
    const sql = text(row, "Create View").split(`${db}.`).join("");
    definitions.push({ kind: "view", name, sql, settings: settingsOf(row) });
  }
  for (const { name } of await names(
    "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
  )) {
    const [row] = await rows<Row>(connection, `SHOW CREATE TRIGGER ${db}.${quoteIdent(name)}`);
    definitions.push({
      kind: "trigger",
      name,
      sql: text(row, "SQL Original Statement"),
      settings: settingsOf(row),
    });
  }
  for (const { name } of await names(
    "SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME",
  )) {
    const [row] = await rows<Row>(connection, `SHOW CREATE EVENT ${db}.${quoteIdent(name)}`);
    definitions.push({
      kind: "event",
      name,
      sql: text(row, "Create Event"),
      settings: settingsOf(row, true),
    });
  }
  return definitions;
}

/** Tables (and sequences) of a database: what RENAME TABLE moves. */
async function movableTables(connection: mariadb.Connection, database: string): Promise<string[]> {
  const found = await rows<{ name: string }>(
    connection,
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' ORDER BY TABLE_NAME",
    [database],
  );
  return found.map((row) => row.name);
}

/** Drop a database's views, triggers, routines and events (what cannot move with its tables). */
async function dropNonTables(
  connection: mariadb.Connection,
  database: string,
  kinds: readonly Definition["kind"][],
) {
  const db = quoteIdent(database);
  const query = (sql: string) => rows<{ name: string; type?: string }>(connection, sql, [database]);
  if (kinds.includes("trigger")) {
    for (const { name } of await query(
      "SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
    ))
      await connection.query(`DROP TRIGGER ${db}.${quoteIdent(name)}`);
  }
  if (kinds.includes("view")) {
    for (const { name } of await query(
      "SELECT TABLE_NAME AS name FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
    ))
      await connection.query(`DROP VIEW IF EXISTS ${db}.${quoteIdent(name)}`);
  }
  if (kinds.includes("procedure")) {
    for (const { name, type } of await query(
      "SELECT ROUTINE_NAME AS name, ROUTINE_TYPE AS type FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
    ))
      await connection.query(
        `DROP ${type === "FUNCTION" ? "FUNCTION" : "PROCEDURE"} ${db}.${quoteIdent(name)}`,
      );
  }
  if (kinds.includes("event")) {
    for (const { name } of await query(
      "SELECT EVENT_NAME AS name FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
    ))
      await connection.query(`DROP EVENT ${db}.${quoteIdent(name)}`);
  }
}

/** Create one object under the session settings it was defined with, then restore the session's own. */
async function createWith(connection: mariadb.Connection, definition: Definition): Promise<void> {
  const names = Object.keys(definition.settings);
  if (names.length > 0) {
    const saved = await rows<Row>(
      connection,
      `SELECT ${names.map((name) => `@@SESSION.${name} AS ${name}`).join(", ")}`,
    );
    await connection.query(
      `SET ${names.map((name) => `SESSION ${name} = ?`).join(", ")}`,
      names.map((name) => definition.settings[name]),
    );
    try {
      await connection.query(definition.sql);
    } finally {
      await connection.query(
        `SET ${names.map((name) => `SESSION ${name} = ?`).join(", ")}`,
        names.map((name) => text(saved[0], name)),
      );
    }
  } else {
    await connection.query(definition.sql);
  }
}

/** Views may select from each other: create them in rounds until none is left or a round makes no progress. */
async function createViews(connection: mariadb.Connection, views: readonly Definition[]): Promise<void> {
  let pending = [...views];
  while (pending.length > 0) {
    const failed: { definition: Definition; error: Error }[] = [];
    for (const definition of pending) {
      try {
        await createWith(connection, definition);
      } catch (error) {
        failed.push({ definition, error: error as Error });
      }
    }
    if (failed.length === pending.length) throw failed[0]!.error;
    pending = failed.map((entry) => entry.definition);
  }
}

/**
 * Swap the verified partial into the target. Before the RENAME nothing at the
 * target changed (except, with --clean, that its old views, triggers,
 * routines and events were dropped just before it); the RENAME is atomic;
 * the re-creation of views, routines, triggers and events follows it.
 */
export async function swapIntoPlace(
  connection: mariadb.Connection,
  plan: SwapPlan,
  log: Logger,
): Promise<void> {
  const definitions = await readDefinitions(connection, plan.partial);
  const partialTables = await movableTables(connection, plan.partial);
  const state = await readDatabaseState(connection, plan.target);
  if (state.exists && state.objects > 0 && !plan.clean) {
    throw new LifeboatError("TARGET_NOT_EMPTY", `database ${plan.target} was filled while the restore ran`, {
      details: { target: plan.target, objects: state.objects },
    });
  }
  const target = quoteIdent(plan.target);
  const created = !state.exists;
  if (created) {
    const charset = plan.charset
      ? ` CHARACTER SET ${quoteIdent(plan.charset.charset)} COLLATE ${quoteIdent(plan.charset.collation)}`
      : "";
    await connection.query(`CREATE DATABASE ${target}${charset}`);
  }
  const moves: string[] = [];
  const old = plan.preserveAs ?? plan.old;
  if (state.objects > 0) {
    // --clean: the old target's objects go first; its tables leave in the same RENAME the new ones arrive in.
    await connection.query(`CREATE DATABASE ${quoteIdent(old)}`);
    await dropNonTables(connection, plan.target, ["trigger", "view", "procedure", "event"]);
    for (const table of await movableTables(connection, plan.target))
      moves.push(`${target}.${quoteIdent(table)} TO ${quoteIdent(old)}.${quoteIdent(table)}`);
  }
  await dropNonTables(connection, plan.partial, ["trigger"]);
  for (const table of partialTables)
    moves.push(`${quoteIdent(plan.partial)}.${quoteIdent(table)} TO ${target}.${quoteIdent(table)}`);
  try {
    if (moves.length > 0) await connection.query(`RENAME TABLE ${moves.join(", ")}`);
  } catch (error) {
    if (created) await connection.query(`DROP DATABASE IF EXISTS ${target}`).catch(() => {});
    throw error;
  }
  log.info(`moved ${partialTables.length} tables into ${plan.target} in one RENAME TABLE`);

  await connection.query(`USE ${target}`);
  const of = (kind: Definition["kind"]) => definitions.filter((definition) => definition.kind === kind);
  try {
    for (const definition of [...of("function"), ...of("procedure")])
      await createWith(connection, definition);
    await createViews(connection, of("view"));
    for (const definition of [...of("trigger"), ...of("event")]) await createWith(connection, definition);
  } catch (error) {
    for (const trigger of of("trigger")) log.warn(`trigger ${trigger.name} of the restore: ${trigger.sql}`);
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `the tables are in ${plan.target}, but re-creating its views, routines, triggers and events failed: ${(error as Error).message}`,
      {
        cause: error,
        details: { target: plan.target, partial: plan.partial, partial_kept: true },
        hint: `The partial database ${plan.partial} is kept: it still holds the views, routines and events (the triggers are logged above). Re-create what is missing by hand, then drop it.`,
      },
    );
  }
  if (state.objects > 0 && plan.preserveAs === undefined)
    await connection.query(`DROP DATABASE IF EXISTS ${quoteIdent(plan.old)}`);
}

/**
 * `restore --undo`: the kept database's tables go back into the target and
 * the target's current tables leave for `aside`, in one atomic RENAME TABLE.
 * The target's views, triggers, routines and events are dropped first (they
 * cannot move), as a --clean restore drops them; the emptied kept database
 * is dropped last.
 */
export async function swapTablesBack(
  connection: mariadb.Connection,
  plan: { readonly target: string; readonly kept: string; readonly aside: string },
): Promise<void> {
  const target = quoteIdent(plan.target);
  const kept = await movableTables(connection, plan.kept);
  const current = (await readDatabaseState(connection, plan.target)).exists
    ? await movableTables(connection, plan.target)
    : undefined;
  if (current === undefined) await connection.query(`CREATE DATABASE ${target}`);
  const moves: string[] = [];
  if (current && current.length > 0) {
    await connection.query(`CREATE DATABASE ${quoteIdent(plan.aside)}`);
    await dropNonTables(connection, plan.target, ["trigger", "view", "procedure", "event"]);
    for (const table of current)
      moves.push(`${target}.${quoteIdent(table)} TO ${quoteIdent(plan.aside)}.${quoteIdent(table)}`);
  }
  for (const table of kept)
    moves.push(`${quoteIdent(plan.kept)}.${quoteIdent(table)} TO ${target}.${quoteIdent(table)}`);
  if (moves.length > 0) await connection.query(`RENAME TABLE ${moves.join(", ")}`);
  await connection.query(`DROP DATABASE IF EXISTS ${quoteIdent(plan.kept)}`);
}
