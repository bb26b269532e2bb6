// Point-in-time restore of a source with base backups: plan from the
// snapshots and the WAL archive (plan/pitr.ts) and refuse an unreachable
// target before anything is written; then let the engine lay down and
// recover, feeding a server Lifeboat starts from the archive ahead of replay.

import type { SourceConfig } from "../engines/config.ts";
import type { PitrSupport, RecoveryOutcome, RecoveryStart } from "../engines/engine.ts";
import type { BaseBackup, RecoveryAction, RecoveryTarget } from "../domain/wal.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { LifeboatError } from "../errors.ts";
import { planRecovery, type RecoveryPlan } from "../plan/pitr.ts";
import type { OperationContext } from "./context.ts";
import type { PreservedCopy, PreservedRecord } from "../domain/preserved.ts";
import { preserveFor } from "./preserve-request.ts";
import { withTempDir } from "./temp-dir.ts";
import { pitrOf, readArchiveState } from "./wal.ts";
import { startWalFeed } from "./wal-feed.ts";

export interface PitrRestoreRequest {
  readonly sourceName: string;
  readonly source: SourceConfig;
  readonly target: RecoveryTarget;
  readonly action: RecoveryAction;
  /** A data directory path; ignored for a throwaway recovery. */
  readonly to: string;
  /** A snapshot id or prefix to start from; absent: the newest base backup that reaches the target. */
  readonly snapshot?: string;
  readonly timeline?: number;
  readonly force: boolean;
  /** Keep a directory --force replaces as `<datadir>.pre_restore_<stamp>` (the default; false: --no-preserve). */
  readonly preserve?: boolean;
  /** Told of the kept directory the moment it is kept. */
  readonly onKept?: (copy: PreservedRecord) => void;
  readonly dryRun: boolean;
  /** Builds the restore_command for the cluster (it calls `lifeboat wal-fetch`). */
  readonly restoreCommand: (systemId: string) => string;
  /** Start the recovered server (on this port, or a throwaway one for drills). */
  readonly start?: { readonly port?: number; readonly throwaway: boolean };
}

export interface PitrRestoreResult {
  readonly plan: RecoveryPlan;
  readonly snapshot: Snapshot;
  readonly systemId: string;
  readonly dryRun: boolean;
  readonly outcome?: RecoveryOutcome;
  /** The replaced data directory, kept aside. */
  readonly preserved?: readonly PreservedRecord[];
}

/** The base backups of a source, newest last, each with its snapshot. */
export async function baseBackupsOf(
  context: OperationContext,
  sourceName: string,
  pitr: PitrSupport<SourceConfig>,
): Promise<{ backup: BaseBackup; snapshot: Snapshot }[]> {
  const snapshots = await context.repository.listSnapshots({ source: sourceName });
  return snapshots.flatMap((snapshot) => {
    const backup = pitr.baseBackupOf(snapshot);
    return backup ? [{ backup, snapshot }] : [];
  });
}

export async function planPitrRestore(
  context: OperationContext,
  request: Pick<PitrRestoreRequest, "sourceName" | "source" | "target" | "snapshot" | "timeline">,
): Promise<{ plan: RecoveryPlan; snapshot: Snapshot; systemId: string }> {
  const pitr = pitrOf(context, request.sourceName, request.source);
  const all = await baseBackupsOf(context, request.sourceName, pitr);
  let chosen: Snapshot | undefined;
  if (request.snapshot !== undefined && request.snapshot !== "latest") {
    chosen = await context.repository.findSnapshot(request.snapshot, request.sourceName);
    if (!pitr.baseBackupOf(chosen)) {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `snapshot ${chosen.id.slice(0, 8)} is a logical snapshot: point-in-time targets need a base backup`,
        {
          hint: "Leave out --snapshot (the newest base backup that reaches the target is chosen), or name a physical snapshot (lifeboat snapshots).",
        },
      );
    }
  }
  const newest = all.at(-1);
  if (!newest) {
    throw new LifeboatError("SNAPSHOT_NOT_FOUND", `there is no base backup of ${request.sourceName} yet`, {
      hint: `Take one with \`lifeboat backup ${request.sourceName}\` (mode: physical).`,
    });
  }
  // A re-initialised cluster has a new identifier: recover within the chosen (or newest) backup's cluster.
  const systemId = (chosen ? pitr.baseBackupOf(chosen)! : newest.backup).systemId;
  const candidates = all.filter((entry) => entry.backup.systemId === systemId);
  const archive = context.repository.walArchive(request.sourceName, systemId);
  const state = await readArchiveState(archive, newest.backup.segmentSize);
  const plan = planRecovery({
    backups: candidates.map((entry) => entry.backup),
    archive: state,
    target: request.target,
    ...(request.timeline !== undefined ? { targetTimeline: request.timeline } : {}),
    ...(chosen ? { chosen: chosen.id } : {}),
  });
  const snapshot = candidates.find((entry) => entry.backup.id === plan.backup.id)!.snapshot;
  return { plan, snapshot, systemId };
}

export async function restoreToPoint(
  context: OperationContext,
  request: PitrRestoreRequest,
): Promise<PitrRestoreResult> {
  const pitr = pitrOf(context, request.sourceName, request.source);
  const to = request.start?.throwaway ? request.to : pitr.checkRecoveryTarget(request.to);
  const { plan, snapshot, systemId } = await planPitrRestore(context, request);
  if (request.dryRun) return { plan, snapshot, systemId, dryRun: true };
  const archive = context.repository.walArchive(request.sourceName, systemId);
  const start: RecoveryStart | undefined = request.start
    ? {
        ...(request.start.port !== undefined ? { port: request.start.port } : {}),
        throwaway: request.start.throwaway,
        feedWal: (spool) =>
          startWalFeed(archive, plan.walFiles, spool, context.signal ? { signal: context.signal } : {}),
      }
    : undefined;
  const keep = request.preserve
    ? preserveFor(context, { source: request.sourceName, engine: request.source.engine, target: to })
    : undefined;
  const outcome = await withTempDir("restore", (tempDir) =>
    pitr.recover(
      {
        artifacts: context.repository.openArtifacts(snapshot),
        engineMeta: snapshot.engineMeta,
        snapshotId: snapshot.id,
        target: request.target,
        action: request.action,
        timeline: plan.timeline,
        force: request.force,
        ...(keep
          ? {
              preserve: {
                stamp: keep.request.stamp,
                kept: (copy: PreservedCopy) => {
                  keep.request.kept(copy);
                  request.onKept?.(keep.kept.at(-1)!);
                },
              },
            }
          : {}),
        restoreCommand: request.restoreCommand(systemId),
        ...(start ? { start } : {}),
      },
      to,
      {
        runner: context.runner,
        log: context.log,
        tempDir,
        ...(context.signal ? { signal: context.signal } : {}),
      },
    ),
  );
  return { plan, snapshot, systemId, dryRun: false, outcome, preserved: keep?.kept ?? [] };
}
