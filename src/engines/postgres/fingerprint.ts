// The PostgreSQL fingerprint: row counts per table and object counts, read
// through one client inside the caller's transaction. Capture runs it inside
// the snapshot transaction that pg_dump imports, so the counts describe
// exactly the data in the dump; a restore is fingerprinted the same way.
// The optional deep check adds a content hash per table, read in the same
// scan as its row count (see readContentHashes).

import type pg from "pg";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { quoteIdent } from "./connection.ts";

/** Schemas that belong to the server, not to the user's data. */
export const userSchemaFilter = (column: string) =>
  `${column} NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ` +
  `AND ${column} NOT LIKE 'pg\\_temp\\_%' AND ${column} NOT LIKE 'pg\\_toast\\_temp\\_%'`;

// Each object class as one count over the catalogs (read in the caller's snapshot).
const objectCountSql = `
SELECT
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND ${userSchemaFilter("n.nspname")}) AS tables,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'v' AND ${userSchemaFilter("n.nspname")}) AS views,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'm' AND ${userSchemaFilter("n.nspname")}) AS matviews,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'S' AND ${userSchemaFilter("n.nspname")}) AS sequences,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('i', 'I') AND ${userSchemaFilter("n.nspname")}) AS indexes,
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE ${userSchemaFilter("n.nspname")}) AS functions,
  (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     LEFT JOIN pg_class c ON c.oid = t.typrelid
     WHERE ${userSchemaFilter("n.nspname")}
       AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))) AS types,
  (SELECT count(*) FROM pg_namespace n WHERE ${userSchemaFilter("n.nspname")}) AS schemas,
  (SELECT count(*) FROM pg_largeobject_metadata) AS large_objects`;

// Leaf tables only (relkind 'r'): a partitioned parent ('p') holds no rows of
// its own, so counting leaves counts every row exactly once.
const leafTablesSql = `
SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND ${userSchemaFilter("n.nspname")}
ORDER BY n.nspname, c.relname`;

/** Tables counted per query: one round trip per batch instead of per table. */
const batchSize = 100;

interface LeafTable {
  readonly oid: string;
  readonly schema: string;
  readonly name: string;
}

export interface ReadFingerprintOptions {
  /** Also hash every table's contents: `content:<schema>.<table>`. A full read of every table. */
  readonly contentHashes?: boolean;
}

export async function readFingerprint(
  client: pg.Client,
  options: ReadFingerprintOptions = {},
): Promise<Fingerprint> {
  const counts: Record<string, number> = {};
  const objects = await client.query<Record<string, string>>(objectCountSql);
  for (const [name, value] of Object.entries(objects.rows[0] ?? {}))
    counts[`objects:${name}`] = Number(value);

  const tables = (await client.query<LeafTable>(leafTablesSql)).rows;
  if (options.contentHashes) {
    const hashes = await readContentHashes(client, tables, counts);
    return { counts, hashes };
  }
  for (let start = 0; start < tables.length; start += batchSize) {
    const batch = tables.slice(start, start + batchSize);
    // ONLY: with table inheritance a parent's count(*) would include its children's rows.
    const sql = batch
      .map((table, index) => `SELECT ${index} AS i, count(*) AS n FROM ONLY ${qualifiedName(table)}`)
      .join(" UNION ALL ");
    const result = await client.query<{ i: number; n: string }>(sql);
    for (const row of result.rows) {
      const table = batch[row.i];
      if (table) counts[`rows:${table.schema}.${table.name}`] = Number(row.n);
    }
  }
  return { counts, hashes: {} };
}

function qualifiedName(table: LeafTable): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/**
 * Settings that change how values print as text. Fixed for the rest of the
 * caller's transaction, so a source and a target on servers configured
 * differently (time zone, DateStyle, bytea_output, ...) print equal values
 * equally. search_path = pg_catalog makes regclass & co. print schema-qualified.
 */
const canonicalOutputSql = `
SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
  set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true),
  set_config('bytea_output', 'hex', true), set_config('lc_monetary', 'C', true),
  set_config('search_path', 'pg_catalog', true)`;

const columnsSql = `
SELECT a.attrelid::int8::text AS oid, a.attname AS name
FROM pg_attribute a
WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attrelid = ANY($1::oid[])`;

/** Content hashes per query: one round trip per batch; each table is still its own scan. */
const contentBatchSize = 20;

/**
 * The deep check: per table, the sum of two independent 60-bit slices of
 * md5(row as text), over all rows, as 32 hex digits; the row count comes from
 * the same scan and goes into `counts`.
 *
 * - A sum does not depend on the order rows come in, and a restore rewrites
 *   tables in another physical order. It is an aggregate, so it streams: the
 *   server never holds a table's text at once.
 * - Columns are listed by name, not position: the hash describes values, not
 *   the physical layout, which a restore may change (dropped columns vanish;
 *   inheritance children get inherited columns first).
 * - A sum of per-row digests detects accidental damage (a changed, lost or
 *   duplicated row changes it with probability about 1 - 2^-60 per slice); it
 *   is not a cryptographic commitment: an adversary can craft equal sums.
 * - Large objects are not hashed (only counted in `objects:large_objects`).
 */
async function readContentHashes(
  client: pg.Client,
  tables: readonly LeafTable[],
  counts: Record<string, number>,
): Promise<Record<string, string>> {
  await client.query(canonicalOutputSql);
  const columns = new Map<string, string[]>();
  const columnRows = await client.query<{ oid: string; name: string }>(columnsSql, [
    tables.map((table) => table.oid),
  ]);
  for (const row of columnRows.rows) {
    const list = columns.get(row.oid) ?? [];
    list.push(row.name);
    columns.set(row.oid, list);
  }

  const hashes: Record<string, string> = {};
  for (let start = 0; start < tables.length; start += contentBatchSize) {
    const batch = tables.slice(start, start + contentBatchSize);
    const sql = batch
      .map((table, index) => {
        // Sorted by UTF-16 code units in JS: the same order whatever the server's collation.
        const row = (columns.get(table.oid) ?? [])
          .sort()
          .map((column) => `t.${quoteIdent(column)}`)
          .join(", ");
        return (
          `SELECT ${index} AS i, count(*) AS n, ` +
          `coalesce(sum(('x' || substr(h, 1, 15))::bit(60)::int8), 0)::text AS a, ` +
          `coalesce(sum(('x' || substr(h, 16, 15))::bit(60)::int8), 0)::text AS b ` +
          `FROM (SELECT md5(ROW(${row})::text) AS h FROM ONLY ${qualifiedName(table)} t) AS r`
        );
      })
      .join(" UNION ALL ");
    const result = await client.query<{ i: number; n: string; a: string; b: string }>(sql);
    for (const row of result.rows) {
      const table = batch[row.i];
      if (!table) continue;
      counts[`rows:${table.schema}.${table.name}`] = Number(row.n);
      hashes[`content:${table.schema}.${table.name}`] = hex64(row.a) + hex64(row.b);
    }
  }
  return hashes;
}

/** A numeric sum as 16 hex digits (modulo 2^64: the low bits carry the information). */
function hex64(decimal: string): string {
  return BigInt.asUintN(64, BigInt(decimal)).toString(16).padStart(16, "0");
}

/** How many user objects a database holds; zero means a restore may use it as it is. */
export async function countUserObjects(client: pg.Client): Promise<{ tables: number; objects: number }> {
  const result = await client.query<{ tables: string; objects: string }>(`
    SELECT
      (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND ${userSchemaFilter("n.nspname")}) AS tables,
      (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE ${userSchemaFilter("n.nspname")})
      + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE ${userSchemaFilter("n.nspname")})
      + (SELECT count(*) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE ${userSchemaFilter("n.nspname")} AND t.typtype IN ('e', 'd', 'r', 'c'))
      + (SELECT count(*) FROM pg_namespace n WHERE ${userSchemaFilter("n.nspname")} AND n.nspname <> 'public')
      + (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')
      + (SELECT count(*) FROM pg_largeobject_metadata) AS objects`);
  const row = result.rows[0];
  return { tables: Number(row?.tables ?? 0), objects: Number(row?.objects ?? 0) };
}
