// Target databases: inspect one without changing it, and the DDL a restore
// needs (create, drop, rename). A restore goes into a database with a
// `_lifeboat_partial_` name and is renamed only once complete, so a killed
// restore can never be mistaken for a finished one.

import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import type { ErrorCode } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import type { TargetState } from "../engine.ts";
import {
  connect,
  describeLocation,
  quoteIdent,
  quoteLiteral,
  withClient,
  withDatabase,
  type PgLocation,
} from "./connection.ts";
import { countUserObjects } from "./fingerprint.ts";

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1). */
export const maxNameBytes = 63;
const partialMarker = "_lifeboat_partial_";

export interface DatabaseState {
  readonly exists: boolean;
  readonly tables: number;
  readonly objects: number;
  readonly owner: string | undefined;
}

/**
 * Connect to a maintenance database on the target's server: `postgres`, or
 * `template1` when the target is `postgres` itself or `postgres` is gone.
 */
export async function connectMaintenance(location: PgLocation, code: ErrorCode): Promise<pg.Client> {
  const first = location.database === "postgres" ? "template1" : "postgres";
  try {
    return await connect(withDatabase(location, first), code, location);
  } catch (error) {
    if (first === "template1" || !/does not exist/.test(String((error as Error).message))) throw error;
    return connect(withDatabase(location, "template1"), code, location);
  }
}

export async function readDatabaseState(
  maintenance: pg.Client,
  location: PgLocation,
  code: ErrorCode,
): Promise<DatabaseState> {
  const found = await maintenance.query<{ owner: string }>(
    "SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1",
    [location.database],
  );
  const row = found.rows[0];
  if (!row) return { exists: false, tables: 0, objects: 0, owner: undefined };
  const counts = await withClient(location, code, countUserObjects);
  return { exists: true, ...counts, owner: row.owner };
}

/** "database app on 127.0.0.1:5432": a noun phrase, so plans can say "create ..." or "replace ...". */
export function describeDatabase(location: PgLocation): string {
  const server = describeLocation(location).slice(0, -(location.database.length + 1));
  return `database ${location.database} on ${server}`;
}

/**
 * What a restore would find. The description names the database and, when
 * it exists, what is in it ("(empty)", "(3 tables, 12 objects)"); whether it
 * exists is `exists`, not words in the description.
 */
export async function inspectTarget(location: PgLocation): Promise<TargetState> {
  const database = describeDatabase(location);
  const maintenance = await connectMaintenance(location, "TARGET_UNREACHABLE");
  try {
    const state = await readDatabaseState(maintenance, location, "TARGET_UNREACHABLE");
    if (!state.exists) return { exists: false, empty: true, description: database };
    const empty = state.objects === 0;
    const description = empty
      ? `${database} (empty)`
      : `${database} (${state.tables} ${state.tables === 1 ? "table" : "tables"}, ${state.objects} objects)`;
    return { exists: true, empty, description };
  } finally {
    await maintenance.end().catch(() => {});
  }
}

/** `<name>_lifeboat_partial_<random>`, shortened so it fits PostgreSQL's 63-byte limit. */
export function partialName(name: string): string {
  return partialPrefix(name) + randomBytes(4).toString("hex");
}

/**
 * `<name>_lifeboat_partial_`. A name too long to fit keeps its head plus a
 * hash of the whole name, so two long names that share their first bytes
 * (two drills' scratch databases) never match each other's partials.
 */
export function partialPrefix(name: string): string {
  const budget = maxNameBytes - partialMarker.length - 8;
  if (Buffer.byteLength(name) <= budget) return name + partialMarker;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return truncateBytes(name, budget - hash.length - 1) + "_" + hash + partialMarker;
}

/** The longest prefix of `text` within `bytes` UTF-8 bytes, never splitting a character. */
export function truncateBytes(text: string, bytes: number): string {
  let base = "";
  for (const character of text) {
    if (Buffer.byteLength(base + character) > bytes) break;
    base += character;
  }
  return base;
}

/** Drop leftovers of killed restores into `name`; one still in use by a live restore is left alone. */
export async function dropStalePartials(maintenance: pg.Client, name: string, log: Logger): Promise<void> {
  const prefix = partialPrefix(name);
  const stale = await maintenance.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE left(datname, length($1)) = $1",
    [prefix],
  );
  for (const { datname } of stale.rows) {
    try {
      await maintenance.query(`DROP DATABASE ${quoteIdent(datname)}`);
      log.info(`dropped ${datname}, left behind by an interrupted restore`);
    } catch (error) {
      log.warn(`could not drop ${datname}, left behind by an earlier restore: ${(error as Error).message}`);
    }
  }
}

export interface NewDatabase {
  readonly encoding?: string;
  readonly collate?: string;
  readonly ctype?: string;
  readonly owner?: string;
}

/**
 * CREATE DATABASE from template0 (what pg_dump output expects) with the
 * source's encoding and locale. A locale the target server lacks is not
 * fatal: the database is created with the encoding alone and a warning.
 */
export async function createDatabase(
  maintenance: pg.Client,
  name: string,
  options: NewDatabase,
  log: Logger,
): Promise<void> {
  const owner = options.owner ? ` OWNER ${quoteIdent(options.owner)}` : "";
  const encoding = options.encoding ? ` ENCODING ${quoteLiteral(options.encoding)}` : "";
  const locale =
    options.collate && options.ctype
      ? ` LC_COLLATE ${quoteLiteral(options.collate)} LC_CTYPE ${quoteLiteral(options.ctype)}`
      : "";
  const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0${owner}${encoding}`;
  try {
    await maintenance.query(base + locale);
  } catch (error) {
    if (!locale || !/locale|collation|encoding .* does not match/i.test((error as Error).message))
      throw error;
    log.warn(
      `the target server cannot use locale ${options.collate}: ${(error as Error).message}; using its default`,
    );
    await maintenance.query(base);
  }
}

export async function dropDatabase(maintenance: pg.Client, name: string): Promise<void> {
  const version = await maintenance.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  // Sessions still connected would block the drop; clean/replace means they go.
  await maintenance.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    [name],
  );
  const force = Number(version.rows[0]?.v) >= 130000 ? " WITH (FORCE)" : "";
  await maintenance.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${force}`);
}

export async function renameDatabase(maintenance: pg.Client, from: string, to: string): Promise<void> {
  await maintenance.query(`ALTER DATABASE ${quoteIdent(from)} RENAME TO ${quoteIdent(to)}`);
}
