// The PostgreSQL fingerprint: row counts per table and object counts, read
// through one client inside the caller's transaction. Capture runs it inside
// the snapshot transaction that pg_dump imports, so the counts describe
// exactly the data in the dump; a restore is fingerprinted the same way.

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
SELECT n.nspname AS schema, c.relname AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND ${userSchemaFilter("n.nspname")}
ORDER BY n.nspname, c.relname`;

/** Tables counted per query: one round trip per batch instead of per table. */
const batchSize = 100;

export async function readFingerprint(client: pg.Client): Promise<Fingerprint> {
  const counts: Record<string, number> = {};
  const objects = await client.query<Record<string, string>>(objectCountSql);
  for (const [name, value] of Object.entries(objects.rows[0] ?? {}))
    counts[`objects:${name}`] = Number(value);

  const tables = await client.query<{ schema: string; name: string }>(leafTablesSql);
  for (let start = 0; start < tables.rows.length; start += batchSize) {
    const batch = tables.rows.slice(start, start + batchSize);
    // ONLY: with table inheritance a parent's count(*) would include its children's rows.
    const sql = batch
      .map(
        (table, index) =>
          `SELECT ${index} AS i, count(*) AS n FROM ONLY ${quoteIdent(table.schema)}.${quoteIdent(table.name)}`,
      )
      .join(" UNION ALL ");
    const result = await client.query<{ i: number; n: string }>(sql);
    for (const row of result.rows) {
      const table = batch[row.i];
      if (table) counts[`rows:${table.schema}.${table.name}`] = Number(row.n);
    }
  }
  return { counts, hashes: {} };
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
