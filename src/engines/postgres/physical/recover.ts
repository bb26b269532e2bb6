// Point-in-time recovery of a physical snapshot: lay the base backup down
// beside the target, prove every file against the backup's own manifest
// (pg_verifybackup), write the recovery settings, move it into place, and
// optionally start the server and wait until it reached the target.
//
// Guards: a target directory a server runs in is never touched; a non-empty
// one is replaced only with `force`, and only after the new one is complete.
// A throwaway recovery (drills) happens in a fresh 0700 directory of its own
// on a unix socket only (local-cluster.ts), whatever the target says.

import { randomBytes } from "node:crypto";
import { chown, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { SOLE_STREAM_AHEAD_BYTES } from "../../../domain/artifacts.ts";
import { LifeboatError } from "../../../errors.ts";
import type { EngineContext, RecoveryInput, RecoveryOutcome } from "../../engine.ts";
import { extractTree } from "../../files/extract.ts";
import { makeClusterHome, serverLogOf, startServerIn, type ClusterHome } from "../local-cluster.ts";
import { findServerBinaries, type ServerBinaries } from "../server-binaries.ts";
import { baseTarArtifact } from "./base-backup.ts";
import {
  recoveryTargetSettings,
  writeMissingConfigFiles,
  writeRecoverySettings,
} from "./recovery-settings.ts";
import { logTail, primarySettings, waitForRecovery, type WatchedServer } from "./recovery-watch.ts";
import { prepareSpool } from "./wal-spool.ts";
import { chownTree, inspectDirectory, serverOwner, swapInto, type ServerOwner } from "./data-dir.ts";

export function checkRecoveryTarget(target: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `a point-in-time restore writes a data directory, not into ${target.replace(/\/\/[^@/]*@/, "//***@")}`,
      { hint: "Pass --to /path/to/new/datadir (an empty or missing directory)." },
    );
  }
  return isAbsolute(target) ? target : resolve(target);
}

export async function recover(
  input: RecoveryInput,
  target: string,
  context: EngineContext,
): Promise<RecoveryOutcome> {
  const binaries = await exactServerBinaries(input.engineMeta, context);
  if (input.start?.throwaway) return recoverThrowaway(input, binaries, context);
  return recoverInto(input, checkRecoveryTarget(target), binaries, context);
}

async function exactServerBinaries(meta: Readonly<Record<string, unknown>>, context: EngineContext) {
  const major = Math.floor(Number(meta["server_version_num"]) / 10000);
  const binaries = await findServerBinaries(major, context);
  if (binaries.major !== major) {
    throw new LifeboatError(
      "TOOL_NOT_FOUND",
      `a physical backup of PostgreSQL ${major} restores only with PostgreSQL ${major}'s own server binaries (found ${binaries.major} in ${binaries.binDir})`,
      { hint: `Install PostgreSQL ${major}'s server package on this host.` },
    );
  }
  return binaries;
}

/** Drills: a fresh throwaway cluster, recovered and left running for the caller to verify and stop. */
async function recoverThrowaway(
  input: RecoveryInput,
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<RecoveryOutcome> {
  const home = await makeClusterHome(binaries, context);
  try {
    const layDownStarted = Date.now();
    await layDown(input, home.dataDir, binaries, context);
    const spool = join(home.dir, "wal-spool");
    const restoreCommand = await prepareSpool(spool, home.user);
    await writeRecoverySettings(
      home.dataDir,
      {
        restore_command: restoreCommand,
        ...recoveryTargetSettings(input.target, input.action, input.timeline),
      },
      `Lifeboat: drill recovery of snapshot ${input.snapshotId.slice(0, 8)}`,
    );
    await writeMissingConfigFiles(home.dataDir);
    // Only the owner may reach it: trust on the socket inside the 0700 home (local-cluster.ts).
    const hbaFile = join(home.dir, "pg_hba.conf");
    await writeFile(hbaFile, "local all all trust\n", { mode: 0o600 });
    if (home.user) {
      await chownTree(home.dataDir, home.user);
      await chown(hbaFile, home.user.uid, home.user.gid);
    }
    const layDownSeconds = (Date.now() - layDownStarted) / 1000;
    context.onPhase?.("restore");
    const feed = await input.start!.feedWal(spool);
    try {
      const watched = watchedOf(home.binaries, home.dataDir, serverLogOf(home), home, context);
      const extra = {
        ...(await primarySettings(watched)),
        hba_file: `'${hbaFile}'`,
        hot_standby: hotStandbyOf(input),
        ssl: "off",
        logging_collector: "off",
        shared_preload_libraries: "''",
      };
      const cluster = await startServerIn(home, extra, context, { wait: false });
      const end = await waitForRecovery(watched, endOf(input), context.signal);
      return {
        dataDir: home.dataDir,
        url: `postgres://postgres@${encodeURIComponent(cluster.socketDir)}:${cluster.port}/${encodeURIComponent(String(input.engineMeta["database"] ?? "postgres"))}`,
        ...(end.reachedLsn ? { reachedLsn: end.reachedLsn } : {}),
        ...(end.timeline !== undefined ? { reachedTimeline: end.timeline } : {}),
        phases: { layDown: layDownSeconds, replay: end.replaySeconds, promote: end.promoteSeconds },
        stop: () => home.remove(),
        keep: () => cluster.keep(String(input.engineMeta["database"] ?? "postgres")),
      };
    } finally {
      await feed.stop();
    }
  } catch (error) {
    await home.remove().catch(() => {});
    throw error;
  }
}

/**
 * Read-only connections during recovery only when the target pauses there.
 * Hot standby makes PostgreSQL pause recovery whenever the WAL raises a
 * setting such as max_connections above the restored server's (a promoted
 * copy that ran with other settings); without it replay simply goes on.
 */
function hotStandbyOf(input: RecoveryInput): "on" | "off" {
  return input.action === "pause" && input.target.kind !== "latest" ? "on" : "off";
}

function endOf(input: RecoveryInput) {
  return input.target.kind === "latest" ? ("end-of-wal" as const) : input.action;
}

function watchedOf(
  binaries: ServerBinaries,
  dataDir: string,
  logFile: string,
  home: Pick<ClusterHome, "asServer">,
  context: EngineContext,
): WatchedServer {
  return { binDir: binaries.binDir, dataDir, logFile, runner: context.runner, asServer: home.asServer };
}

/** An operator's restore: into `target` (absent or empty, or replaced with force), optionally started there. */
async function recoverInto(
  input: RecoveryInput,
  target: string,
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<RecoveryOutcome> {
  const existing = await inspectDirectory(target);
  if (existing.running) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `${target} holds a running PostgreSQL server (postmaster.pid, pid ${existing.running}); a restore never touches a running cluster's directory`,
      { hint: "Stop that server first, or restore into another directory." },
    );
  }
  if (existing.entries > 0 && !input.force) {
    throw new LifeboatError("TARGET_NOT_EMPTY", `${target} is not empty (${existing.entries} entries)`, {
      hint: "Restore into an empty or missing directory, or pass --force to replace it once the restored copy is complete.",
    });
  }
  const owner = await serverOwner(context);
  const partial = join(
    dirname(target),
    `.${basename(target)}.lifeboat-partial-${randomBytes(4).toString("hex")}`,
  );
  const started = Date.now();
  try {
    await layDown(input, partial, binaries, context);
    await writeRecoverySettings(
      partial,
      {
        restore_command: input.restoreCommand,
        ...recoveryTargetSettings(input.target, input.action, input.timeline),
      },
      `Lifeboat: point-in-time restore of snapshot ${input.snapshotId.slice(0, 8)} (${new Date().toISOString()})`,
    );
    const written = await writeMissingConfigFiles(partial);
    if (written.length > 0) {
      context.log.info(
        `wrote minimal ${written.join(" and ")}: the source kept its configuration outside the data directory`,
      );
    }
    if (owner) await chownTree(partial, owner);
    await swapInto(partial, target, existing.entries > 0, input.preserve);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
  const layDownSeconds = (Date.now() - started) / 1000;
  context.onPhase?.("restore");
  if (!input.start) return { dataDir: target, phases: { layDown: layDownSeconds } };
  return startInPlace(input, target, binaries, owner, layDownSeconds, context);
}

async function startInPlace(
  input: RecoveryInput,
  target: string,
  binaries: ServerBinaries,
  owner: ServerOwner | undefined,
  layDownSeconds: number,
  context: EngineContext,
): Promise<RecoveryOutcome> {
  const spool = join(dirname(target), `.${basename(target)}.lifeboat-wal-${randomBytes(4).toString("hex")}`);
  const restoreCommand = await prepareSpool(spool, owner);
  const feed = await input.start!.feedWal(spool);
  const logFile = join(target, "lifeboat-recovery.log");
  const asServer = owner ? { cwd: target, user: owner.name } : { cwd: target };
  try {
    const watched: WatchedServer = {
      binDir: binaries.binDir,
      dataDir: target,
      logFile,
      runner: context.runner,
      asServer,
    };
    const port = input.start!.port;
    const options = [
      ...(port !== undefined ? [`-p ${port}`] : []),
      "-c listen_addresses=localhost",
      `-c restore_command='${restoreCommand}'`,
      "-c logging_collector=off",
      `-c hot_standby=${hotStandbyOf(input)}`,
      ...Object.entries(await primarySettings(watched)).map(([name, value]) => `-c ${name}=${value}`),
    ].join(" ");
    const started = await context.runner.run(
      join(binaries.binDir, "pg_ctl"),
      ["start", "-D", target, "-W", "-s", "-l", logFile, "-o", options],
      asServer,
    );
    if (!started.ok) {
      const log = await readFile(logFile, "utf8").catch(() => "");
      throw new LifeboatError(
        "RECOVERY_FAILED",
        `pg_ctl start failed for ${target}: ${started.stderr.trim()}\n${logTail(log)}`,
      );
    }
    const end = await waitForRecovery(watched, endOf(input), context.signal).catch(async (error: unknown) => {
      // A server that did not reach the target is stopped; its directory stays for inspection.
      await context.runner.run(
        join(binaries.binDir, "pg_ctl"),
        ["stop", "-D", target, "-m", "fast", "-s"],
        asServer,
      );
      throw error;
    });
    return {
      dataDir: target,
      url: `postgres://localhost:${port ?? 5432}/${encodeURIComponent(String(input.engineMeta["database"] ?? "postgres"))}`,
      ...(end.reachedLsn ? { reachedLsn: end.reachedLsn } : {}),
      ...(end.timeline !== undefined ? { reachedTimeline: end.timeline } : {}),
      phases: { layDown: layDownSeconds, replay: end.replaySeconds, promote: end.promoteSeconds },
    };
  } finally {
    await feed.stop();
    await rm(spool, { recursive: true, force: true });
  }
}

/** Extract base.tar into `dir` (made here, 0700) and check it against the backup manifest. */
async function layDown(
  input: RecoveryInput,
  dir: string,
  binaries: ServerBinaries,
  context: EngineContext,
): Promise<void> {
  await mkdir(dir, { mode: 0o700 });
  // No fsync per file: PostgreSQL fsyncs the whole data directory when it starts from a backup_label.
  const baseTar = input.artifacts.open(baseTarArtifact, { aheadBytes: SOLE_STREAM_AHEAD_BYTES });
  await extractTree(baseTar, dir, undefined, context.signal, { sync: false });
  // Every file of the backup's own manifest present, with its size, and nothing else. Its bytes are
  // already proven: the artifact is authenticated chunk by chunk and hashed whole (SHA-256 of
  // pg_basebackup's output), so re-reading every file for its CRC would only add to the RTO.
  const verified = await context.runner.run(join(binaries.binDir, "pg_verifybackup"), [
    "--no-parse-wal",
    "--skip-checksums",
    "--quiet",
    dir,
  ]);
  context.signal?.throwIfAborted();
  if (!verified.ok) {
    throw new LifeboatError(
      "VERIFICATION_FAILED",
      `the restored files of snapshot ${input.snapshotId.slice(0, 8)} do not match the base backup's manifest (pg_verifybackup):\n${verified.stderr.trim().split("\n").slice(0, 10).join("\n")}`,
    );
  }
}
