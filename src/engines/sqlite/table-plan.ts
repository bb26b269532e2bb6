// Which objects a SQLite table restore takes, decided on the (verified,
// read-only) copy of the snapshot's database before anything is written
// beside the target, so a refusal creates nothing. The chosen tables come
// with their indexes, their triggers whose bodies name only chosen tables,
// and their sqlite_sequence entries (AUTOINCREMENT). A foreign key to a table
// not chosen is refused unless --no-foreign-keys; then the CREATE TABLE text
// is kept as it is (rewriting SQL to drop a REFERENCES clause would be
// fragile, and SQLite enforces foreign keys only with PRAGMA foreign_keys=ON)
// and the summary says which referenced table is absent.

import type { DatabaseSync } from "node:sqlite";
import { LifeboatError } from "../../errors.ts";
import type { RestoreSelection } from "../engine.ts";
import { asciiLower, mentionedNames } from "./sql-names.ts";

export interface SchemaObject {
  readonly type: string;
  readonly name: string;
  readonly tableName: string;
  readonly sql: string;
}

export interface PlannedTable {
  readonly name: string;
  readonly sql: string;
  readonly withoutRowid: boolean;
}

export interface TablePlan {
  readonly tables: readonly PlannedTable[];
  /** Indexes and triggers, created after the rows (triggers must not fire while rows are copied). */
  readonly indexes: readonly SchemaObject[];
  readonly triggers: readonly SchemaObject[];
  /** Chosen tables with an entry in sqlite_sequence (AUTOINCREMENT). */
  readonly sequences: readonly string[];
  readonly dependencies: readonly string[];
  readonly leftOut: readonly string[];
  /** The source file's settings the new file must share (ATTACH needs the same encoding). */
  readonly settings: FileSettings;
}

export interface FileSettings {
  readonly pageSize: number;
  readonly encoding: string;
  readonly autoVacuum: number;
  readonly userVersion: number;
  readonly applicationId: number;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Refuse the parts of a selection that mean nothing for one SQLite file, before anything is fetched. */
export function checkSqliteSelection(selection: RestoreSelection): readonly string[] {
  if (selection.include?.length || selection.exclude?.length) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "a SQLite snapshot is restored by --table, not by paths (--include/--exclude)",
    );
  }
  if (selection.schemas?.length) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `--schema ${selection.schemas.join(", ")}: a SQLite database has no schemas; choose tables with --table`,
    );
  }
  const tables = [...new Set(selection.tables ?? [])];
  if (tables.length === 0) {
    throw new LifeboatError("BAD_ARGUMENT", "a SQLite table restore needs at least one --table NAME");
  }
  return tables;
}

function pragmaValue(db: DatabaseSync, name: string): unknown {
  const row = db.prepare(`PRAGMA ${name}`).get() as Record<string, unknown> | undefined;
  return row ? Object.values(row)[0] : undefined;
}

/** Tables SQLite itself made for a virtual table (table_list says "shadow"), and virtual tables. */
function specialTables(db: DatabaseSync): Map<string, string> {
  const special = new Map<string, string>();
  try {
    for (const row of db.prepare("PRAGMA main.table_list").all() as { name: string; type: string }[]) {
      if (row.type === "virtual" || row.type === "shadow") special.set(asciiLower(row.name), row.type);
    }
  } catch {
    // A virtual table whose module this build lacks can make table_list fail: the SQL check below still sees it.
  }
  return special;
}

export function planTableRestore(
  db: DatabaseSync,
  wanted: readonly string[],
  noForeignKeys: boolean,
): TablePlan {
  const objects = (
    db
      .prepare(
        "SELECT type, name, tbl_name AS tableName, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
      )
      .all() as unknown as SchemaObject[]
  ).map((row) => ({ ...row }));
  const allTables = objects.filter((object) => object.type === "table");
  const byLowerName = new Map(allTables.map((table) => [asciiLower(table.name), table]));

  const unknown = wanted.filter((name) => !byLowerName.has(asciiLower(name)));
  if (unknown.length > 0) {
    const there = allTables.map((table) => table.name).sort();
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `the snapshot's database has no table ${unknown.join(", ")}; its tables: ${there.join(", ") || "(none)"}`,
      { details: { unknown, tables: there } },
    );
  }
  const chosen = new Map<string, SchemaObject>();
  for (const name of wanted) {
    const table = byLowerName.get(asciiLower(name))!;
    chosen.set(asciiLower(table.name), table);
  }

  const special = specialTables(db);
  for (const table of chosen.values()) {
    const kind =
      special.get(asciiLower(table.name)) ??
      (/^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(table.sql) ? "virtual" : undefined);
    if (kind) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `table ${table.name} is a ${kind === "virtual" ? "virtual table" : "shadow table of a virtual table"}: its data lives in tables SQLite's module manages, so it is restored only with the whole snapshot`,
        { details: { table: table.name } },
      );
    }
  }

  const leftOut: string[] = [];
  const missing: { table: string; references: string }[] = [];
  for (const table of chosen.values()) {
    const keys = db.prepare(`PRAGMA foreign_key_list(${quoteIdentifier(table.name)})`).all() as {
      id: number;
      table: string;
      from: string;
    }[];
    const columnsByKey = new Map<number, { references: string; from: string[] }>();
    for (const key of keys) {
      const entry = columnsByKey.get(key.id) ?? { references: key.table, from: [] };
      entry.from.push(key.from);
      columnsByKey.set(key.id, entry);
    }
    for (const { references, from } of columnsByKey.values()) {
      const lower = asciiLower(references);
      // A key to a table the source lacks as well is the source's own state: the copy is as it was.
      if (chosen.has(lower) || !byLowerName.has(lower)) continue;
      const target = byLowerName.get(lower)!.name;
      missing.push({ table: table.name, references: target });
      leftOut.push(
        `table ${target}, referenced by the foreign key ${table.name}(${from.join(", ")}): the REFERENCES clause stays in ${table.name}'s schema, so with PRAGMA foreign_keys=ON writes to ${table.name} fail until ${target} exists`,
      );
    }
  }
  if (missing.length > 0 && !noForeignKeys) {
    const absent = [...new Set(missing.map((key) => key.references))];
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${missing.map((key) => `table ${key.table} has a foreign key to table ${key.references}`).join("; ")}, which is not chosen: add ${absent.map((name) => `--table ${name}`).join(" ")}, or pass --no-foreign-keys to restore without it`,
      { details: { foreignKeys: missing } },
    );
  }

  // Any name of a table or view the restore leaves out makes a trigger unsafe to bring along.
  const absentNames = new Set(
    objects
      .filter(
        (object) =>
          (object.type === "table" || object.type === "view") && !chosen.has(asciiLower(object.name)),
      )
      .map((object) => asciiLower(object.name)),
  );
  const dependencies: string[] = [];
  const indexes: SchemaObject[] = [];
  const triggers: SchemaObject[] = [];
  for (const object of objects) {
    const onChosen = chosen.has(asciiLower(object.tableName));
    if (object.type === "index" && onChosen) {
      indexes.push(object);
      dependencies.push(`index ${object.name}`);
    } else if (object.type === "trigger" && onChosen) {
      const absent = [...mentionedNames(object.sql)].filter((name) => absentNames.has(name));
      if (absent.length === 0) {
        triggers.push(object);
        dependencies.push(`trigger ${object.name}`);
      } else {
        leftOut.push(`trigger ${object.name} (its body names ${absent.join(", ")}, which is not restored)`);
      }
    } else if (object.type === "view") {
      const uses = [...mentionedNames(object.sql)].filter((name) => chosen.has(name));
      if (uses.length > 0) leftOut.push(`view ${object.name} (views are not part of a table restore)`);
    }
  }

  const hasSequence =
    db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'").get() !==
    undefined;
  const sequences = hasSequence
    ? (db.prepare("SELECT name FROM sqlite_sequence").all() as { name: string }[])
        .map((row) => row.name)
        .filter((name) => chosen.has(asciiLower(name)))
    : [];
  for (const name of sequences) dependencies.push(`sqlite_sequence entry of ${name}`);

  const withoutRowid = new Set<string>();
  try {
    for (const row of db.prepare("PRAGMA main.table_list").all() as { name: string; wr: number }[]) {
      if (row.wr) withoutRowid.add(asciiLower(row.name));
    }
  } catch {
    for (const table of chosen.values())
      if (/\bWITHOUT\s+ROWID\s*;?\s*$/i.test(table.sql)) withoutRowid.add(asciiLower(table.name));
  }

  return {
    tables: [...chosen.values()].map((table) => ({
      name: table.name,
      sql: table.sql,
      withoutRowid: withoutRowid.has(asciiLower(table.name)),
    })),
    indexes,
    triggers,
    sequences,
    dependencies,
    leftOut,
    settings: {
      pageSize: Number(pragmaValue(db, "page_size")),
      encoding: String(pragmaValue(db, "encoding")),
      autoVacuum: Number(pragmaValue(db, "auto_vacuum")),
      userVersion: Number(pragmaValue(db, "user_version")),
      applicationId: Number(pragmaValue(db, "application_id")),
    },
  };
}
