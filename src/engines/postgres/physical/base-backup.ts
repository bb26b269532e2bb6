// Physical capture: a base backup of the whole cluster through the
// replication protocol (pg_basebackup -Ft -D -), streamed as one tar into
// the repository. The repository's content-defined chunks make every
// relation file that did not change since the last base backup cost
// nothing. WAL is not in the tar (-X none): the cluster archives it into
// Lifeboat itself (wal-push), and pg_basebackup waits until every segment
// the backup needs has been archived. The backup is only committed once
// Lifeboat has read the backup's own history file (<segment>.<offset>.backup)
// back from its archive: that proves archiving reaches this repository, and
// gives the start and stop LSN PostgreSQL itself recorded.
//
// The fingerprint is read right after the backup, in one REPEATABLE READ
// transaction that also records its LSN: while the server waits for the
// archiver when that can be seen (archive-wait.ts), else once pg_basebackup
// has returned. A physical copy is consistent at the stop LSN, not at a
// transaction snapshot, so it describes the tables and their sizes at about
// that point; point-in-time restores are proved by markers and by
// PostgreSQL's own replay instead (docs/engines.md).

import { randomBytes } from "node:crypto";
import { PassThrough, Transform } from "node:stream";
import type { Fingerprint } from "../../../domain/fingerprint.ts";
import {
  formatLsn,
  parseBackupHistory,
  parseBackupLabel,
  segmentName,
  segmentNumberOf,
  type BackupHistory,
  type WalFiles,
} from "../../../domain/wal.ts";
import { LifeboatError } from "../../../errors.ts";
import { toolFailure } from "../../../runtime/process.ts";
import type { ArtifactSink, CaptureResult, EngineContext } from "../../engine.ts";
import type { PostgresSourceConfig } from "../config.ts";
import {
  describeLocation,
  parsePostgresUrl,
  taggedLocation,
  toolConnection,
  withClient,
  type PgLocation,
} from "../connection.ts";
import { readFingerprint } from "../fingerprint.ts";
import { readServerInfo } from "../server-info.ts";
import { readDuringArchiveWait } from "./archive-wait.ts";

/** The one artifact of a physical snapshot: the cluster's data directory as pg_basebackup's tar. */
export const baseTarArtifact = "base.tar";

/** How long to wait for the backup history file after pg_basebackup returned (it waited for the segments). */
const HISTORY_WAIT_MS = 60_000;

interface ClusterFacts {
  readonly serverVersion: string;
  readonly serverVersionNum: number;
  readonly systemIdentifier: string;
  readonly inRecovery: boolean;
  readonly segmentSize: number;
  readonly archiveMode: string;
  readonly archiveCommand: string;
  readonly dataChecksums: boolean;
  readonly startedAt: Date;
}

export async function capturePhysical(
  source: PostgresSourceConfig,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<CaptureResult> {
  const location = parsePostgresUrl(source.url, "source");
  const where = describeLocation(location);
  const facts = await readClusterFacts(location);
  if (facts.archiveMode === "off") {
    throw new LifeboatError(
      "WAL_ARCHIVE_MISSING",
      `${where} has archive_mode = off: a base backup without archived WAL can never be restored`,
    );
  }
  if (!context.wal) throw new LifeboatError("INTERNAL", "a physical capture needs the WAL archive");
  const wal = context.wal(facts.systemIdentifier);

  const label = `lifeboat-${randomBytes(6).toString("hex")}`;
  const readAfter = () => readFingerprintAfter(location, source.content_hashes === true);
  // pg_basebackup connects with the label as its application_name, which is how the watch finds it.
  const early = readDuringArchiveWait(location, label, readAfter, context.log);
  let backupLabel: string;
  try {
    backupLabel = await streamBaseBackup(location, label, sink, context);
  } finally {
    early.stop();
  }
  const start = parseBackupLabel(backupLabel);
  const historyName = `${start.startSegment}.${(start.startLsn % BigInt(facts.segmentSize)).toString(16).toUpperCase().padStart(8, "0")}.backup`;
  const history = await waitForHistory(wal, historyName, where, context);
  await requireSegments(wal, history, facts.segmentSize, where);
  const after = (await early.result()) ?? (await readAfter());

  const stopSegment = segmentName(
    history.stopTimeline,
    segmentNumberOf(history.stopLsn, facts.segmentSize),
    facts.segmentSize,
  );
  return {
    consistentAt: after.stoppedAt.toISOString(),
    fingerprint: after.fingerprint,
    engineMeta: {
      format: "physical",
      server_version: facts.serverVersion,
      server_version_num: facts.serverVersionNum,
      system_identifier: facts.systemIdentifier,
      in_recovery: facts.inRecovery,
      database: location.database,
      host: location.host ?? null,
      port: location.port ?? null,
      label,
      timeline: history.startTimeline,
      stop_timeline: history.stopTimeline,
      start_lsn: formatLsn(history.startLsn),
      stop_lsn: formatLsn(history.stopLsn),
      start_segment: start.startSegment,
      stop_segment: stopSegment,
      backup_history_file: historyName,
      wal_segment_size: facts.segmentSize,
      data_checksums: facts.dataChecksums,
      // Server clock: the backup started no earlier than this, and was consistent no later than stop_time.
      start_time: facts.startedAt.toISOString(),
      stop_time: after.stoppedAt.toISOString(),
      fingerprint_lsn: after.lsn,
    },
  };
}

async function readClusterFacts(location: PgLocation): Promise<ClusterFacts> {
  return withClient(location, "SOURCE_UNREACHABLE", async (client) => {
    const server = await readServerInfo(client);
    if (server.systemIdentifier === null) {
      throw new LifeboatError(
        "SOURCE_UNREACHABLE",
        `${describeLocation(location)}: the role may not read pg_control_system(), so the cluster cannot be identified`,
        {
          hint: "Physical backups connect as a superuser or a role with REPLICATION and pg_read_all_settings.",
        },
      );
    }
    const result = await client.query<{
      segment_size: string;
      archive_mode: string;
      archive_command: string;
      data_checksums: string;
      now: Date;
    }>(`SELECT (SELECT setting FROM pg_settings WHERE name = 'wal_segment_size') AS segment_size,
               current_setting('archive_mode') AS archive_mode,
               current_setting('archive_command') AS archive_command,
               current_setting('data_checksums') AS data_checksums,
               now() AS now`);
    const row = result.rows[0]!;
    return {
      serverVersion: server.serverVersion,
      serverVersionNum: server.serverVersionNum,
      systemIdentifier: server.systemIdentifier,
      inRecovery: server.inRecovery,
      segmentSize: Number(row.segment_size),
      archiveMode: row.archive_mode,
      archiveCommand: row.archive_command,
      dataChecksums: row.data_checksums === "on",
      startedAt: new Date(row.now),
    };
  });
}

/** Run pg_basebackup into the sink; returns the backup_label it wrote first into the tar. */
async function streamBaseBackup(
  location: PgLocation,
  label: string,
  sink: ArtifactSink,
  context: EngineContext,
): Promise<string> {
  const connection = toolConnection(taggedLocation(location, label));
  const args = [
    "--pgdata=-",
    "--format=tar",
    "--wal-method=none",
    "--checkpoint=fast",
    `--label=${label}`,
    "--no-password",
    ...connection.args,
  ];
  context.log.debug(`pg_basebackup ${args.join(" ")}`);
  const run = context.runner.start("pg_basebackup", args, {
    env: connection.env,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const labelReader = new BackupLabelReader();
  const tee = run.stdout.pipe(labelReader).pipe(new PassThrough({ highWaterMark: 1024 * 1024 }));
  run.stdout.on("error", (error) => tee.destroy(error));
  // A store that fails stops reading: pg_basebackup would block on its pipe for ever, so it is stopped.
  // The pipe's buffers are read by nothing after the label reader has seen them: handed over.
  const storing = sink.write(baseTarArtifact, tee, { handOver: true }).catch((error: unknown) => {
    run.child.kill("SIGTERM");
    throw error;
  });
  const [stored, exited] = await Promise.allSettled([storing, run.done]);
  context.signal?.throwIfAborted();
  if (stored.status === "rejected") throw stored.reason;
  if (exited.status === "rejected") throw exited.reason;
  if (!exited.value.ok)
    throw toolFailure(exited.value, `taking a base backup of ${describeLocation(location)}`);
  const text = labelReader.label;
  if (text === undefined) {
    throw new LifeboatError(
      "SOURCE_TOOL_FAILED",
      `pg_basebackup's tar from ${describeLocation(location)} does not start with backup_label`,
    );
  }
  return text;
}

/** Passes a tar through unchanged and keeps the contents of its first entry when that is backup_label. */
class BackupLabelReader extends Transform {
  label: string | undefined;
  #head: Buffer[] = [];
  #headBytes = 0;
  #done = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (!this.#done) {
      this.#head.push(chunk);
      this.#headBytes += chunk.length;
      this.#tryParse();
    }
    this.push(chunk);
    callback();
  }

  #tryParse(): void {
    if (this.#headBytes < 512) return;
    const head = Buffer.concat(this.#head);
    const name = head.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const size = parseInt(head.subarray(124, 136).toString("ascii").replace(/\0.*$/s, "").trim(), 8);
    if (name !== "backup_label" || !Number.isFinite(size)) {
      this.#done = true;
      return;
    }
    if (head.length < 512 + size) return;
    this.label = head.subarray(512, 512 + size).toString("utf8");
    this.#done = true;
    this.#head = [];
  }
}

async function waitForHistory(
  wal: WalFiles,
  name: string,
  where: string,
  context: EngineContext,
): Promise<BackupHistory> {
  const deadline = Date.now() + HISTORY_WAIT_MS;
  for (;;) {
    const bytes = await wal.read(name);
    if (bytes) return parseBackupHistory(bytes.toString("utf8"));
    if (Date.now() > deadline) {
      throw new LifeboatError(
        "WAL_ARCHIVE_MISSING",
        `the base backup of ${where} finished, but its backup history file ${name} did not reach Lifeboat's WAL archive within ${HISTORY_WAIT_MS / 1000}s: the source's archive_command does not push to this repository and source`,
      );
    }
    context.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every segment from the backup's start to its stop must be archived before the backup counts. */
async function requireSegments(
  wal: WalFiles,
  history: BackupHistory,
  segmentSize: number,
  where: string,
): Promise<void> {
  const archived = new Set(await wal.list());
  const first = segmentNumberOf(history.startLsn, segmentSize);
  const last = segmentNumberOf(history.stopLsn, segmentSize);
  for (let number = first; number <= last; number++) {
    const name = segmentName(history.stopTimeline, number, segmentSize);
    if (!archived.has(name)) {
      throw new LifeboatError(
        "WAL_GAP",
        `the base backup of ${where} needs WAL segment ${name}, which is not in Lifeboat's archive`,
        { details: { missing: name } },
      );
    }
  }
}

async function readFingerprintAfter(
  location: PgLocation,
  contentHashes: boolean,
): Promise<{ fingerprint: Fingerprint; lsn: string; stoppedAt: Date }> {
  return withClient(location, "SOURCE_UNREACHABLE", async (client) => {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const point = await client.query<{ lsn: string; now: Date }>(
      "SELECT pg_current_wal_lsn()::text AS lsn, clock_timestamp() AS now",
    );
    const fingerprint = await readFingerprint(client, { contentHashes });
    await client.query("COMMIT");
    const row = point.rows[0]!;
    return { fingerprint, lsn: row.lsn, stoppedAt: new Date(row.now) };
  });
}
