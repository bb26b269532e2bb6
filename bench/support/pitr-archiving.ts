// The WAL-archiving side of the PITR benchmark: source clusters cloned from one
// generated data directory (the same bytes for every tool), each archiving
// through a timing wrapper around its tool's real archive command, and the
// figures that wrapper and pg_stat_archiver give: seconds PostgreSQL waited per
// segment, and how many finished segments were waiting to be archived.

import { appendFile, chmod, chown, readFile, writeFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { runTool, startDataDir, type BenchCluster } from "./pg-cluster.ts";

/** A word as sh reads it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** A value as postgresql.conf reads it: single-quoted, inner quotes doubled. */
const confString = (value: string) => `'${value.replace(/'/g, "''")}'`;

export function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync("id", [flag, "postgres"]).toString().trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * The wrapper every archive_command goes through: it times the real command
 * alone (the clock is read just before and just after it), appends
 * "start_ns end_ns exit_code file" to the log named by its first argument and
 * exits as the real command did, so PostgreSQL sees the real outcome.
 */
export async function writeArchiveWrapper(workDir: string): Promise<string> {
  const path = join(workDir, "timed-archive.sh");
  await writeFile(
    path,
    [
      "#!/bin/bash",
      "# usage: timed-archive.sh LOG COMMAND... (the last word is %p)",
      "log=$1; shift",
      "start=$(date +%s%N)",
      '"$@"',
      "code=$?",
      "end=$(date +%s%N)",
      'echo "$start $end $code ${@: -1}" >> "$log"',
      "exit $code",
      "",
    ].join("\n"),
  );
  await chmod(path, 0o755);
  return path;
}

export interface ArchivingCluster extends BenchCluster {
  /** The wrapper's log: one line per archive_command run. */
  readonly archiveLog: string;
}

/**
 * A copy of the stopped cluster in `fromDir`, archiving with `archiveCommand`
 * (a shell command line ending in %p) through the timing wrapper. The
 * settings go into the copy's postgresql.conf, so the copy restarts with them.
 */
export async function startArchivingClone(
  fromDir: string,
  toDir: string,
  name: string,
  wrapper: string,
  archiveCommand: string,
): Promise<ArchivingCluster> {
  const copied = await runTool("cp", ["-a", fromDir, toDir]);
  if (copied.code !== 0) throw new Error(`cp -a ${fromDir} ${toDir}: ${copied.stderr.trim()}`);
  const archiveLog = join(toDir, "..", `${name}-archive-times.log`);
  await writeFile(archiveLog, "");
  const { uid, gid } = postgresIds();
  await chown(archiveLog, uid, gid); // the archiver runs as postgres
  const command = `${shellWord(wrapper)} ${shellWord(archiveLog)} ${archiveCommand}`;
  await appendFile(
    join(toDir, "postgresql.conf"),
    `\n# PITR benchmark: every segment through the timing wrapper\narchive_mode = on\narchive_command = ${confString(command)}\n`,
  );
  const cluster = await startDataDir(toDir, name);
  return { ...cluster, archiveLog };
}

export interface ArchiveRun {
  readonly file: string;
  readonly seconds: number;
  readonly exitCode: number;
  /** Seconds since the epoch when the command started. */
  readonly startedAt: number;
}

/** The wrapper's log, parsed; only files whose names look like WAL segments when `segmentsOnly`. */
export async function readArchiveLog(path: string, segmentsOnly = true): Promise<ArchiveRun[]> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [start, end, code, ...rest] = line.split(" ");
      const file = rest.join(" ").split("/").at(-1) ?? "";
      return {
        file,
        seconds: (Number(end) - Number(start)) / 1e9,
        exitCode: Number(code),
        startedAt: Number(start) / 1e9,
      };
    })
    .filter((run) => !segmentsOnly || /^[0-9A-F]{24}$/.test(run.file));
}

/** Empties the wrapper's log, so a phase sees only its own segments. */
export async function clearArchiveLog(path: string): Promise<void> {
  await writeFile(path, "");
}

/** The position of a segment in the WAL stream (16 MiB segments: 256 per log id). */
export function segmentNumber(walFileName: string): number | undefined {
  if (!/^[0-9A-F]{24}/.test(walFileName)) return undefined;
  return parseInt(walFileName.slice(8, 16), 16) * 0x100 + parseInt(walFileName.slice(16, 24), 16);
}

export interface LagSample {
  /** Seconds since sampling started. */
  readonly at: number;
  /** Finished segments between the archiver's last archived one and the one being written. */
  readonly lagSegments: number;
  /** archive_status/*.ready files: the same thing as PostgreSQL's own to-do list. */
  readonly readyFiles: number;
}

const lagQuery = `SELECT pg_walfile_name(pg_current_wal_lsn()) || ' ' ||
  coalesce((SELECT last_archived_wal FROM pg_stat_archiver), '-') || ' ' ||
  (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready')`;

export async function sampleLag(cluster: BenchCluster, since: number): Promise<LagSample> {
  const [current, last, ready] = (await cluster.psql(lagQuery)).split(" ");
  const currentSegment = segmentNumber(current ?? "");
  const lastSegment = segmentNumber(last ?? "");
  const readyFiles = Number(ready);
  const lagSegments =
    currentSegment !== undefined && lastSegment !== undefined
      ? Math.max(0, currentSegment - lastSegment - 1)
      : readyFiles;
  return { at: (performance.now() - since) / 1000, lagSegments, readyFiles };
}

/** Samples the archive lag every `intervalMs` until stopped. */
export function watchLag(cluster: BenchCluster, intervalMs = 1000) {
  const samples: LagSample[] = [];
  const since = performance.now();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const tick = performance.now();
      samples.push(await sampleLag(cluster, since));
      const wait = intervalMs - (performance.now() - tick);
      if (wait > 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    samples,
    async stop(): Promise<LagSample[]> {
      stopped = true;
      await loop;
      return samples;
    },
  };
}

/** Switches to a new segment and waits until the archiver has pushed the finished one. */
export async function switchAndWaitArchived(cluster: BenchCluster, timeoutSeconds = 600): Promise<string> {
  const segment = await cluster.psql("SELECT pg_walfile_name(pg_switch_wal())");
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const last = await cluster.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (last !== "" && last.slice(0, 24) >= segment) return segment;
    if (Date.now() > deadline) {
      const failed = await cluster.psql(
        "SELECT failed_count || ' failed, last failed ' || coalesce(last_failed_wal, '-') FROM pg_stat_archiver",
      );
      throw new Error(
        `${cluster.name}: ${segment} not archived within ${timeoutSeconds} s (last ${last}; ${failed})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
