// pgBackRest's side of the PITR benchmark, set up as its user guide does for a
// single host: a repository on local disk, encrypted (as Lifeboat's always is)
// and compressed with zstd at level 1 (Lifeboat's level), two processes,
// start-fast, and synchronous `archive-push` as the archive_command (switched
// to archive-async=y for the second archiving run). Every pgBackRest command
// runs as postgres, as it does on a real server.

import { chmod, chown, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { measure, type Measurement, type MeasureOptions } from "./measure.ts";
import { pgBin, runTool, type BenchCluster } from "./pg-cluster.ts";
import { postgresIds, shellWord } from "./pitr-archiving.ts";
import type { PitrRestoreRun } from "./pitr-lifeboat.ts";
import { writeProbe } from "./pitr-lifeboat.ts";

export const stanza = "bench";

/** The options that decide how pgBackRest stores things, shown in the report. */
export const pgbackrestSettings = {
  "compress-type": "zst",
  "compress-level": "1",
  "process-max": "2",
  "start-fast": "y",
  "archive-async": "n",
  "repo1-cipher-type": "aes-256-cbc",
} as const;

export interface PgbackrestSetup {
  readonly dir: string;
  readonly configPath: string;
  readonly repoDir: string;
  /** `runuser -u postgres -- pgbackrest --config=... --stanza=bench`, ready for a shell. */
  readonly command: string;
}

export async function preparePgbackrest(workDir: string): Promise<PgbackrestSetup> {
  const dir = join(workDir, "pgbackrest");
  const { uid, gid } = postgresIds();
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  for (const sub of ["repo", "log", "lock", "spool"]) {
    await mkdir(join(dir, sub), { recursive: true });
    await chown(join(dir, sub), uid, gid);
  }
  const configPath = join(dir, "pgbackrest.conf");
  const command = `runuser -u postgres -- pgbackrest ${shellWord(`--config=${configPath}`)} --stanza=${stanza}`;
  return { dir, configPath, repoDir: join(dir, "repo"), command };
}

/** The archive_command's real part: what pgBackRest's user guide sets. */
export function pgbackrestArchiveCommand(setup: PgbackrestSetup): string {
  return `pgbackrest ${shellWord(`--config=${setup.configPath}`)} --stanza=${stanza} archive-push %p`;
}

/**
 * archive-async=y as the user guide's "Asynchronous Archiving" section sets it:
 * a spool path for the status files and process-max for archive-push alone
 * (backups keep the global process-max).
 */
export interface PgbackrestAsyncPush {
  /** Exists and belongs to postgres. */
  readonly spoolPath: string;
  readonly processMax: number;
}

/**
 * pgbackrest.conf for `source`. archive-push reads it on every call, so
 * rewriting it switches the archive_command between synchronous and
 * asynchronous pushing without touching PostgreSQL.
 */
export async function writePgbackrestConfig(
  setup: PgbackrestSetup,
  source: BenchCluster,
  asyncPush?: PgbackrestAsyncPush,
): Promise<void> {
  const settings = Object.entries(pgbackrestSettings)
    .filter(([name]) => !(asyncPush && name === "archive-async"))
    .map(([name, value]) => `${name}=${value}`);
  await writeFile(
    setup.configPath,
    [
      "[global]",
      `repo1-path=${setup.repoDir}`,
      "repo1-retention-full=99",
      "repo1-cipher-pass=bench-only-password-not-a-secret",
      ...settings,
      ...(asyncPush ? ["archive-async=y"] : []),
      `log-path=${join(setup.dir, "log")}`,
      `lock-path=${join(setup.dir, "lock")}`,
      `spool-path=${asyncPush?.spoolPath ?? join(setup.dir, "spool")}`,
      "log-level-console=warn",
      "log-level-file=detail",
      "",
      ...(asyncPush ? ["[global:archive-push]", `process-max=${asyncPush.processMax}`, ""] : []),
      `[${stanza}]`,
      `pg1-path=${source.dataDir}`,
      `pg1-port=${source.port}`,
      `pg1-socket-path=${source.dataDir}`,
      "pg1-user=postgres",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
}

/** Config (once the source's port is known) and `stanza-create`. */
export async function createStanza(setup: PgbackrestSetup, source: BenchCluster): Promise<void> {
  await writePgbackrestConfig(setup, source);
  for (const step of ["stanza-create", "check"]) {
    const outcome = await runTool("bash", ["-c", `${setup.command} ${step}`]);
    if (outcome.code !== 0) throw new Error(`pgbackrest ${step} failed: ${outcome.stderr.trim()}`);
  }
}

export interface PgbackrestBackup {
  readonly measurement: Measurement;
  readonly type: "full" | "incr";
  /** From `pgbackrest info --output=json` for this backup. */
  readonly label?: string;
  readonly databaseBytes?: number;
  readonly deltaBytes?: number;
  readonly repositoryBytes?: number;
  readonly repositoryDeltaBytes?: number;
}

interface InfoBackup {
  label: string;
  type: string;
  info: { size: number; delta: number; repository: { size: number; delta: number } };
}

export async function pgbackrestBackup(
  setup: PgbackrestSetup,
  type: "full" | "incr",
  label: string,
  options: MeasureOptions,
): Promise<PgbackrestBackup> {
  const measurement = await measure(label, `${setup.command} backup --type=${type}`, options);
  if (!measurement.ok) return { measurement, type };
  const info = await runTool("bash", ["-c", `${setup.command} info --output=json`]);
  const backups = (JSON.parse(info.stdout) as { backup: InfoBackup[] }[])[0]?.backup ?? [];
  const last = backups.at(-1);
  return {
    measurement,
    type,
    ...(last
      ? {
          label: last.label,
          databaseBytes: last.info.size,
          deltaBytes: last.info.delta,
          repositoryBytes: last.info.repository.size,
          repositoryDeltaBytes: last.info.repository.delta,
        }
      : {}),
  };
}

/**
 * `pgbackrest restore --type=time --target-action=promote`, then the server
 * started with pg_ctl -w (archiving off, as Lifeboat's restored copy has it, so
 * the copy never pushes into the source's archive) and polled every 100 ms
 * until it has left recovery; then the same write as Lifeboat's run.
 */
export async function pgbackrestPitrRestore(
  setup: PgbackrestSetup,
  dataDir: string,
  port: number,
  targetTime: string,
  options: MeasureOptions,
): Promise<PitrRestoreRun> {
  const { uid, gid } = postgresIds();
  await mkdir(dataDir, { recursive: true });
  await chmod(dataDir, 0o700);
  await chown(dataDir, uid, gid);
  const psql = `${join(pgBin, "psql")} -h 127.0.0.1 -p ${port} -U postgres -d postgres -X -At`;
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dataDir} -c archive_mode=off`;
  const measurement = await measure(
    "pgbackrest restore --type=time + pg_ctl start",
    [
      `${setup.command} restore ${shellWord(`--pg1-path=${dataDir}`)} --type=time ${shellWord(`--target=${targetTime}`)} --target-action=promote`,
      `runuser -u postgres -- ${join(pgBin, "pg_ctl")} start -D ${shellWord(dataDir)} -w -t 3600 -s -l ${shellWord(join(dataDir, "server.log"))} -o ${shellWord(serverOptions)}`,
      "deadline=$((SECONDS + 3600))",
      `until [ "$(${psql} -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do`,
      '  if [ $SECONDS -ge $deadline ]; then echo "still in recovery after an hour" >&2; exit 1; fi',
      `  if [ ! -f ${shellWord(join(dataDir, "postmaster.pid"))} ]; then echo "the server stopped:" >&2; tail -20 ${shellWord(join(dataDir, "server.log"))} >&2; exit 1; fi`,
      "  sleep 0.1",
      "done",
      writeProbe(port),
    ].join("\n"),
    options,
  );
  return { measurement };
}
