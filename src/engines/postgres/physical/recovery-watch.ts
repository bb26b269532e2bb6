// Watching a server recover, without connecting to it: its log says when
// replay stopped (and why), pg_controldata says when it left recovery. A
// connection is not needed, so this works for a server whose pg_hba.conf
// admits nobody Lifeboat can be, and for one that never accepts
// connections (recovery_target_action = shutdown).

import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { RecoveryAction } from "../../../domain/wal.ts";
import { LifeboatError } from "../../../errors.ts";
import type { ProcessRunner, RunOptions } from "../../../runtime/process.ts";

const POLL_MS = 100;
const PID_FILE_GRACE_MS = 3000;
/** Replay logs every restored file: this long without a new line means it waits for something that never comes. */
const STALL_MS = 5 * 60_000;

export interface WatchedServer {
  readonly binDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly runner: ProcessRunner;
  readonly asServer: RunOptions;
  /** Fail when the log stays unchanged this long (default 5 minutes). */
  readonly stallMs?: number;
}

export interface RecoveryEnd {
  /** "redo done at X/Y": where replay ended. */
  readonly reachedLsn?: string;
  /** "selected new timeline ID: N" after a promotion; the recovery timeline otherwise. */
  readonly timeline?: number;
  /** Seconds from the start until replay stopped, and from then until the server left recovery. */
  readonly replaySeconds: number;
  readonly promoteSeconds: number;
}

/** Wait until the server has reached the recovery target and done `action`; fails with its log's words otherwise. */
export async function waitForRecovery(
  server: WatchedServer,
  action: RecoveryAction | "end-of-wal",
  signal?: AbortSignal,
): Promise<RecoveryEnd> {
  const started = Date.now();
  let replayStoppedAt: number | undefined;
  let lastLog = "";
  let lastChange = started;
  for (;;) {
    signal?.throwIfAborted();
    const log = await readFile(server.logFile, "utf8").catch(() => "");
    if (log !== lastLog) [lastLog, lastChange] = [log, Date.now()];
    if (Date.now() - lastChange > (server.stallMs ?? STALL_MS)) {
      throw new LifeboatError(
        "RECOVERY_FAILED",
        `PostgreSQL has logged nothing for ${Math.round((Date.now() - lastChange) / 1000)}s while recovering ${server.dataDir}; it is stuck:\n${logTail(log)}`,
        { details: { dataDir: server.dataDir, log: server.logFile } },
      );
    }
    const running = await isRunning(server.dataDir);
    unreachedTarget(log);
    insufficientSettings(log);
    const stopped = /recovery stopping (?:before|after)|redo done at|recovery has paused/.test(log);
    if (stopped) replayStoppedAt ??= Date.now();
    // The log, not pg_control: a base backup's pg_control says "in production" before recovery even began.
    const promoted =
      /archive recovery complete|selected new timeline ID/.test(log) &&
      /database system is ready to accept connections/.test(log.slice(log.search(/redo done at/))) &&
      (await clusterState(server)) === "in production";
    const done =
      action === "pause"
        ? /recovery has paused/.test(log)
        : action === "shutdown"
          ? !running && stopped
          : promoted;
    if (done) {
      const now = Date.now();
      const stopAt = replayStoppedAt ?? now;
      return {
        ...reachedOf(log),
        replaySeconds: (stopAt - started) / 1000,
        promoteSeconds: (now - stopAt) / 1000,
      };
    }
    // pg_ctl -W returns before the postmaster wrote its pid file: allow it a moment to appear.
    if (!running && (/\b(FATAL|PANIC):/.test(log) || Date.now() - started > PID_FILE_GRACE_MS)) {
      throw new LifeboatError(
        "RECOVERY_FAILED",
        `PostgreSQL stopped while recovering ${server.dataDir}:\n${logTail(log)}`,
        {
          details: { dataDir: server.dataDir, log: server.logFile },
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function insufficientSettings(log: string): void {
  const detail = /insufficient parameter settings[\s\S]*?DETAIL:\s+(.+)/.exec(log)?.[1];
  if (!detail || !/recovery has paused/.test(log)) return;
  throw new LifeboatError(
    "RECOVERY_FAILED",
    `recovery paused because the WAL needs a higher setting than the restored server has: ${detail.trim()}`,
    {
      hint: "Start the restored server with that setting at least as high (postgresql.auto.conf), or restore with --target-action promote (no hot standby during recovery).",
    },
  );
}

function unreachedTarget(log: string): void {
  if (!/recovery ended before configured recovery target was reached/.test(log)) return;
  const reached = /redo done at ([0-9A-F]+\/[0-9A-F]+)/.exec(log)?.[1];
  throw new LifeboatError(
    "PITR_TARGET_UNREACHABLE",
    `PostgreSQL replayed every archived WAL record${reached ? ` (up to ${reached})` : ""} without reaching the recovery target: the archive ends before it`,
    { details: { reachedLsn: reached ?? null } },
  );
}

function reachedOf(log: string): { reachedLsn?: string; timeline?: number } {
  const lsn = [...log.matchAll(/redo done at ([0-9A-F]+\/[0-9A-F]+)/g)].at(-1)?.[1];
  const timeline = [...log.matchAll(/selected new timeline ID: (\d+)/g)].at(-1)?.[1];
  return { ...(lsn ? { reachedLsn: lsn } : {}), ...(timeline ? { timeline: Number(timeline) } : {}) };
}

export function logTail(log: string, lines = 8): string {
  return log.trim().split("\n").slice(-lines).join("\n");
}

async function isRunning(dataDir: string): Promise<boolean> {
  return access(join(dataDir, "postmaster.pid")).then(
    () => true,
    () => false,
  );
}

/** pg_controldata's "Database cluster state" (in production, in archive recovery, shut down, ...). */
export async function clusterState(
  server: Pick<WatchedServer, "binDir" | "dataDir" | "runner">,
): Promise<string | undefined> {
  const result = await server.runner.run(join(server.binDir, "pg_controldata"), [server.dataDir]);
  if (!result.ok) return undefined;
  return /^Database cluster state:\s+(.+)$/m.exec(result.stdout)?.[1]?.trim();
}

/** The settings a recovering standby must match or exceed (pg_controldata's "... setting:" lines). */
export async function primarySettings(
  server: Pick<WatchedServer, "binDir" | "dataDir" | "runner">,
): Promise<Record<string, string>> {
  const result = await server.runner.run(join(server.binDir, "pg_controldata"), [server.dataDir]);
  if (!result.ok) return {};
  const read = (label: string) => new RegExp(`^${label} setting:\\s+(\\d+)$`, "m").exec(result.stdout)?.[1];
  const settings: Record<string, string> = {};
  const pairs: [string, string][] = [
    ["max_connections", "max_connections"],
    ["max_worker_processes", "max_worker_processes"],
    ["max_wal_senders", "max_wal_senders"],
    ["max_prepared_xacts", "max_prepared_transactions"],
    ["max_locks_per_xact", "max_locks_per_transaction"],
  ];
  for (const [label, setting] of pairs) {
    const value = read(label);
    if (value !== undefined) settings[setting] = value;
  }
  return settings;
}
