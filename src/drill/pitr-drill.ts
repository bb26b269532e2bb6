// A point-in-time drill of a source with base backups: recover into a
// throwaway server, prove what the restore holds, measure RTO and RPO.
//
//   select  the base backup that reaches the target (plan/pitr.ts)
//   mark    drill.marker: write a marker, take the moment after it, write a
//           second marker, switch WAL, wait until the archive holds it
//   layDown fetch the base backup, extract it, check it against its manifest
//   replay  PostgreSQL replays WAL from the archive up to the target
//   promote the end of recovery, until the server accepts writes
//   verify  markers (the first there, the second not), not empty, user checks
//   hooks   the source's after_restore hooks (docs/readiness.md)
//   ready   its ready probes, polled until all pass: the end of the RTO
//
// RPO is measured from the data when markers are on: the moment asked for
// minus the commit time of the newest marker the restore holds. Without
// markers the drill restores everything archived and measures RPO as the
// drill's start minus the arrival of the newest archived segment: what a
// loss of the primary at that moment would lose, at least.

import type { SourceConfig } from "../engines/config.ts";
import { dataHeld } from "../domain/fingerprint.ts";
import type { ProbeOutcome, Readiness } from "../domain/readiness.ts";
import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import { parseLsn, streamHeadName, type RecoveryTarget } from "../domain/wal.ts";
import type { EngineContext, MarkerPlacement, RecoveryOutcome, ScratchTarget } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "../operations/context.ts";
import { restoreToPoint } from "../operations/pitr-restore.ts";
import { withTempDir } from "../operations/temp-dir.ts";
import { pitrOf, readArchiveState } from "../operations/wal.ts";
import { describeTarget } from "../plan/pitr.ts";
import { redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { runUserCheck } from "./checks.ts";
import { recordDrillFailure } from "./failure.ts";
import { PhaseClock } from "./phase-clock.ts";
import { drillReadiness, notReached } from "./readiness.ts";
import {
  DRILL_REPORT_SCHEMA,
  drillStatus,
  objectiveOutcomes,
  type CheckOutcome,
  type DrillPhases,
  type DrillReport,
  type PointInTimeEvidence,
} from "../domain/drill-report.ts";

/** How long the drill waits for its marker's segment to reach the archive. */
const ARCHIVE_WAIT_MS = 120_000;

export interface PitrDrillRequest {
  readonly sourceName: string;
  readonly source: SourceConfig;
  readonly id: string;
  readonly operator: string;
  /** Pre-drill health: each ready probe tried once before the drill (drill/run.ts). */
  readonly healthBefore?: readonly ProbeOutcome[] | undefined;
}

/** Failures that prove the backup or the archive cannot deliver, as opposed to the drill being unable to run. */
const recoveryFaults = new Set([
  "CHECKSUM_MISMATCH",
  "OBJECT_MISSING",
  "OBJECT_TRUNCATED",
  "VERIFICATION_FAILED",
  "WAL_GAP",
  "RECOVERY_FAILED",
  "PITR_TARGET_UNREACHABLE",
]);

export async function runPitrDrill(
  context: OperationContext,
  request: PitrDrillRequest,
): Promise<DrillReport> {
  const { source, sourceName, id } = request;
  const pitr = pitrOf(context, sourceName, source);
  const engine = context.engineFor(source.engine);
  const startedAt = context.now();
  const clock = new PhaseClock(() => context.now().getTime(), startedAt.getTime());
  const { phases } = clock;
  const lap = (next: keyof DrillPhases) => clock.lap(next);
  const checks: CheckOutcome[] = [];
  const issues: string[] = [];
  let snapshot: Snapshot | undefined;
  let outcome: RecoveryOutcome | undefined;
  let placement: MarkerPlacement | undefined;
  let evidence: PointInTimeEvidence | undefined;
  let rpoAchieved: number | null = null;
  let markersArchivedAfter: number | undefined;
  let verifiedAt: number | undefined;
  let readiness: Readiness | undefined;
  let failedHard = false;
  let kept = false;
  const useMarkers = source.drill?.marker === true;
  if (source.drill?.target?.url) {
    issues.push(
      "drill.target.url is not used by point-in-time drills: they recover into a throwaway local server",
    );
  }

  await withTempDir("drill", async (tempDir) => {
    const engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
    };
    try {
      let target: RecoveryTarget = { kind: "latest" };
      if (useMarkers) {
        lap("mark");
        placement = await pitr.placeMarkers(source, id, engineContext);
        target = placement.target;
        markersArchivedAfter = await waitForMarkers(context, sourceName, placement, engineContext.signal);
      }
      lap("layDown");
      context.log.info(`drill ${sourceName}: recovering to ${describeTarget(target)} in a throwaway server`);
      const restore = await restoreToPoint(context, {
        sourceName,
        source,
        target,
        action: "promote",
        to: "",
        force: false,
        dryRun: false,
        // Unused: a throwaway server reads WAL from the spool Lifeboat feeds (wal-spool.ts).
        restoreCommand: () => "false",
        start: { throwaway: true },
      });
      outcome = restore.outcome!;
      snapshot = restore.snapshot;
      // The engine timed the restore in finer phases; the clock records those.
      clock.replaceWith(
        {
          layDown: outcome.phases.layDown,
          replay: outcome.phases.replay ?? 0,
          promote: outcome.phases.promote ?? 0,
        },
        "verify",
      );
      evidence = {
        target: describeTarget(target),
        rpoMeasuredBy: useMarkers ? "markers" : "archive",
        reachedLsn: outcome.reachedLsn ?? null,
        timeline: outcome.reachedTimeline ?? null,
        walFiles: restore.plan.walFiles.length,
        newestMarker: null,
      };

      if (placement) {
        const found = await pitr.readMarkers(outcome.url!, id, engineContext);
        checks.push(
          markerCheck(
            placement,
            found.ofThisDrill.map((marker) => marker.label),
          ),
        );
        evidence = {
          ...evidence,
          newestMarker: found.newest?.at ?? null,
          walDelivery: placement.switched ? "archive" : "stream",
          ...(markersArchivedAfter !== undefined ? { markersArchivedAfter } : {}),
        };
        rpoAchieved = found.newest
          ? Math.max(
              0,
              (placement.target.kind === "time" ? placement.target.time.getTime() : 0) -
                Date.parse(found.newest.at),
            ) / 1000
          : null;
        if (!found.newest) issues.push("the restore holds no marker at all: the RPO could not be measured");
      } else {
        const segmentSize = pitr.baseBackupOf(restore.snapshot)!.segmentSize;
        const state = await readArchiveState(
          context.repository.walArchive(sourceName, restore.systemId),
          segmentSize,
        );
        const newest = Math.max(...[...state.newestPushedAt.values()].map((date) => date.getTime()));
        rpoAchieved = Number.isFinite(newest) ? Math.max(0, (startedAt.getTime() - newest) / 1000) : null;
      }
      const fingerprint = await engine.fingerprint(outcome.url!, engineContext);
      const held = dataHeld(fingerprint);
      checks.push({
        name: "not empty",
        kind: "not_empty",
        result: held.empty ? "failed" : "passed",
        detail: held.empty ? `the restored server holds no data (${held.detail})` : held.detail,
      });
      const scratch = scratchOf(outcome);
      for (const check of source.drill?.checks ?? []) {
        checks.push(await runUserCheck(check, { engine, scratch, fingerprint, context: engineContext }));
      }
      const verifiedData = checks.every((check) => check.result === "passed");
      readiness = await drillReadiness(
        context,
        source,
        engineContext,
        scratch,
        verifiedData,
        request.healthBefore,
        lap,
        issues,
      );
      lap("teardown");
      if (verifiedData && (readiness?.ok ?? true)) verifiedAt = clock.mark;
    } catch (error) {
      const phase = clock.current;
      lap("teardown");
      failedHard = recordDrillFailure(error, phase, recoveryFaults, { issues, checks }, (failure) => ({
        name: "recovery",
        kind: "fingerprint",
        result: "failed",
        detail: `[${failure.code}] ${failure.message}`,
      })).hard;
    } finally {
      const failed = failedHard || checks.length === 0 || checks.some((check) => check.result !== "passed");
      if (outcome && failed && source.drill?.keep_on_failure && outcome.keep) {
        kept = true;
        issues.push(`scratch server kept for inspection: ${outcome.keep()}`);
      } else if (outcome?.stop) {
        await outcome.stop().catch((error: unknown) => issues.push(`teardown: ${(error as Error).message}`));
      }
      lap("teardown");
    }
  });

  const rtoAchieved =
    verifiedAt === undefined ? null : (verifiedAt - startedAt.getTime()) / 1000 - (phases.mark ?? 0);
  const { rto, rpo } = objectiveOutcomes(source.objectives ?? {}, { rto: rtoAchieved, rpo: rpoAchieved });
  return redactDeep({
    schema: DRILL_REPORT_SCHEMA,
    id,
    source: sourceName,
    engine: source.engine,
    status: drillStatus({ checks, rto, rpo, readiness, failed: failedHard }),
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    operator: request.operator,
    environment: `${context.hostname}, throwaway PostgreSQL server (point-in-time recovery)`,
    snapshot: {
      id: snapshot?.id ?? null,
      selector: "base backup that reaches the target",
      consistentAt: snapshot?.consistentAt ?? null,
      size: snapshot ? totalSize(snapshot) : null,
    },
    scratch: { description: outcome ? `throwaway server in ${outcome.dataDir}` : null, kept },
    phases,
    rto,
    rpo,
    ...(evidence ? { pointInTime: evidence } : {}),
    predictedRto: null,
    checks,
    issues,
    ...((readiness ?? request.healthBefore)
      ? { readiness: readiness ?? notReached(request.healthBefore) }
      : {}),
    lifeboatVersion,
  } satisfies DrillReport);
}

function markerCheck(placement: MarkerPlacement, labels: readonly string[]): CheckOutcome {
  const before = labels.includes("before");
  const after = labels.includes("after");
  const ok = before && !after;
  const at = placement.target.kind === "time" ? placement.target.text : "?";
  return {
    name: "markers",
    kind: "marker",
    result: ok ? "passed" : "failed",
    detail: ok
      ? `the marker written before ${at} is there, the one written after it is not`
      : `restored to ${at}: marker before ${before ? "present" : "MISSING"}, marker after ${after ? "PRESENT (the restore went past its target)" : "absent"}`,
  };
}

function scratchOf(outcome: RecoveryOutcome): ScratchTarget {
  const url = new URL(outcome.url!);
  return {
    target: outcome.url!,
    description: `throwaway server in ${outcome.dataDir}`,
    env: {
      PGHOST: decodeURIComponent(url.hostname),
      PGPORT: url.port,
      PGDATABASE: decodeURIComponent(url.pathname.slice(1)),
      PGUSER: "postgres",
      LIFEBOAT_TARGET: outcome.url!,
    },
    destroy: () => outcome.stop?.() ?? Promise.resolve(),
  };
}

/**
 * Wait until the archive holds the drill's second marker: its segment
 * archived (after the WAL switch), or streamed past it (a stream head whose
 * flushed LSN reaches the marker). Returns the seconds it took.
 */
async function waitForMarkers(
  context: OperationContext,
  sourceName: string,
  placement: MarkerPlacement,
  signal: AbortSignal | undefined,
): Promise<number> {
  const started = Date.now();
  const deadline = started + ARCHIVE_WAIT_MS;
  const { segment } = placement;
  const afterLsn = parseLsn(placement.afterLsn);
  for (;;) {
    for (const systemId of await context.repository.listWalClusters(sourceName)) {
      const archive = context.repository.walArchive(sourceName, systemId);
      const names = await archive.list();
      if (names.includes(segment)) return (Date.now() - started) / 1000;
      if (!placement.switched && names.includes(streamHeadName(segment))) {
        const upTo = (await archive.read(streamHeadName(segment)))?.header.upTo;
        if (upTo !== undefined && parseLsn(upTo) >= afterLsn) return (Date.now() - started) / 1000;
      }
    }
    if (Date.now() > deadline) {
      throw new LifeboatError(
        "WAL_ARCHIVE_MISSING",
        placement.switched
          ? `the drill's marker is in WAL segment ${segment}, which did not reach the archive within ${ARCHIVE_WAIT_MS / 1000}s`
          : `the drill's marker (LSN ${placement.afterLsn}, segment ${segment}) was not streamed into the archive within ${ARCHIVE_WAIT_MS / 1000}s: is \`lifeboat wal-stream ${sourceName}\` running?`,
      );
    }
    signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, placement.switched ? 250 : 200));
  }
}
