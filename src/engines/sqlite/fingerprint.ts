// The SQLite fingerprint: row counts per user table, object counts per kind
// and a digest of the schema. Computed on the backup copy at capture (the
// copy is the consistent point) and on the restored file afterwards. The
// optional deep check adds a content hash per table (see contentHash).

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

export interface SqliteFingerprintOptions {
  /** Also hash every table's contents: `content:<table>`. A full read of every table. */
  readonly contentHashes?: boolean;
}

export function fingerprintDatabase(db: DatabaseSync, options: SqliteFingerprintOptions = {}): Fingerprint {
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
  const hashes: Record<string, string> = {};
  for (const row of rows) {
    const kind = kinds[row.type as keyof typeof kinds];
    if (kind) counts[kind] = (counts[kind] ?? 0) + 1;
    schema.update(JSON.stringify([row.type, row.name, row.sql]) + "\n");
    // Virtual tables may need a module this process lacks (and their shadow tables are counted anyway).
    const isVirtual = /^\s*CREATE\s+VIRTUAL\s+TABLE/i.test(row.sql ?? "");
    if (row.type === "table" && !isVirtual) {
      if (options.contentHashes) {
        const content = contentHash(db, row.name);
        counts[`rows:${row.name}`] = content.rows;
        hashes[`content:${row.name}`] = content.hash;
      } else {
        const result = db.prepare(`SELECT count(*) AS n FROM ${quoteIdentifier(row.name)}`).get() as {
          n: number;
        };
        counts[`rows:${row.name}`] = Number(result.n);
      }
    }
  }
  return { counts, hashes: { schema: schema.digest("hex"), ...hashes } };
}

/**
 * The deep check for one table, in the same scan as its row count: the sums
 * modulo 2^64 of two independent 64-bit words of SHA-256 over each row, as
 * 32 hex digits. A sum does not depend on row order (VACUUM, or the same rows
 * inserted in another order, must hash the same) and needs one row in memory
 * at a time. Columns are read by name, without the implicit rowid (a physical
 * address, not data; an INTEGER PRIMARY KEY is a named column and is included).
 * Values are tagged with their storage class, so 1, 1.0, '1' and x'01' differ.
 * It detects accidental damage, not an adversary: equal sums can be crafted.
 */
function contentHash(db: DatabaseSync, table: string): { rows: number; hash: string } {
  const columns = (
    db.prepare(`PRAGMA table_xinfo(${quoteIdentifier(table)})`).all() as unknown as ColumnRow[]
  )
    // hidden 1: hidden columns of virtual tables; 2 and 3: generated columns (values, so kept).
    .filter((column) => column.hidden !== 1)
    .map((column) => column.name)
    .sort();
  const statement = db.prepare(
    `SELECT ${columns.map(quoteIdentifier).join(", ")} FROM ${quoteIdentifier(table)}`,
  );
  // BigInts keep 64-bit integers exact and tell INTEGER from REAL (1n vs 1).
  statement.setReadBigInts(true);
  statement.setReturnArrays(true);
  let rows = 0;
  let first = 0n;
  let second = 0n;
  for (const values of statement.iterate() as Iterable<unknown[]>) {
    const digest = createHash("sha256")
      .update(JSON.stringify(values.map(tagValue)))
      .digest();
    first = BigInt.asUintN(64, first + digest.readBigUInt64BE(0));
    second = BigInt.asUintN(64, second + digest.readBigUInt64BE(8));
    rows++;
  }
  const hex = (sum: bigint) => sum.toString(16).padStart(16, "0");
  return { rows, hash: hex(first) + hex(second) };
}

interface ColumnRow {
  name: string;
  hidden: number;
}

/** One value in a stable text form that keeps SQLite's storage class. */
function tagValue(value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === "bigint") return `i${value}`;
  if (typeof value === "number") return `r${value}`;
  if (typeof value === "string") return `t${value}`;
  if (value instanceof Uint8Array)
    return `b${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
  return `?${String(value)}`;
}
