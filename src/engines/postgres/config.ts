// The `postgres` source in lifeboat.yaml.

import { z } from "zod";
import { commonSourceFields, contentHashesField, duration } from "../../config/source-fields.ts";
import { defaultLockTimeout } from "./session.ts";

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
  .describe("libpq connection URL. Put the password in PGPASSWORD or ~/.pgpass, never here.");

export const postgresSourceSchema = z.strictObject({
  engine: z.literal("postgres"),
  url: postgresUrl,
  globals: z
    .boolean()
    .default(false)
    .describe("Also capture roles and tablespaces (pg_dumpall --globals-only)."),
  jobs: z.int().min(1).max(64).default(2).describe("Parallel pg_dump / pg_restore jobs."),
  // Optional (logical where it is read, postgresModeOf) so hand-built source objects stay valid.
  mode: z
    .enum(["logical", "physical", "both"])
    .optional()
    .meta({ default: "logical" })
    .describe(
      "logical: pg_dump of the database. physical: a base backup of the whole cluster (pg_basebackup) for point-in-time recovery with the WAL archive (wal-push). both: each backup takes one of each.",
    ),
  pitr_window: duration
    .optional()
    .describe(
      "Physical mode: every moment of this last stretch (e.g. 7d) stays restorable. forget keeps the base backup that starts the window and prune keeps the WAL from it on, whatever the retention policy says about base backups.",
    ),
  wal_push: z
    .strictObject({
      async: z
        .boolean()
        .default(false)
        .describe(
          "archive_command returns as soon as a background pusher (one per cluster, started on demand) has archived the file; the pusher reads every .ready file in pg_wal and archives ahead of PostgreSQL, several at a time. WAL is never copied to a local spool.",
        ),
      spool_dir: z
        .string()
        .regex(/^\//, "an absolute path")
        .optional()
        .describe(
          "Required with async: a directory the PostgreSQL server's user can write, for the pusher's small status files and log. Never inside the data directory (base backups would copy it).",
        ),
      parallel: z.int().min(1).max(32).default(4).describe("Files the pusher archives at once."),
      wait: duration
        .default("60s")
        .describe(
          "How long one archive_command waits for the pusher before failing (PostgreSQL retries it, keeping the file).",
        ),
    })
    .refine((push) => !push.async || push.spool_dir !== undefined, {
      message: "async: true needs spool_dir",
      path: ["spool_dir"],
    })
    .optional()
    .describe("How wal-push archives (physical mode). Default: each archive_command stores its file itself."),
  wal_stream: z
    .strictObject({
      dir: z
        .string()
        .regex(/^\//, "an absolute path")
        .describe(
          "A local directory pg_receivewal writes into (the segment being streamed and finished ones not yet archived). Never inside the data directory.",
        ),
      slot: z
        .string()
        .regex(/^[a-z0-9_]{1,63}$/, "lower-case letters, digits and _ (at most 63)")
        .optional()
        .describe(
          "The physical replication slot (created when missing). Default: lifeboat_<source>. While the streamer is down the slot keeps WAL in pg_wal: bound it with max_slot_wal_keep_size.",
        ),
      interval: duration
        .default("1s")
        .describe("How often the streamed head of the current segment is stored (the RPO, plus one store)."),
    })
    .optional()
    .describe(
      "Physical mode: `lifeboat wal-stream SOURCE` streams WAL with pg_receivewal and a replication slot, and stores the head of the unfinished segment every interval, for an RPO of seconds instead of a segment switch.",
    ),
  content_hashes: contentHashesField,
  // Optional (default applied where it is used, session.ts) so hand-built source objects stay valid.
  lock_timeout: duration
    .optional()
    .meta({ default: defaultLockTimeout })
    .describe(
      "Longest wait for a table lock: pg_dump --lock-wait-timeout and lock_timeout of Lifeboat's own sessions. A wait that runs out fails with SOURCE_LOCKED naming the blocking session. 0s waits for ever.",
    ),
  statement_timeout: duration
    .optional()
    .describe(
      "Longest run of each of Lifeboat's own SQL statements on the source (fingerprint counts, content hashes, size). Never applied to pg_dump, whose run is legitimately long. Default: no limit.",
    ),
  ...commonSourceFields,
});

export type PostgresSourceConfig = z.infer<typeof postgresSourceSchema>;

export type PostgresMode = NonNullable<PostgresSourceConfig["mode"]>;

export function postgresModeOf(source: Pick<PostgresSourceConfig, "mode">): PostgresMode {
  return source.mode ?? "logical";
}
