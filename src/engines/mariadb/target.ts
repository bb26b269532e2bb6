// Target databases: what is there (for guards and --dry-run), and the names
// a restore works under. A restore loads into `<target>_lifeboat_partial_<hex>`
// and, with --clean, moves the old tables aside into `<target>_lifeboat_old_<hex>`;
// neither name can be mistaken for the target. While it runs, the restore
// holds the server lock `lifeboat_restore_<hex>` (GET_LOCK, released by the
// server when its session ends, even on kill -9), so a later restore can tell
// a dead restore's leftovers (lock free: dropped) from a live one's (kept).

import { createHash, randomBytes } from "node:crypto";
import type * as mariadb from "mariadb";
import type { Logger } from "../../runtime/logger.ts";
import type { TargetState } from "../engine.ts";
import {
  describeLocation,
  quoteIdent,
  rows,
  withConnection,
  withDatabase,
  type MariadbLocation,
} from "./connection.ts";

/** MariaDB and MySQL database names are at most 64 characters. */
const maxNameLength = 64;
const partialMarker = "_lifeboat_partial_";
const oldMarker = "_lifeboat_old_";

export interface DatabaseState {
  readonly exists: boolean;
  readonly tables: number;
  /** Tables, views, sequences, routines, triggers and events. */
  readonly objects: number;
}

export async function readDatabaseState(
  connection: mariadb.Connection,
  database: string,
): Promise<DatabaseState> {
  const [schema] = await rows<{ n: number }>(
    connection,
    "SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    [database],
  );
  if (Number(schema?.n) === 0) return { exists: false, tables: 0, objects: 0 };
  const [counts] = await rows<{
    tables: number;
    relations: number;
    routines: number;
    triggers: number;
    events: number;
  }>(
    connection,
    `SELECT
       (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE <> 'VIEW' AND TABLE_TYPE <> 'SEQUENCE') AS tables,
       (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?) AS relations,
       (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?) AS routines,
       (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?) AS triggers,
       (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS events`,
    [database, database, database, database, database],
  );
  const objects = ["relations", "routines", "triggers", "events"].reduce(
    (sum, key) => sum + Number((counts as Record<string, unknown>)[key] ?? 0),
    0,
  );
  return { exists: true, tables: Number(counts?.tables ?? 0), objects };
}

/** "database shop on 127.0.0.1:3306". */
export function describeDatabase(location: MariadbLocation): string {
  return `database ${location.database ?? "(none)"} on ${describeLocation(withDatabase(location, undefined))}`;
}

export async function inspectTarget(location: MariadbLocation): Promise<TargetState> {
  const database = location.database!;
  const description = describeDatabase(location);
  const state = await withConnection(withDatabase(location, undefined), "TARGET_UNREACHABLE", (connection) =>
    readDatabaseState(connection, database),
  );
  if (!state.exists) return { exists: false, empty: true, description };
  if (state.objects === 0) return { exists: true, empty: true, description: `${description} (empty)` };
  return {
    exists: true,
    empty: false,
    description: `${description} (${state.tables} ${state.tables === 1 ? "table" : "tables"}, ${state.objects} objects)`,
  };
}

/** `<name><marker>` within 64 characters; a long name keeps its head plus a hash of the whole name. */
function prefixFor(name: string, marker: string): string {
  const budget = maxNameLength - partialMarker.length - 8;
  if ([...name].length <= budget) return name + marker;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return [...name].slice(0, budget - hash.length - 1).join("") + "_" + hash + marker;
}

export interface WorkNames {
  /** The random tag shared by the names and the liveness lock. */
  readonly tag: string;
  readonly partial: string;
  readonly old: string;
  readonly lock: string;
}

export function workNames(target: string): WorkNames {
  const tag = randomBytes(4).toString("hex");
  return {
    tag,
    partial: prefixFor(target, partialMarker) + tag,
    old: prefixFor(target, oldMarker) + tag,
    lock: lockName(tag),
  };
}

function lockName(tag: string): string {
  return `lifeboat_restore_${tag}`;
}

/** Take the restore's liveness lock on its own session (held until the session ends). */
export async function holdRestoreLock(connection: mariadb.Connection, names: WorkNames): Promise<void> {
  await connection.query("SELECT GET_LOCK(?, 0)", [names.lock]);
}

/** Drop the partial and old databases of killed restores into `target`; a live restore's are left alone. */
export async function dropStaleLeftovers(
  connection: mariadb.Connection,
  target: string,
  log: Logger,
): Promise<void> {
  const prefixes = [prefixFor(target, partialMarker), prefixFor(target, oldMarker)];
  const found = await rows<{ name: string }>(
    connection,
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE LEFT(SCHEMA_NAME, ?) = ? OR LEFT(SCHEMA_NAME, ?) = ?",
    [prefixes[0]!.length, prefixes[0], prefixes[1]!.length, prefixes[1]],
  );
  for (const { name } of found) {
    const prefix = prefixes.find((candidate) => name.startsWith(candidate))!;
    const tag = name.slice(prefix.length);
    if (!/^[0-9a-f]{8}$/.test(tag)) continue; // not a name Lifeboat made
    const [lock] = await rows<{ holder: number | null }>(connection, "SELECT IS_USED_LOCK(?) AS holder", [
      lockName(tag),
    ]);
    if (lock?.holder !== null && lock?.holder !== undefined) {
      log.warn(`${name} belongs to a restore that is still running (session ${lock.holder}); left alone`);
      continue;
    }
    if (name.startsWith(prefixFor(target, oldMarker))) {
      // An old target set aside by a --clean restore killed mid-swap: if the target is gone it is the only copy.
      log.warn(
        `${name} holds the tables a killed --clean restore moved aside from ${target}; kept, drop it by hand once checked`,
      );
      continue;
    }
    await connection.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    log.info(`dropped ${name}, left behind by an interrupted restore`);
  }
}
