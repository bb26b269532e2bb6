// Capture: one REPEATABLE READ transaction exports a snapshot and stays open
// while pg_dump imports it (--snapshot) and while the fingerprint is read in
// it, so the counts describe exactly the rows in the dump even when writers
// keep going. pg_dump spools a directory-format dump (parallel, uncompressed:
// the repository compresses and deduplicates, so an unchanged table yields
// an identical file) into the temp dir; each data file is streamed into the
// sink as soon as pg_dump has finished it (dump-upload.ts), the rest after
// pg_dump exits 0. A failed dump throws, so the caller never commits the
// snapshot: what was stored stays unreferenced. With `content_hashes` the
// fingerprint also hashes every table in that snapshot.
//
// No wait is unbounded: pg_dump gets --lock-wait-timeout and Lifeboat's own
// session lock_timeout (source option `lock_timeout`); a lock wait that runs
// out is SOURCE_LOCKED naming the sessions in the way. An abort (SIGTERM)
// kills pg_dump and terminates every server session of the capture: its own
// and pg_dump's, found by the application_name the dump is tagged with.

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import type { PostgresSourceConfig } from "./config.ts";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import { redact } from "../../runtime/redact.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import { describeLocation, parsePostgresUrl } from "./connection.ts";
import { DumpUpload } from "./dump-upload.ts";
import { readFingerprint } from "./fingerprint.ts";
import { isLockTimeout, lockWaitError } from "./lock-holders.ts";
import { describeMs, dumpGlobals, runPgDump, type DumpJob } from "./pg-dump.ts";
import { readRelationBytes } from "./query.ts";
import { readDatabaseInfo, readServerInfo } from "./server-info.ts";
import { openSession, sessionLimits, type PostgresSessionOptions } from "./session.ts";

/** Artifact names inside a PostgreSQL snapshot. */
export const dumpPrefix = "dump/";
export const globalsArtifact = "globals.sql";

const readChunk = 1024 * 1024;

/** A postgres source with the options that bound its waits (see session.ts). */
export type PostgresCaptureSource = PostgresSourceConfig & PostgresSessionOptions;

export async function capture(
  source: PostgresCaptureSource,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const location = parsePostgresUrl(source.url, "source");
  const where = describeLocation(location);
  const limits = sessionLimits(source);
  // pg_dump's sessions carry this name, so an abort can find and end them on the server.
  // No spaces: the tag travels in a URL query, where URLSearchParams writes a space as "+" and
  // libpq does not decode "+", so a spaced tag would never match pg_dump's sessions.
  const dumpTag = `lifeboat-pg_dump-${randomBytes(4).toString("hex")}`;
  const session = await openSession(location, "SOURCE_UNREACHABLE", {
    limits,
    signal: context.signal,
    alsoTerminate: dumpTag,
    idleInTransaction: true,
  });
  const { client } = session;
  let succeeded = false;
  try {
    const step = <T>(what: string, run: () => Promise<T>) => sqlStep(where, what, context.signal, run);
    const snapshot = await step("opening the snapshot transaction", async () => {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const result = await client.query<{ snapshot: string; consistent_at: Date }>(
        "SELECT pg_export_snapshot() AS snapshot, now() AS consistent_at",
      );
      const row = result.rows[0];
      if (!row) throw new Error("pg_export_snapshot() returned no row");
      return row;
    });
    const server = await step("reading server facts", () => readServerInfo(client));
    const database = await step("reading database facts", () => readDatabaseInfo(client));
    if (server.inRecovery) {
      context.log.info(
        `${where} is a standby: a long dump can be cancelled by recovery conflicts (raise max_standby_streaming_delay or dump the primary)`,
      );
    }

    const { fingerprint, relationBytes, pgDumpVersion } = await dumpAndStore(
      { source, location, session, snapshotId: snapshot.snapshot, dumpTag, limits },
      sink,
      context,
    );

    succeeded = true;
    return {
      consistentAt: new Date(snapshot.consistent_at).toISOString(),
      fingerprint,
      engineMeta: {
        format: "directory",
        server_version: server.serverVersion,
        server_version_num: server.serverVersionNum,
        system_identifier: server.systemIdentifier,
        in_recovery: server.inRecovery,
        database: location.database,
        host: location.host ?? null,
        port: location.port ?? null,
        encoding: database.encoding,
        lc_collate: database.collate,
        lc_ctype: database.ctype,
        pg_dump_version: pgDumpVersion,
        globals: source.globals,
        // Table heap + TOAST + large-object bytes in the snapshot (query.ts): a later drill
        // compares the source's bytes then with its bytes now, like with like.
        relation_bytes: relationBytes,
      },
    };
  } catch (error) {
    // Interrupted: say so, not what the interruption broke.
    context.signal?.throwIfAborted();
    throw error;
  } finally {
    // A failed capture may leave a query running (a count behind a lock): end it on the server.
    await (succeeded ? session.close() : session.stop());
  }
}

/**
 * pg_dump into a spool (stored into the sink as it goes) while the
 * fingerprint is read in the snapshot transaction; then globals. The spool
 * is removed whatever happens.
 */
async function dumpAndStore(
  job: DumpJob,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<{ fingerprint: Fingerprint; relationBytes: number; pgDumpVersion: string }> {
  const { source, location, session } = job;
  const where = describeLocation(location);
  const spool = await mkdtemp(join(context.tempDir, "pg-capture-"));
  try {
    const dumpDir = join(spool, "dump");
    const globalsFile = join(spool, globalsArtifact);
    if (source.globals) await dumpGlobals(location, globalsFile, context);

    // A failed store stops pg_dump at once instead of letting it run to the end.
    const storeFailed = new AbortController();
    const upload = new DumpUpload({
      sink,
      prefix: dumpPrefix,
      dumpDir,
      canonicalDumpDir: join(await realpath(spool), "dump"),
      log: context.log,
      onFailure: (error) => storeFailed.abort(error),
    });
    const signal = context.signal
      ? AbortSignal.any([context.signal, storeFailed.signal])
      : storeFailed.signal;

    // The fingerprint is read while pg_dump runs: both see the same snapshot,
    // and overlapping the two scans keeps the capture close to pg_dump's time.
    // A failed pg_dump ends the fingerprint's session at once (a long count, a lock wait).
    const dumping = runPgDump(job, dumpDir, { ...context, signal }).catch((error: unknown) => {
      void session.stop();
      throw error;
    });
    const [dumped, fingerprinted] = await Promise.allSettled([
      dumping,
      readFingerprintKeepingSnapshot(session.client, source.content_hashes === true),
    ]);
    if (dumped.status === "rejected" || fingerprinted.status === "rejected") await upload.abandon();
    context.signal?.throwIfAborted();
    // A store failure is the cause when pg_dump was stopped because of it.
    if (storeFailed.signal.aborted) throw storeFailed.signal.reason;
    if (dumped.status === "rejected") throw dumped.reason;
    if (fingerprinted.status === "rejected") {
      const error: unknown = fingerprinted.reason;
      if (isLockTimeout(error)) {
        throw await lockWaitError(
          location,
          `the fingerprint waited ${describeMs(job.limits.lockTimeoutMs)} for a table lock`,
          [session.pid],
          error,
        );
      }
      throw sqlFailure(where, "reading the fingerprint", error);
    }
    await session.client.query("COMMIT").catch(() => {});

    await upload.finish();
    if (source.globals) {
      await sink.write(globalsArtifact, createReadStream(globalsFile, { highWaterMark: readChunk }), {
        handOver: true, // fresh buffers, read by nothing else
      });
    }
    return { ...fingerprinted.value, pgDumpVersion: dumped.value };
  } finally {
    // Spooled files of a failed capture go now, not only with the caller's temp dir.
    await rm(spool, { recursive: true, force: true });
  }
}

/**
 * A failing fingerprint query (say, a table the role may not read) must not
 * abort the snapshot transaction: pg_dump's workers are still importing the
 * snapshot, and would fail with a confusing "could not import" instead of
 * pg_dump's own, clearer error. A savepoint contains the failure. The
 * source's relation bytes are measured in the same breath, for drills.
 */
async function readFingerprintKeepingSnapshot(
  client: pg.Client,
  contentHashes: boolean,
): Promise<{ fingerprint: Fingerprint; relationBytes: number }> {
  await client.query("SAVEPOINT lifeboat_fingerprint");
  try {
    const fingerprint = await readFingerprint(client, { contentHashes });
    const relationBytes = await readRelationBytes(client);
    await client.query("RELEASE SAVEPOINT lifeboat_fingerprint");
    return { fingerprint, relationBytes };
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT lifeboat_fingerprint").catch(() => {});
    throw error;
  }
}

/** Run a query step; a server-side failure names the step and the server. */
async function sqlStep<T>(
  where: string,
  what: string,
  signal: AbortSignal | undefined,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    signal?.throwIfAborted(); // the session was ended because of the interruption
    throw sqlFailure(where, what, error);
  }
}

function sqlFailure(where: string, what: string, error: unknown): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const reason = redact(error instanceof Error ? error.message : String(error));
  return new LifeboatError("SOURCE_TOOL_FAILED", `${what} on ${where} failed: ${reason}`, { cause: error });
}
