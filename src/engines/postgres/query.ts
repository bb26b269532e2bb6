// Small reads a drill needs besides the fingerprint: a user's SQL assertion
// against the restored scratch database, and the source's current size to
// scale the measured restore time (a restore grows with the data).

import type pg from "pg";
import type { PostgresSourceConfig } from "../../config/schema.ts";
import { LifeboatError } from "../../errors.ts";
import { redact } from "../../runtime/logger.ts";
import type { EngineContext } from "../engine.ts";
import { connect, describeLocation, parsePostgresUrl } from "./connection.ts";

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

/** pg_database_size() of the source database; undefined when it cannot be reached or asked. */
export async function sourceSize(source: PostgresSourceConfig): Promise<number | undefined> {
  try {
    const client = await connect(parsePostgresUrl(source.url, "source"), "SOURCE_UNREACHABLE");
    try {
      const result = await client.query<{ size: string }>(
        "SELECT pg_database_size(current_database())::text AS size",
      );
      const size = Number(result.rows[0]?.size);
      return Number.isFinite(size) ? size : undefined;
    } finally {
      await client.end().catch(() => {});
    }
  } catch {
    return undefined;
  }
}
