// The schema half of the fingerprint: which tables hold rows, how many
// objects of each kind exist, and a digest of their definitions. Read the
// same way from the source at capture and from a restored database, so it
// must not depend on the database's name: a one-database snapshot restores
// under another name (the partial database, then the target), so its keys
// and digest leave the name out and view definitions (which the server
// qualifies with it) are rewritten without it.

import { createHash } from "node:crypto";
import type * as mariadb from "mariadb";
import { quoteIdent, rows } from "./connection.ts";

export interface TableRef {
  readonly database: string;
  readonly table: string;
  /** The fingerprint's name for it: `<table>` (one database) or `<db>.<table>` (several). */
  readonly key: string;
}

export interface SchemaFacts {
  /** Tables that hold rows (base and system-versioned tables; not views or sequences). */
  readonly tables: readonly TableRef[];
  /** `objects:tables`, `objects:views`, `objects:sequences`, `objects:routines`, `objects:triggers`, `objects:events`. */
  readonly counts: Readonly<Record<string, number>>;
  /** SHA-256 over every definition, in a stable order. */
  readonly digest: string;
}

/** Table key for the fingerprint: without the database name when the snapshot holds one database. */
export function tableKey(database: string, table: string, several: boolean): string {
  return several ? `${database}.${table}` : table;
}

function placeholders(values: readonly unknown[]): string {
  return values.map(() => "?").join(", ");
}

type Row = Record<string, unknown>;

/**
 * Each section's rows as sorted JSON lines. `schemaColumn` names the column
 * holding the database; with one database it is dropped (and the name
 * removed from `rewrite` columns), so the digest is the same under any name.
 */
function section(
  name: string,
  found: readonly Row[],
  several: boolean,
  rewrite: readonly string[] = [],
): string {
  const lines = found.map((row) => {
    const database = String(row.db);
    const values = Object.entries(row)
      .filter(([column]) => several || column !== "db")
      .map(([column, value]) =>
        !several && rewrite.includes(column) && typeof value === "string"
          ? withoutDatabase(value, database)
          : value,
      );
    return JSON.stringify(values);
  });
  return `${name}\n${lines.sort().join("\n")}\n`;
}

/** Remove `` `db`. `` qualifiers of the database itself from a definition the server printed. */
export function withoutDatabase(text: string, database: string): string {
  return text.split(quoteIdent(database) + ".").join("");
}

export async function readSchemaFacts(
  connection: mariadb.Connection,
  databases: readonly string[],
  several: boolean,
): Promise<SchemaFacts> {
  if (databases.length === 0) return { tables: [], counts: emptyCounts(), digest: digestOf([]) };
  const inList = placeholders(databases);
  const query = (sql: string) => rows<Row>(connection, sql, databases);
  const tables = await query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, TABLE_TYPE AS type, ENGINE AS engine, TABLE_COLLATION AS coll
     FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (${inList})`,
  );
  const columns = await query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, COLUMN_NAME AS name, ORDINAL_POSITION AS pos,
       COLUMN_TYPE AS type, IS_NULLABLE AS nullable, COLUMN_DEFAULT AS dflt, COLLATION_NAME AS coll,
       EXTRA AS extra, GENERATION_EXPRESSION AS gen_expr
     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (${inList})`,
  );
  const indexes = await query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS col,
       NON_UNIQUE AS non_unique, SUB_PART AS sub_part, INDEX_TYPE AS type
     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (${inList})`,
  );
  const foreignKeys = await query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl, CONSTRAINT_NAME AS name, COLUMN_NAME AS col,
       ORDINAL_POSITION AS pos, IF(REFERENCED_TABLE_SCHEMA = TABLE_SCHEMA, '', REFERENCED_TABLE_SCHEMA) AS ref_db,
       REFERENCED_TABLE_NAME AS ref_table, REFERENCED_COLUMN_NAME AS ref_col
     FROM information_schema.KEY_COLUMN_USAGE
     WHERE TABLE_SCHEMA IN (${inList}) AND REFERENCED_TABLE_NAME IS NOT NULL`,
  );
  const views = await query(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, VIEW_DEFINITION AS definition, CHECK_OPTION AS chk
     FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN (${inList})`,
  );
  const routines = await query(
    `SELECT ROUTINE_SCHEMA AS db, ROUTINE_NAME AS name, ROUTINE_TYPE AS type, DTD_IDENTIFIER AS ret,
       ROUTINE_DEFINITION AS body, IS_DETERMINISTIC AS is_det, SQL_DATA_ACCESS AS data_access,
       SECURITY_TYPE AS sec
     FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN (${inList})`,
  );
  const parameters = await query(
    `SELECT SPECIFIC_SCHEMA AS db, SPECIFIC_NAME AS routine, ROUTINE_TYPE AS type, ORDINAL_POSITION AS pos,
       PARAMETER_MODE AS param_mode, PARAMETER_NAME AS name, DTD_IDENTIFIER AS data_type
     FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA IN (${inList})`,
  );
  const triggers = await query(
    `SELECT TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name, EVENT_MANIPULATION AS evt, EVENT_OBJECT_TABLE AS tbl,
       ACTION_ORDER AS action_order, ACTION_TIMING AS timing, ACTION_STATEMENT AS stmt
     FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA IN (${inList})`,
  );
  const events = await query(
    `SELECT EVENT_SCHEMA AS db, EVENT_NAME AS name, EVENT_DEFINITION AS definition, EVENT_TYPE AS type,
       INTERVAL_VALUE AS interval_value, INTERVAL_FIELD AS interval_field, ON_COMPLETION AS on_completion
     FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN (${inList})`,
  );

  const dataTables = tables.filter((row) => row.type === "BASE TABLE" || row.type === "SYSTEM VERSIONED");
  const refs = dataTables
    .map((row) => ({
      database: String(row.db),
      table: String(row.name),
      key: tableKey(String(row.db), String(row.name), several),
    }))
    .sort((left, right) => (left.key < right.key ? -1 : left.key > right.key ? 1 : 0));
  const counts = {
    "objects:tables": dataTables.length,
    "objects:views": tables.filter((row) => row.type === "VIEW").length,
    "objects:sequences": tables.filter((row) => row.type === "SEQUENCE").length,
    "objects:routines": routines.length,
    "objects:triggers": triggers.length,
    "objects:events": events.length,
  };
  const digest = digestOf([
    section("tables", tables, several),
    section("columns", columns, several),
    section("indexes", indexes, several),
    section("foreign_keys", foreignKeys, several),
    section("views", views, several, ["definition"]),
    section("routines", routines, several),
    section("parameters", parameters, several),
    section("triggers", triggers, several),
    section("events", events, several),
  ]);
  return { tables: refs, counts, digest };
}

function emptyCounts(): Record<string, number> {
  return {
    "objects:tables": 0,
    "objects:views": 0,
    "objects:sequences": 0,
    "objects:routines": 0,
    "objects:triggers": 0,
    "objects:events": 0,
  };
}

function digestOf(sections: readonly string[]): string {
  const hash = createHash("sha256");
  for (const text of sections) hash.update(text);
  return hash.digest("hex");
}

/** The user databases on a server: everything but the server's own schemas and Lifeboat's partials. */
export async function listUserDatabases(connection: mariadb.Connection): Promise<string[]> {
  const found = await rows<{ name: string }>(
    connection,
    `SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA
     WHERE SCHEMA_NAME NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
       AND SCHEMA_NAME NOT LIKE '%\\_lifeboat\\_partial\\_%' AND SCHEMA_NAME NOT LIKE '%\\_lifeboat\\_old\\_%'
     ORDER BY SCHEMA_NAME`,
  );
  return found.map((row) => row.name);
}
