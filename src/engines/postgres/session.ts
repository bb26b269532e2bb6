// Lifeboat's own sessions on a PostgreSQL server: every wait is bounded and
// every session can be stopped. A query waiting for a table lock does not
// notice its client going away (the server reads the socket only between
// statements), so closing a `pg` client is not enough to stop it: on abort,
// a second connection terminates the session's backend (and any pg_dump
// session tagged with the capture's application_name), then the client is
// closed.

import type pg from "pg";
import { parseDuration } from "../../domain/duration.ts";
import type { ErrorCode } from "../../errors.ts";
import { connect, type PgLocation } from "./connection.ts";

/** Source options that bound Lifeboat's waits on the server (lifeboat.yaml, per postgres source). */
export interface PostgresSessionOptions {
  /**
   * Longest wait for a table lock: pg_dump's --lock-wait-timeout and
   * lock_timeout of Lifeboat's own sessions. "0s" waits for ever.
   */
  readonly lock_timeout?: string | undefined;
  /**
   * Longest run of each of Lifeboat's own statements (fingerprint counts,
   * content hashes, size). Absent or "0s": no limit. pg_dump is not bound by
   * it: a large dump is legitimately long (pg_dump resets it anyway).
   */
  readonly statement_timeout?: string | undefined;
}

export const defaultLockTimeout = "60s";

export interface SessionLimits {
  /** Milliseconds; 0 means no limit. */
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

export function sessionLimits(options: PostgresSessionOptions): SessionLimits {
  return {
    lockTimeoutMs: toMs(options.lock_timeout ?? defaultLockTimeout),
    statementTimeoutMs: options.statement_timeout ? toMs(options.statement_timeout) : 0,
  };
}

/** Limits for short reads about a server (identity, size): never wait long. */
export const quickReadLimits: SessionLimits = { lockTimeoutMs: 10_000, statementTimeoutMs: 30_000 };

function toMs(duration: string): number {
  return Math.round(parseDuration(duration) * 1000);
}

export interface Session {
  readonly client: pg.Client;
  /** The session's backend pid on the server. */
  readonly pid: number;
  /** Terminate the backend (whatever it is doing) and close the client. Idempotent. */
  stop(): Promise<void>;
  /** Close normally (and stop listening to the signal). Idempotent. */
  close(): Promise<void>;
}

export interface OpenSessionOptions {
  /** Absent: the server's own settings (a user's drill check runs as the user wrote it). */
  readonly limits?: SessionLimits;
  /** Stop the session when this fires. */
  readonly signal?: AbortSignal | undefined;
  /** Also terminate every session with this application_name on stop (pg_dump's, tagged by capture). */
  readonly alsoTerminate?: string | undefined;
  /** Keep the session alive while idle in a transaction (the snapshot transaction pg_dump imports). */
  readonly idleInTransaction?: boolean;
}

/** Connect with bounded lock and statement waits, stopped by `options.signal`. */
export async function openSession(
  location: PgLocation,
  code: ErrorCode,
  options: OpenSessionOptions,
  connectTo: (location: PgLocation, code: ErrorCode) => Promise<pg.Client> = connect,
): Promise<Session> {
  options.signal?.throwIfAborted();
  const client = await connectTo(location, code);
  let pid: number;
  try {
    const { limits } = options;
    const settings = [
      ...(limits
        ? [
            `set_config('lock_timeout', '${limits.lockTimeoutMs}', false)`,
            `set_config('statement_timeout', '${limits.statementTimeoutMs}', false)`,
          ]
        : []),
      // The snapshot transaction idles while pg_dump runs: a server-wide limit must not end it.
      ...(options.idleInTransaction ? ["set_config('idle_in_transaction_session_timeout', '0', false)"] : []),
    ];
    const result = await client.query<{ pid: number }>(
      `SELECT ${["pg_backend_pid() AS pid", ...settings].join(", ")}`,
    );
    pid = result.rows[0]!.pid;
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  let stopping: Promise<void> | undefined;
  let closed = false;
  const onAbort = () => void stop();
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      if (!closed) await terminateBackends(location, code, [pid], options.alsoTerminate, connectTo);
      closed = true;
      await client.end().catch(() => {});
    })();
    return stopping;
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) await stop();
  return {
    client,
    pid,
    stop,
    async close() {
      options.signal?.removeEventListener("abort", onAbort);
      if (stopping) return stopping;
      closed = true;
      await client.end().catch(() => {});
    },
  };
}

/**
 * Terminate backends from a separate connection: the given pids and every
 * session named `applicationName`. A role may terminate its own sessions.
 * Best effort: an unreachable server has ended them already or soon will.
 */
export async function terminateBackends(
  location: PgLocation,
  code: ErrorCode,
  pids: readonly number[],
  applicationName: string | undefined,
  connectTo: (location: PgLocation, code: ErrorCode) => Promise<pg.Client> = connect,
): Promise<void> {
  let control: pg.Client | undefined;
  // Stopping must not take long: a server that does not answer soon has bigger problems.
  const connectTimeout = Math.min(Number(location.params.connect_timeout ?? 5) || 5, 5);
  const quick = { ...location, params: { ...location.params, connect_timeout: String(connectTimeout) } };
  try {
    control = await connectTo(quick, code);
    await control.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE pid <> pg_backend_pid() AND (pid = ANY($1::int[]) OR application_name = $2)`,
      [pids, applicationName ?? null],
    );
  } catch {
    // Nothing more can be done from here; the caller closes its own client anyway.
  } finally {
    await control?.end().catch(() => {});
  }
}
