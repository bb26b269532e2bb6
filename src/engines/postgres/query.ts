// Small reads a drill needs besides the fingerprint: a user's SQL assertion
// against the restored scratch database, and the size of the source's data
// to scale the measured restore time (a restore grows with the data). The
// size is measured in one kind of bytes at capture (engineMeta.relation_bytes)
// and now, so the drill scales like by like: dump bytes are another kind.

import type pg from "pg";
import type { PostgresSourceConfig } from "./config.ts";
import { LifeboatError } from "../../errors.ts";
import { redact } from "../../runtime/redact.ts";
import type { EngineContext } from "../engine.ts";
import { describeLocation, parsePostgresUrl } from "./connection.ts";
import { userSchemaFilter } from "./fingerprint.ts";
import { openSession, quickReadLimits, sessionLimits, type PostgresSessionOptions } from "./session.ts";

/**
 * Run one SQL statement in a READ ONLY transaction and return the first
 * column of the first row (null when there is no row). The extended protocol
 * accepts exactly one statement, so a check cannot `COMMIT; ...` its way out
 * of the read-only transaction. A SQL error is VERIFICATION_FAILED with the
 * server's message.
 */
export async function queryScalar(target: string, sql: string, context: EngineContext): Promise<unknown> {
  const location = parsePostgresUrl(target, "target");
  // An interrupted drill ends the check's session on the server, even one waiting for a lock.
  const session = await openSession(location, "TARGET_UNREACHABLE", { signal: context.signal });
  const { client } = session;
  try {
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
    await session.close();
  }
}

/** One statement that may write (a scenario's disruption or writer), committed; a SQL error is TARGET_UNREACHABLE with the server's words. */
export async function executeSql(target: string, sql: string, context: EngineContext): Promise<void> {
  const location = parsePostgresUrl(target, "target");
  const session = await openSession(location, "TARGET_UNREACHABLE", { signal: context.signal });
  try {
    await session.client.query(sql);
  } catch (error) {
    context.signal?.throwIfAborted();
    if (error instanceof LifeboatError) throw error;
    const reason = redact(error instanceof Error ? error.message : String(error));
    throw new LifeboatError("TARGET_UNREACHABLE", `SQL on ${describeLocation(location)} failed: ${reason}`, {
      cause: error,
      details: { target: describeLocation(location) },
    });
  } finally {
    await session.close();
  }
}

/** What relation bytes are, for drill reports. */
export const relationBytesMeasure =
  "PostgreSQL relation bytes: heap and TOAST of user tables and materialized views, plus large objects (pg_relation_size)";

/**
 * Bytes of user data in the database `client` is connected to: the main fork
 * and TOAST of every table and materialized view in user schemas, plus large
 * objects. Not pg_database_size(), which adds catalogs, indexes and
 * free-space maps. pg_relation_size takes an ACCESS SHARE lock on each
 * relation, so the caller's lock_timeout bounds it.
 */
export async function readRelationBytes(client: pg.Client): Promise<number> {
  const result = await client.query<{ size: string }>(`
    SELECT (SELECT coalesce(sum(pg_relation_size(c.oid)
              + CASE WHEN c.reltoastrelid <> 0 THEN pg_relation_size(c.reltoastrelid) ELSE 0 END), 0)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm') AND ${userSchemaFilter("n.nspname")})
         + pg_relation_size('pg_catalog.pg_largeobject') AS size`);
  const size = Number(result.rows[0]?.size);
  if (!Number.isFinite(size)) throw new Error("pg_relation_size returned no number");
  return size;
}

/**
 * The source's relation bytes now (readRelationBytes), bounded by the
 * source's lock_timeout and a short statement limit so a drill never waits
 * behind another session's lock. Undefined when the source cannot be
 * reached or asked.
 */
export async function sourceSize(
  source: PostgresSourceConfig & PostgresSessionOptions,
  signal?: AbortSignal,
): Promise<number | undefined> {
  try {
    const { lockTimeoutMs } = sessionLimits(source);
    const limits = {
      lockTimeoutMs: Math.min(lockTimeoutMs || quickReadLimits.lockTimeoutMs, quickReadLimits.lockTimeoutMs),
      statementTimeoutMs: quickReadLimits.statementTimeoutMs,
    };
    const session = await openSession(parsePostgresUrl(source.url, "source"), "SOURCE_UNREACHABLE", {
      limits,
      signal,
    });
    try {
      const bytes = await readRelationBytes(session.client);
      await session.close();
      return bytes;
    } catch (error) {
      await session.stop(); // a lock wait or a long scan ends on the server too
      throw error;
    }
  } catch {
    return undefined;
  }
}

/**
 * The source's relation bytes now and at capture (engineMeta.relation_bytes):
 * one kind of bytes on both sides, so their ratio is how much the data grew.
 * Undefined for snapshots that did not record it (taken before it was), or
 * when the source cannot be asked: no like-for-like basis, no prediction.
 */
export async function sourceGrowth(
  source: PostgresSourceConfig & PostgresSessionOptions,
  engineMeta: Readonly<Record<string, unknown>>,
  signal?: AbortSignal,
): Promise<{ currentBytes: number; snapshotBytes: number; measure: string } | undefined> {
  const snapshotBytes = engineMeta.relation_bytes;
  if (typeof snapshotBytes !== "number" || !(snapshotBytes > 0)) return undefined;
  const currentBytes = await sourceSize(source, signal);
  if (currentBytes === undefined) return undefined;
  return { currentBytes, snapshotBytes, measure: relationBytesMeasure };
}
