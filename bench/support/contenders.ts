// The three ways of backing up and restoring the bench database, each measured
// the same way (GNU time around a bash script). Restores go to a second
// cluster so that pg_dumpall's output, which recreates every database, lands
// somewhere fresh; the other restores go into new, empty databases there.

import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { duBytes, measure, type Measurement, type MeasureOptions } from "./measure.ts";
import { connectionArgs, pgBin, type BenchCluster } from "./pg-cluster.ts";
import { benchDatabase, contentSummary } from "./dataset.ts";

export interface ContenderResult {
  readonly backup: Measurement;
  readonly restore?: Measurement;
  readonly storedBytes?: number;
  readonly restoredSummary?: string;
  readonly note?: string;
}

const conn = (cluster: BenchCluster) => connectionArgs(cluster.port).join(" ");
const bin = (tool: string) => join(pgBin, tool);

async function freshRestoreStep(target: BenchCluster) {
  // Dirty pages of the previous restore must not be flushed on the next one's clock.
  await target.psql("CHECKPOINT");
}

/** The seeds' nightly runbook: pg_dumpall | gzip, restored with gunzip -c | psql. */
export async function runSeedPipeline(source: BenchCluster, target: BenchCluster, options: MeasureOptions) {
  const dumpFile = join(options.workDir, "dump.sql.gz");
  await source.psql("CHECKPOINT");
  const backup = await measure(
    "seed backup",
    `${bin("pg_dumpall")} ${conn(source)} | gzip > ${dumpFile}`,
    options,
  );
  if (!backup.ok) return { backup } satisfies ContenderResult;
  const storedBytes = (await stat(dumpFile)).size;
  await freshRestoreStep(target);
  // No ON_ERROR_STOP, as in the runbook: "role postgres already exists" is expected.
  const restore = await measure(
    "seed restore",
    `gunzip -c ${dumpFile} | ${bin("psql")} ${conn(target)} -d postgres -X -q -o /dev/null`,
    options,
  );
  const restoredSummary = restore.ok ? await summaryOrError(target, benchDatabase) : undefined;
  return { backup, restore, storedBytes, restoredSummary } satisfies ContenderResult;
}

/** The floor: PostgreSQL's own parallel directory-format dump and restore, no compression. */
export async function runRawFloor(source: BenchCluster, target: BenchCluster, options: MeasureOptions) {
  const dumpDir = join(options.workDir, "raw-dump");
  await rm(dumpDir, { recursive: true, force: true }); // pg_dump -Fd refuses an existing directory
  await source.psql("CHECKPOINT");
  const backup = await measure(
    "raw backup",
    `${bin("pg_dump")} ${conn(source)} -Fd -j2 -Z0 -f ${dumpDir} ${benchDatabase}`,
    options,
  );
  if (!backup.ok) return { backup } satisfies ContenderResult;
  const storedBytes = await duBytes(dumpDir);
  await target.psql("CREATE DATABASE restored_raw");
  await freshRestoreStep(target);
  const restore = await measure(
    "raw restore",
    `${bin("pg_restore")} ${conn(target)} -j2 -d restored_raw ${dumpDir}`,
    options,
  );
  const restoredSummary = restore.ok ? await summaryOrError(target, "restored_raw") : undefined;
  return { backup, restore, storedBytes, restoredSummary } satisfies ContenderResult;
}

export interface LifeboatSetup {
  readonly cliPath: string;
  readonly configPath: string;
  readonly repoDir: string;
  readonly env: NodeJS.ProcessEnv;
}

export async function prepareLifeboat(source: BenchCluster, workDir: string, cliPath: string, jobs: number) {
  const repoDir = join(workDir, "lifeboat-repo");
  const configPath = join(workDir, "lifeboat.yaml");
  await writeFile(
    configPath,
    [
      `repository: { url: "file://${repoDir}", password_env: LIFEBOAT_PASSWORD }`,
      "sources:",
      `  bench-db: { engine: postgres, url: "${source.url(benchDatabase)}", jobs: ${jobs} }`,
      "",
    ].join("\n"),
  );
  const env = { LIFEBOAT_PASSWORD: "bench-only-password-not-a-secret" };
  return { cliPath, configPath, repoDir, env } satisfies LifeboatSetup;
}

/** Writes the process's own CPU seconds where LIFEBOAT_BENCH_OWN_CPU says (own-cpu.ts). */
const ownCpuHook = fileURLToPath(new URL("./own-cpu.ts", import.meta.url));

/** Set to a directory to run every Lifeboat command under `node --cpu-prof` (slower; for finding hot spots). */
export const profiling = { dir: "" };

export function lifeboatCommand(setup: LifeboatSetup, args: string): string {
  const prof = profiling.dir ? `--cpu-prof --cpu-prof-dir=${profiling.dir} ` : "";
  return `${process.execPath} --import=${ownCpuHook} ${prof}${setup.cliPath} -c ${setup.configPath} ${args}`;
}

/** A fresh, empty repository: every round's first backup is a full one. */
export async function lifeboatInit(setup: LifeboatSetup, options: MeasureOptions) {
  await rm(setup.repoDir, { recursive: true, force: true });
  return measure("lifeboat init", lifeboatCommand(setup, "init"), { ...options, env: setup.env });
}

export interface LifeboatRound {
  readonly backup?: LifeboatBackup;
  readonly restore?: Measurement;
  readonly restoredSummary?: string;
  readonly restorePhases?: Record<string, number>;
  readonly repoBytesAfterFirst?: number;
  readonly problem?: string;
}

/** init, full backup, restore into a new database: one round of Lifeboat. */
export async function runLifeboatRound(
  setup: LifeboatSetup,
  source: BenchCluster,
  target: BenchCluster,
  options: MeasureOptions,
): Promise<LifeboatRound> {
  const init = await lifeboatInit(setup, options);
  if (!init.ok) return { problem: `init failed (exit ${init.exitCode}): ${init.stderrTail.trim()}` };
  const backup = await lifeboatBackup(setup, source, "lifeboat backup", options);
  if (!backup.measurement.ok) {
    const { exitCode, stderrTail } = backup.measurement;
    return { backup, problem: `backup failed (exit ${exitCode}): ${stderrTail.trim()}` };
  }
  const repoBytesAfterFirst = await duBytes(setup.repoDir);
  const { restore, restoredSummary, phases } = await lifeboatRestore(setup, target, options);
  const problem = restore.ok
    ? undefined
    : `restore failed (exit ${restore.exitCode}): ${restore.stderrTail.trim()}`;
  return { backup, restore, restoredSummary, restorePhases: phases, repoBytesAfterFirst, problem };
}

export interface LifeboatBackup {
  readonly measurement: Measurement;
  readonly snapshotId?: string;
  readonly bytesRead?: number;
  readonly bytesStored?: number;
  /** CPU seconds of the Lifeboat process itself, all threads, pg_dump excluded. */
  readonly ownCpuSeconds?: number;
  /** Repository size growth (du -sb) across this backup: what the backup really added. */
  readonly repoGrowth?: number;
}

export async function lifeboatBackup(
  setup: LifeboatSetup,
  source: BenchCluster,
  label: string,
  options: MeasureOptions,
): Promise<LifeboatBackup> {
  await source.psql("CHECKPOINT");
  const before = await duBytes(setup.repoDir).catch(() => 0);
  const cpuFile = join(options.workDir, `own-cpu-${Date.now()}.json`);
  const measurement = await measure(label, lifeboatCommand(setup, "backup bench-db --json"), {
    ...options,
    env: { ...setup.env, LIFEBOAT_BENCH_OWN_CPU: cpuFile },
    watch: ["pg_dump"],
  });
  const ownCpuSeconds = await readFile(cpuFile, "utf8")
    .then((text) => (JSON.parse(text) as { seconds: number }).seconds)
    .catch(() => undefined);
  await rm(cpuFile, { force: true });
  if (!measurement.ok) return { measurement };
  const repoGrowth = (await duBytes(setup.repoDir)) - before;
  const snapshot = firstSnapshot(measurement.stdout);
  return {
    measurement,
    repoGrowth,
    snapshotId: typeof snapshot?.id === "string" ? snapshot.id : undefined,
    bytesRead: typeof snapshot?.bytesRead === "number" ? snapshot.bytesRead : undefined,
    bytesStored: typeof snapshot?.bytesStored === "number" ? snapshot.bytesStored : undefined,
    ownCpuSeconds,
  };
}

export async function lifeboatRestore(
  setup: LifeboatSetup,
  target: BenchCluster,
  options: MeasureOptions,
): Promise<{ restore: Measurement; restoredSummary?: string; phases?: Record<string, number> }> {
  await target.psql("CREATE DATABASE restored_lb");
  await freshRestoreStep(target);
  const restore = await measure(
    "lifeboat restore",
    lifeboatCommand(setup, `restore bench-db --to ${target.url("restored_lb")} --json`),
    { ...options, env: setup.env, watch: ["pg_restore"] },
  );
  const restoredSummary = restore.ok ? await summaryOrError(target, "restored_lb") : undefined;
  return { restore, restoredSummary, phases: restorePhases(restore.stdout) };
}

/** `restore --json` reports seconds per phase (restore, verify): where the restore's time went. */
function restorePhases(stdout: string): Record<string, number> | undefined {
  try {
    const parsed = JSON.parse(stdout) as { phases?: Record<string, number> };
    return parsed.phases;
  } catch {
    return undefined;
  }
}

function firstSnapshot(stdout: string): Record<string, unknown> | undefined {
  const candidates = [stdout, ...stdout.trim().split("\n").reverse()];
  for (const text of candidates) {
    try {
      const parsed = JSON.parse(text) as { snapshots?: Record<string, unknown>[] } & Record<string, unknown>;
      if (Array.isArray(parsed.snapshots)) return parsed.snapshots[0];
      if (typeof parsed.bytesStored === "number") return parsed;
    } catch {
      // not JSON; try the next candidate
    }
  }
  return undefined;
}

async function summaryOrError(cluster: BenchCluster, database: string): Promise<string> {
  return contentSummary(cluster, database).catch((error: Error) => `error: ${error.message}`);
}
