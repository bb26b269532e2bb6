// Small reads a drill needs besides the fingerprint: a user's SQL assertion
// against the restored scratch database, and the size of the source's data
// to scale the measured restore time (a restore grows with the data).

import type pg from "pg";
import type { PostgresSourceConfig } from "../../config/schema.ts";
import { LifeboatError } from "../../errors.ts";
import { redact } from "../../runtime/logger.ts";
import type { EngineContext } from "../engine.ts";
import { connect, describeLocation, parsePostgresUrl } from "./connection.ts";
import { userSchemaFilter } from "./fingerprint.ts";

/**
 * Run one SQL statement in a READ ONLY transaction and return the first
 * column of the first row (null when there is no row). The extended protocol
 * accepts exactly one statement, so a check cannot `COMMIT; ...` its way out
 * of the read-only transaction. A SQL error is VERIFICATION_FAILED with the
 * server's message.
 */
export async function queryScalar(target: string, sql: string, context: EngineContext): Promise<unknown> {
  const location = parsePostgresUrl(target, "target");
  const client = await connect(location, "TARGET_UNREACHABLE");
  // An interrupted drill closes the connection, which ends a long-running check.
  const stop = () => void client.end().catch(() => {});
  context.signal?.addEventListener("abort", stop, { once: true });
  try {
    context.signal?.throwIfAborted();
    await client.query("BEGIN TRANSACTION READ ONLY");
    // queryMode is honoured by pg (>= 8.11) though its type definitions do not list it.
    const query: pg.QueryArrayConfig & { queryMode: "extended" } = {
      text: sql,
      rowMode: "array",
      queryMode: "extended",
    };
    const result = await client.query<unknown[]>(query);
    await client.query("ROLLBACK");
    return result.rows[0]?.[0] ?? null;
  } catch (error) {
    context.signal?.throwIfAborted();
    if (error instanceof LifeboatError) throw error;
    const reason = redact(error instanceof Error ? error.message : String(error));
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `SQL check on ${describeLocation(location)} failed: ${reason}`,
      {
        cause: error,
        details: { target: describeLocation(location) },
      },
    );
  } finally {
    context.signal?.removeEventListener("abort", stop);
    await client.end().catch(() => {});
  }
}

/**
 * Bytes of user data in the source: the main fork and TOAST of every table
 * and materialized view in user schemas, plus large objects. Not
 * pg_database_size(): a drill scales the measured restore by this size over
 * the snapshot's size, and pg_database_size() adds about 7.5 MB of system
 * catalogs, indexes and free-space maps that a dump does not carry (a 5 kB
 * snapshot of an 8 MB database predicted a restore 1500 times too slow).
 * Undefined when the source cannot be reached or asked.
 */
export async function sourceSize(source: PostgresSourceConfig): Promise<number | undefined> {
  try {
    const client = await connect(parsePostgresUrl(source.url, "source"), "SOURCE_UNREACHABLE");
    try {
      const result = await client.query<{ size: string }>(`
        SELECT (SELECT coalesce(sum(pg_relation_size(c.oid)
                  + CASE WHEN c.reltoastrelid <> 0 THEN pg_relation_size(c.reltoastrelid) ELSE 0 END), 0)
                FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'm') AND ${userSchemaFilter("n.nspname")})
             + pg_relation_size('pg_catalog.pg_largeobject') AS size`);
      const size = Number(result.rows[0]?.size);
      return Number.isFinite(size) ? size : undefined;
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return undefined;
  }
}
