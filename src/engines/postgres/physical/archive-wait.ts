// The last phase of a base backup is the server waiting for its archiver to
// archive the backup's final WAL segment and history file (pg_basebackup -X
// none waits for that). With a synchronous archive_command that takes from a
// few hundred milliseconds to seconds in which Lifeboat has nothing to do, so
// the fingerprint (a REPEATABLE READ pass over every table) is read then,
// instead of after. Any moment after the server wrote the backup's end
// record is "after the backup", which is all the fingerprint promises.
//
// pg_stat_progress_basebackup (PostgreSQL 13 and later) names the phase; the
// backup's walsender is the one with pg_basebackup's application_name. When
// the phase cannot be seen (an older server, a role that may not read the
// view, a lost connection), nothing is started early and the capture reads
// the fingerprint after the backup as before.

import type pg from "pg";
import type { Logger } from "../../../runtime/logger.ts";
import { connect, type PgLocation } from "../connection.ts";

/** The phase of pg_stat_progress_basebackup in which the server waits for the archiver. */
export const ARCHIVE_WAIT_PHASE = "waiting for wal archiving to finish";
/** How often the phase is read while the backup streams. */
const POLL_MS = 100;

export interface ArchiveWaitWatch<T> {
  /** The backup stream ended: stop watching (a read already started goes on). */
  stop(): void;
  /** What `read` gave if it was started during the wait; undefined if it never started or failed. */
  result(): Promise<T | undefined>;
}

/**
 * Watch the base backup whose walsender has `applicationName`, and run `read`
 * once the server waits for the archiver.
 */
export function readDuringArchiveWait<T>(
  location: PgLocation,
  applicationName: string,
  read: () => Promise<T>,
  log: Logger,
): ArchiveWaitWatch<T> {
  let stopped = false;
  let wake: (() => void) | undefined;
  let started: Promise<T> | undefined;
  let connected = false;
  const giveUp = (what: string, error: unknown) =>
    log.debug(
      `${what} (${error instanceof Error ? error.message : String(error)}): the fingerprint is read after the backup`,
    );

  const watching = (async () => {
    let client: pg.Client;
    try {
      client = await connect(location, "SOURCE_UNREACHABLE");
      connected = true;
    } catch (error) {
      giveUp("cannot watch the base backup's progress", error);
      return;
    }
    try {
      while (!stopped) {
        const phase = await client.query<{ phase: string }>(
          `SELECT p.phase FROM pg_stat_progress_basebackup p
             JOIN pg_stat_activity a ON a.pid = p.pid
            WHERE a.application_name = $1`,
          [applicationName],
        );
        if (phase.rows[0]?.phase === ARCHIVE_WAIT_PHASE) {
          log.debug("the server waits for the archiver: reading the fingerprint meanwhile");
          started = read();
          started.catch(() => {}); // awaited by result(); a failure there means "read it after"
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, POLL_MS).unref();
        });
      }
    } catch (error) {
      giveUp("cannot read the base backup's progress", error);
    } finally {
      await client.end().catch(() => {});
    }
  })();

  return {
    stop: () => {
      stopped = true;
      wake?.();
    },
    result: async () => {
      // A poll in flight may still start the read; a connection still being made never does
      // (it ends itself once made), and the backup does not wait for it.
      if (connected) await watching;
      if (!started) return undefined;
      try {
        return await started;
      } catch (error) {
        giveUp("the fingerprint read during the archive wait failed", error);
        return undefined;
      }
    },
  };
}
