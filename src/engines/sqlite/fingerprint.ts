// The SQLite fingerprint: row counts per user table, object counts per kind
// and a digest of the schema. Computed on the backup copy at capture (the
// copy is the consistent point) and on the restored file afterwards.

import { createHash } from "node:crypto";
import type { DatabaseSync } from "node:sqlite";
import type { Fingerprint } from "../../domain/fingerprint.ts";

interface SchemaRow {
  type: string;
  name: string;
  sql: string | null;
}

const kinds = {
  table: "objects:tables",
  index: "objects:indexes",
  view: "objects:views",
  trigger: "objects:triggers",
};

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function fingerprintDatabase(db: DatabaseSync): Fingerprint {
  // sqlite_% objects are SQLite's own (sqlite_sequence, sqlite_stat1, autoindexes): not user data.
  const rows = db
    .prepare(
      "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )
    .all() as unknown as SchemaRow[];
  const counts: Record<string, number> = {
    "objects:tables": 0,
    "objects:indexes": 0,
    "objects:views": 0,
    "objects:triggers": 0,
  };
  const schema = createHash("sha256");
  for (const row of rows) {
    const kind = kinds[row.type as keyof typeof kinds];
    if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
    schema.update(JSON.stringify([row.type, row.name, row.sql]) + "\n");
    // Virtual tables may need a module this process lacks (and their shadow tables are counted anyway).
    const isVirtual = /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(row.sql ?? "");
    if (row.type === "table" && !isVirtual) {
      const result = db.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(row.name)}`).get() as {
        n: number;
      };
      counts[`rows:${row.name}`] = Number(result.n);
    }
  }
  return { counts, hashes: { schema: schema.digest("hex") } };
}
