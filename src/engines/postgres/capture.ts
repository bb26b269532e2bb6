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

import { createReadStream } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import type pg from "pg";
import type { PostgresSourceConfig } from "../../config/schema.ts";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import { redact } from "../../runtime/logger.ts";
import { toolFailure } from "../../runtime/process.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../engine.ts";
import {
  connect,
  describeLocation,
  parsePostgresUrl,
  toolConnection,
  type PgLocation,
} from "./connection.ts";
import { DumpUpload } from "./dump-upload.ts";
import { readFingerprint } from "./fingerprint.ts";
import { readDatabaseInfo, readServerInfo } from "./server-info.ts";

/** Artifact names inside a PostgreSQL snapshot. */
export const dumpPrefix = "dump/";
export const globalsArtifact = "globals.sql";

const readChunk = 1024 * 1024;

export async function capture(
  source: PostgresSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const location = parsePostgresUrl(source.url, "source");
  const where = describeLocation(location);
  const client = await connect(location, "SOURCE_UNREACHABLE");
  try {
    const snapshot = await sqlStep(where, "opening the snapshot transaction", async () => {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const result = await client.query<{ snapshot: string; consistent_at: Date }>(
        "SELECT pg_export_snapshot() AS snapshot, now() AS consistent_at",
      );
      const row = result.rows[0];
      if (!row) throw new Error("pg_export_snapshot() returned no row");
      return row;
    });
    const server = await sqlStep(where, "reading server facts", () => readServerInfo(client));
    const database = await sqlStep(where, "reading database facts", () => readDatabaseInfo(client));
    if (server.inRecovery) {
      context.log.info(
        `${where} is a standby: a long dump can be cancelled by recovery conflicts (raise max_standby_streaming_delay or dump the primary)`,
      );
    }

    const { fingerprint, pgDumpVersion } = await dumpAndStore(
      source,
      location,
      client,
      snapshot.snapshot,
      sink,
      context,
    );

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
      },
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * pg_dump into a spool (stored into the sink as it goes) while the
 * fingerprint is read in the snapshot transaction; then globals. The spool
 * is removed whatever happens.
 */
async function dumpAndStore(
  source: PostgresSourceConfig,
  location: PgLocation,
  client: pg.Client,
  snapshotId: string,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<{ fingerprint: Fingerprint; pgDumpVersion: string }> {
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
    const [dumped, fingerprinted] = await Promise.allSettled([
      runPgDump(location, snapshotId, source.jobs, dumpDir, { ...context, signal }),
      readFingerprintKeepingSnapshot(client, source.content_hashes === true),
    ]);
    if (dumped.status === "rejected" || fingerprinted.status === "rejected") await upload.abandon();
    // A store failure is the cause when pg_dump was stopped because of it.
    if (storeFailed.signal.aborted) throw storeFailed.signal.reason;
    if (dumped.status === "rejected") throw dumped.reason;
    const fingerprint: Fingerprint = await sqlStep(where, "reading the fingerprint", async () => {
      if (fingerprinted.status === "rejected") throw fingerprinted.reason;
      return fingerprinted.value;
    });
    await client.query("COMMIT").catch(() => {});

    await upload.finish();
    if (source.globals) {
      await sink.write(globalsArtifact, createReadStream(globalsFile, { highWaterMark: readChunk }));
    }
    return { fingerprint, pgDumpVersion: dumped.value };
  } finally {
    // Spooled files of a failed capture go now, not only with the caller's temp dir.
    await rm(spool, { recursive: true, force: true });
  }
}

/**
 * A failing fingerprint query (say, a table the role may not read) must not
 * abort the snapshot transaction: pg_dump's workers are still importing the
 * snapshot, and would fail with a confusing "could not import" instead of
 * pg_dump's own, clearer error. A savepoint contains the failure.
 */
async function readFingerprintKeepingSnapshot(
  client: pg.Client,
  contentHashes: boolean,
): Promise<Fingerprint> {
  await client.query("SAVEPOINT lifeboat_fingerprint");
  try {
    const fingerprint = await readFingerprint(client, { contentHashes });
    await client.query("RELEASE SAVEPOINT lifeboat_fingerprint");
    return fingerprint;
  } catch (error) {
    await client.query("ROLLBACK TO SAVEPOINT lifeboat_fingerprint").catch(() => {});
    throw error;
  }
}

/** Run a query step; a server-side failure names the step and the server. */
async function sqlStep<T>(where: string, what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof LifeboatError) throw error;
    const reason = redact(error instanceof Error ? error.message : String(error));
    throw new LifeboatError("SOURCE_TOOL_FAILED", `${what} on ${where} failed: ${reason}`, { cause: error });
  }
}

/** Returns pg_dump's version line, recorded so a restore knows which pg_restore it needs. */
async function runPgDump(
  location: PgLocation,
  snapshotId: string,
  jobs: number,
  dumpDir: string,
  context: EngineContext,
): Promise<string> {
  const connection = toolConnection(location);
  const version = await context.runner.run("pg_dump", ["--version"], { signal: context.signal });
  if (!version.ok) throw toolFailure(version, "checking pg_dump");
  const args = [
    "--format=directory",
    `--jobs=${jobs}`,
    "--compress=0",
    `--snapshot=${snapshotId}`,
    "--no-password",
    // The spool is read once and thrown away; durability comes from the repository.
    "--no-sync",
    `--file=${dumpDir}`,
    ...connection.args,
  ];
  context.log.debug(`pg_dump ${args.join(" ")}`);
  const result = await context.runner.run("pg_dump", args, { env: connection.env, signal: context.signal });
  if (!result.ok) throw toolFailure(result, `dumping ${describeLocation(location)}`);
  return version.stdout.trim();
}

async function dumpGlobals(location: PgLocation, file: string, context: EngineContext): Promise<void> {
  const connection = toolConnection(location);
  const args = ["--globals-only", "--no-password", `--file=${file}`, ...connection.args];
  const result = await context.runner.run("pg_dumpall", args, {
    env: connection.env,
    signal: context.signal,
  });
  if (result.ok) return;
  const failure = toolFailure(result, `dumping roles and tablespaces of ${describeLocation(location)}`);
  if (!/permission denied/i.test(result.stderr)) throw failure;
  throw new LifeboatError(failure.code, failure.message, {
    details: failure.details,
    hint: "Capturing globals reads pg_authid, which needs a superuser: connect as one, or set `globals: false` for this source.",
  });
}
