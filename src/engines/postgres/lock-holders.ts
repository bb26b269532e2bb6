// Who is in the way of a dump: the sessions holding (or queued for) an
// ACCESS EXCLUSIVE lock on a relation of the source database, the only mode
// that conflicts with the ACCESS SHARE locks pg_dump and the fingerprint
// take. Named in SOURCE_LOCKED so an operator can find the session at once.
// A session's query text may carry a secret (ALTER ROLE ... PASSWORD '...'):
// it is truncated and redacted before it goes anywhere.

import type pg from "pg";
import { LifeboatError } from "../../errors.ts";
import { redact, redactedMark } from "../../runtime/redact.ts";
import { describeLocation, type PgLocation } from "./connection.ts";
import { openSession, quickReadLimits } from "./session.ts";

export interface LockHolder {
  readonly pid: number;
  readonly user: string | null;
  readonly application: string | null;
  readonly state: string | null;
  /** ISO time the holder's transaction began (null when not visible to this role). */
  readonly transactionStart: string | null;
  /** The holder's current or last query, truncated and redacted. */
  readonly query: string | null;
  readonly relation: string;
  /** False: it is still waiting for the lock, queued ahead of Lifeboat. */
  readonly granted: boolean;
}

/** Characters of a query shown; more are read so a secret is redacted whole before the cut. */
const queryChars = 120;
const queryCharsRead = 4000;

/** SQL that sets a password (CREATE/ALTER ROLE ... PASSWORD '...'): the literal goes, even cut short. */
const sqlPassword = /\b(password\s+)('(?:[^']|'')*'?|\S+)/gi;

function safeQuery(text: string): string {
  return shorten(redact(text.replace(/\s+/g, " ").trim()).replace(sqlPassword, `$1${redactedMark}`));
}

/** ACCESS EXCLUSIVE holders and waiters on relations of the current database, except `exclude`. */
export async function readLockHolders(client: pg.Client, exclude: readonly number[]): Promise<LockHolder[]> {
  const result = await client.query<{
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    xact_start: Date | null;
    query: string | null;
    relation: string;
    granted: boolean;
  }>(
    `SELECT l.pid, a.usename AS user, a.application_name AS application, a.state, a.xact_start,
            left(a.query, $2) AS query, l.relation::regclass::text AS relation, l.granted
     FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
       AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
       AND l.pid <> pg_backend_pid() AND NOT l.pid = ANY($1::int[])
     ORDER BY l.granted DESC, a.xact_start NULLS LAST, l.pid, relation`,
    [exclude, queryCharsRead],
  );
  return result.rows.map((row) => ({
    pid: row.pid,
    user: row.user,
    application: row.application,
    state: row.state,
    transactionStart: row.xact_start ? new Date(row.xact_start).toISOString() : null,
    query: row.query === null ? null : safeQuery(row.query),
    relation: row.relation,
    granted: row.granted,
  }));
}

function shorten(text: string): string {
  return text.length > queryChars ? text.slice(0, queryChars - 1) + "…" : text;
}

/** `pid 123 (user alice, application psql, idle in transaction, transaction open since ..., query "...") holds ACCESS EXCLUSIVE on t`. */
export function describeLockHolder(holder: LockHolder): string {
  const facts = [
    holder.user ? `user ${holder.user}` : undefined,
    holder.application ? `application ${holder.application}` : undefined,
    holder.state ?? undefined,
    holder.transactionStart ? `transaction open since ${holder.transactionStart}` : undefined,
    holder.query ? `query "${holder.query}"` : undefined,
  ].filter((fact) => fact !== undefined);
  const what = holder.granted ? "holds" : "is queued for";
  return `pid ${holder.pid}${facts.length > 0 ? ` (${facts.join(", ")})` : ""} ${what} ACCESS EXCLUSIVE on ${holder.relation}`;
}

/**
 * SOURCE_LOCKED naming the sessions in the way, read over a new connection
 * (the capture's own session may be gone). `waited` says who waited for what.
 */
export async function lockWaitError(
  location: PgLocation,
  waited: string,
  exclude: readonly number[],
  cause: unknown,
): Promise<LifeboatError> {
  const where = describeLocation(location);
  let holders: LockHolder[] | undefined;
  try {
    const session = await openSession(location, "SOURCE_UNREACHABLE", { limits: quickReadLimits });
    try {
      holders = await readLockHolders(session.client, exclude);
    } finally {
      await session.close();
    }
  } catch {
    holders = undefined;
  }
  const blockers =
    holders === undefined
      ? "the sessions holding the lock could not be read"
      : holders.length === 0
        ? "no session holds a conflicting lock any more (it ended meanwhile)"
        : holders.map(describeLockHolder).join("; ");
  return new LifeboatError("SOURCE_LOCKED", `${where} is locked: ${waited}: ${blockers}`, {
    cause,
    details: { server: where, blockers: holders ?? [] },
  });
}

/**
 * pg_dump's stderr says a table lock was not granted in time: its
 * --lock-wait-timeout runs LOCK TABLE under a statement_timeout (which it
 * applies to nothing else), and parallel workers lock with NOWAIT.
 */
export function isPgDumpLockFailure(stderr: string): boolean {
  return /canceling statement due to statement timeout[\s\S]*LOCK TABLE|could not obtain lock on relation/i.test(
    stderr,
  );
}

/** A server error for a lock wait that ran past lock_timeout (SQLSTATE 55P03, lock_not_available). */
export function isLockTimeout(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "55P03";
}
