// Lifeboat's side of the PITR benchmark: a physical-mode source archiving
// with `lifeboat wal-push` (synchronous, or wal_push.async for the second
// archiving run), base backups with `lifeboat backup`, and a restore
// to a time that starts the server (`restore --target-time --start`). The
// archiver runs as postgres, so the config, the password file and their folder
// are readable by it and the repository belongs to it.

import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { measure, type Measurement, type MeasureOptions } from "./measure.ts";
import { connectionArgs, pgBin, runTool } from "./pg-cluster.ts";
import { shellWord } from "./pitr-archiving.ts";

export const lifeboatSource = "app-db";

export interface LifeboatPitr {
  readonly dir: string;
  readonly configPath: string;
  readonly repoDir: string;
  /** The script Node runs: the installed package's bin, or the checkout's src/cli/main.ts (--dev). */
  readonly cliPath: string;
  /** `node cli -c config`, ready for a shell. */
  readonly command: string;
}

export async function prepareLifeboatPitr(workDir: string, cliPath: string): Promise<LifeboatPitr> {
  const dir = join(workDir, "lifeboat");
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const configPath = join(dir, "lifeboat.yaml");
  const repoDir = join(dir, "repo");
  const command = [process.execPath, cliPath, "-c", configPath].map(shellWord).join(" ");
  return { dir, configPath, repoDir, cliPath, command };
}

/** The archive_command's real part (the wrapper goes in front of it). */
export function lifeboatArchiveCommand(setup: LifeboatPitr): string {
  return `${setup.command} wal-push ${lifeboatSource} %p`;
}

/** wal_push.async settings for the source; none: each wal-push stores its file itself. */
export interface LifeboatAsyncPush {
  /** Exists and belongs to postgres (the archiver writes the pusher's status files and log there). */
  readonly spoolDir: string;
  readonly parallel: number;
}

/**
 * lifeboat.yaml for the source on `port`. wal-push reads it on every call, so
 * rewriting it switches the archive_command between synchronous and
 * asynchronous pushing without touching PostgreSQL.
 */
export async function writeLifeboatConfig(
  setup: LifeboatPitr,
  port: number,
  asyncPush?: LifeboatAsyncPush,
  extra: { markerDrill?: boolean; streamDir?: string } = {},
): Promise<void> {
  const walPush = asyncPush
    ? `, wal_push: { async: true, spool_dir: "${asyncPush.spoolDir}", parallel: ${asyncPush.parallel} }`
    : "";
  const drill = extra.markerDrill ? ", drill: { marker: true }" : "";
  const stream = extra.streamDir ? `, wal_stream: { dir: "${extra.streamDir}" }` : "";
  await writeFile(
    setup.configPath,
    [
      `repository: { url: "file://${setup.repoDir}", password_file: "${passwordFile(setup)}" }`,
      "sources:",
      `  ${lifeboatSource}: { engine: postgres, url: "postgres://postgres@127.0.0.1:${port}/postgres", mode: physical${walPush}${drill}${stream} }`,
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
}

const passwordFile = (setup: LifeboatPitr) => join(setup.dir, "password");

/** Config (once the source's port is known), password file, `init`, and the repository handed to postgres. */
export async function initLifeboatRepository(setup: LifeboatPitr, port: number): Promise<void> {
  await writeFile(passwordFile(setup), "bench-only-password-not-a-secret\n", { mode: 0o644 });
  await writeLifeboatConfig(setup, port);
  const init = await runTool(process.execPath, [setup.cliPath, "-c", setup.configPath, "init"]);
  if (init.code !== 0) throw new Error(`lifeboat init failed: ${init.stderr.trim()}`);
  await chownToPostgres(setup.repoDir);
}

/** The archiver (as postgres) writes into the repository that root's commands made. */
export async function chownToPostgres(path: string): Promise<void> {
  const outcome = await runTool("chown", ["-R", "postgres:postgres", path]);
  if (outcome.code !== 0) throw new Error(`chown -R postgres ${path}: ${outcome.stderr.trim()}`);
}

export interface LifeboatBaseBackup {
  readonly measurement: Measurement;
  readonly bytesRead?: number;
  readonly bytesStored?: number;
  readonly snapshotId?: string;
}

export async function lifeboatBaseBackup(
  setup: LifeboatPitr,
  label: string,
  options: MeasureOptions,
): Promise<LifeboatBaseBackup> {
  const measurement = await measure(label, `${setup.command} backup ${lifeboatSource} --json`, {
    ...options,
    watch: ["pg_basebackup"],
  });
  const snapshot = parseJson(measurement.stdout)?.["snapshots"];
  const first = Array.isArray(snapshot) ? (snapshot[0] as Record<string, unknown>) : undefined;
  return {
    measurement,
    ...(typeof first?.["bytesRead"] === "number" ? { bytesRead: first["bytesRead"] } : {}),
    ...(typeof first?.["bytesStored"] === "number" ? { bytesStored: first["bytesStored"] } : {}),
    ...(typeof first?.["id"] === "string" ? { snapshotId: first["id"] } : {}),
  };
}

export interface PitrRestoreRun {
  readonly measurement: Measurement;
  /** Lifeboat's own phases from --json (seconds): layDown, replay, promote. */
  readonly phases?: Record<string, number>;
}

/**
 * `restore --target-time --start` returns once recovery has ended and the
 * server was promoted; the script then makes one write, so the clock stops
 * where pgBackRest's does: when the server has accepted a write.
 */
export async function lifeboatPitrRestore(
  setup: LifeboatPitr,
  dataDir: string,
  port: number,
  targetTime: string,
  options: MeasureOptions,
): Promise<PitrRestoreRun> {
  const measurement = await measure(
    "lifeboat restore --target-time --start",
    [
      `${setup.command} restore ${lifeboatSource} --to ${shellWord(dataDir)} --target-time ${shellWord(targetTime)} --start --port ${port} --json`,
      writeProbe(port),
    ].join("\n"),
    options,
  );
  const phases = parseJson(measurement.stdout)?.["phases"];
  return {
    measurement,
    ...(phases && typeof phases === "object" ? { phases: phases as Record<string, number> } : {}),
  };
}

/** A shell line that creates a table and inserts a row: fails unless the server accepts writes. */
export function writeProbe(port: number): string {
  return `${join(pgBin, "psql")} ${connectionArgs(port).join(" ")} -d postgres -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE bench_write_probe (id int); INSERT INTO bench_write_probe VALUES (1)"`;
}

function parseJson(stdout: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
