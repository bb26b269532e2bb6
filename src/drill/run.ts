// One drill: select snapshot -> provision scratch -> restore -> verify ->
// measure -> tear down. Every phase is timed; whatever happens, a report is
// produced (a drill that cannot finish is evidence too), and the scratch
// target is removed unless the drill failed and keep_on_failure is set.

import { randomBytes } from "node:crypto";
import { userInfo } from "node:os";
import type { SourceConfig } from "../engines/config.ts";
import type { FingerprintDifference } from "../domain/fingerprint.ts";
import type { Readiness } from "../domain/readiness.ts";
import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import type { EngineContext, ScratchTarget } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "../operations/context.ts";
import { checkHealth } from "../operations/readiness.ts";
import { restoreAndVerify } from "../operations/restore-and-verify.ts";
import { withTempDir } from "../operations/temp-dir.ts";
import { redact, redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { describeDifferences, fingerprintChecks, runUserCheck } from "./checks.ts";
import { recordDrillFailure } from "./failure.ts";
import { PhaseClock } from "./phase-clock.ts";
import { drillReadiness, notReached, probeContext } from "./readiness.ts";
import { runPitrDrill } from "./pitr-drill.ts";
import {
  DRILL_REPORT_SCHEMA,
  drillStatus,
  objectiveOutcomes,
  type CheckOutcome,
  type DrillPhases,
  type DrillReport,
  type RtoPrediction,
} from "../domain/drill-report.ts";

export interface DrillRequest {
  readonly sourceName: string;
  readonly source: SourceConfig;
  /** Snapshot id or prefix, "latest" or "random". */
  readonly selector: string;
  /**
   * Group drills (drill/group-drill.ts): called once the member is restored
   * and checked, with its scratch target still up; the teardown waits until
   * it returns, so the group's checks can use every member at once.
   */
  readonly holdScratch?: (scratch: ScratchTarget, passed: boolean) => Promise<void>;
  /** Who runs the drill (drill --operator); default: the user@host running it. */
  readonly operator?: string;
  /** Who reviews it (drill --reviewer); absent from the report when not named. */
  readonly reviewer?: string;
  /** Why a target is production (environments:), or undefined: a drill never restores into one. */
  readonly productionReason?: (target: string) => Promise<string | undefined>;
}

/** Refuse a scratch server or target that lifeboat.yaml declares production, before or after it is made. */
export async function refuseProductionScratch(
  request: Pick<DrillRequest, "productionReason">,
  target: string | undefined,
): Promise<void> {
  const reason = target === undefined ? undefined : await request.productionReason?.(target);
  if (reason === undefined) return;
  throw new LifeboatError(
    "BAD_ARGUMENT",
    `the drill's scratch target ${redact(target!)} is production (${reason}): drills never restore into production`,
    {
      hint: "Point drill.target at a scratch server or folder (environments: scratch), or leave it out for a throwaway one.",
    },
  );
}

/** Failures that prove the backup itself does not restore, as opposed to the drill being unable to run. */
const backupFaults = new Set([
  "CHECKSUM_MISMATCH",
  "OBJECT_MISSING",
  "OBJECT_TRUNCATED",
  "VERIFICATION_FAILED",
  "SOURCE_TOOL_FAILED",
]);

export function drillId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

async function selectSnapshot(context: OperationContext, request: DrillRequest): Promise<Snapshot> {
  if (request.selector !== "random")
    return context.repository.findSnapshot(request.selector, request.sourceName);
  const snapshots = await context.repository.listSnapshots({ source: request.sourceName });
  const chosen = snapshots[Math.floor(Math.random() * snapshots.length)];
  if (!chosen) throw new LifeboatError("SNAPSHOT_NOT_FOUND", `no snapshot of ${request.sourceName} to drill`);
  return chosen;
}

export async function runDrill(context: OperationContext, request: DrillRequest): Promise<DrillReport> {
  const { source, sourceName } = request;
  const engine = context.engineFor(source.engine);
  const physical = engine.pitr?.takesBaseBackups(source) ?? false;
  // Pre-drill health: each ready probe once, before the drill's clock starts (it never fails the drill).
  const healthBefore = source.ready?.length
    ? await withTempDir("health", (tempDir) =>
        checkHealth(
          source.ready!,
          probeContext(context, { runner: context.runner, log: context.log, tempDir }),
        ),
      )
    : undefined;
  const startedAt = context.now();
  const id = drillId(startedAt);
  const operator = request.operator ?? `${safeUser()}@${context.hostname}`;
  const reviewer = request.reviewer !== undefined ? { reviewer: request.reviewer } : {};
  if (physical) {
    const pitrReport = await runPitrDrill(context, { sourceName, source, id, operator, healthBefore });
    return { ...pitrReport, ...reviewer };
  }
  const clock = new PhaseClock(() => context.now().getTime(), startedAt.getTime());
  const { phases } = clock;
  const lap = (next: keyof DrillPhases) => clock.lap(next);
  const checks: CheckOutcome[] = [];
  const issues: string[] = [];
  let snapshot: Snapshot | undefined;
  let scratch: ScratchTarget | undefined;
  let verifiedAt: number | undefined;
  let readiness: Readiness | undefined;
  let failedHard = false;
  let kept = false;

  // SIGINT/SIGTERM: stop at the next phase boundary; the finally block below tears down.
  const stopIfInterrupted = () => context.signal?.throwIfAborted();

  await withTempDir("drill", async (tempDir) => {
    let engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
    };
    try {
      snapshot = await selectSnapshot(context, request);
      engineContext = { ...engineContext, restoring: { engineMeta: snapshot.engineMeta, source } };
      lap("start");
      stopIfInterrupted();
      if (!engine.provisionScratch)
        throw new LifeboatError("INTERNAL", `the ${engine.name} engine cannot make scratch targets`);
      await refuseProductionScratch(request, source.drill?.target?.url ?? source.drill?.target?.path);
      scratch = await engine.provisionScratch(
        source,
        {
          ...(source.drill?.target ? { target: source.drill.target } : {}),
          allowSourceServer: source.drill?.allow_source_server ?? false,
          label: `${sourceName}_${id}`,
          keepOnFailure: source.drill?.keep_on_failure ?? false,
        },
        engineContext,
      );
      await refuseProductionScratch(request, scratch.target);
      context.log.info(
        `drill ${sourceName}: restoring snapshot ${snapshot.id.slice(0, 8)} into ${scratch.description}`,
      );
      lap("fetch");
      stopIfInterrupted();
      // The same restore-and-verify pipeline as `lifeboat restore`, so both report the same phases.
      const verified = await restoreAndVerify({
        engine,
        snapshot,
        artifacts: context.repository.openArtifacts(snapshot),
        target: scratch.target,
        options: {},
        context: engineContext,
        now: () => context.now().getTime(),
        onPhase: (phase) => lap(phase),
      });
      stopIfInterrupted();
      checks.push(...fingerprintChecks(snapshot.fingerprint, verified.fingerprint));
      lap("verify");
      for (const check of source.drill?.checks ?? []) {
        checks.push(
          await runUserCheck(check, {
            engine,
            scratch,
            fingerprint: verified.fingerprint,
            context: engineContext,
          }),
        );
      }
      const verifiedData = checks.every((check) => check.result === "passed");
      readiness = await drillReadiness(
        context,
        source,
        engineContext,
        scratch,
        verifiedData,
        healthBefore,
        lap,
        issues,
      );
      lap("teardown");
      // Recovered means verified and, with ready probes, serving: else the RTO is unmeasured (docs/readiness.md).
      if (verifiedData && (readiness?.ok ?? true)) verifiedAt = clock.mark;
      await request.holdScratch?.(scratch, verifiedAt !== undefined);
    } catch (error) {
      const phase = clock.current;
      lap("teardown");
      failedHard = recordDrillFailure(
        error,
        phase,
        backupFaults,
        { issues, checks },
        restoreFailureCheck,
      ).hard;
    } finally {
      const failed = failedHard || checks.length === 0 || checks.some((check) => check.result !== "passed");
      if (scratch && failed && source.drill?.keep_on_failure && scratch.keep) {
        kept = true;
        issues.push(`scratch target kept for inspection: ${await scratch.keep()}`);
      } else if (scratch) {
        if (failed && source.drill?.keep_on_failure) {
          issues.push(`keep_on_failure: ${scratch.description} cannot be kept; it was removed`);
        }
        try {
          await scratch.destroy();
        } catch (error) {
          issues.push(`teardown: could not remove ${scratch.description}: ${(error as Error).message}`);
        }
      }
      lap("teardown");
    }
  });

  const rtoAchieved = verifiedAt === undefined ? null : (verifiedAt - startedAt.getTime()) / 1000;
  const rpoAchieved = snapshot ? (startedAt.getTime() - Date.parse(snapshot.consistentAt)) / 1000 : null;
  const { rto, rpo } = objectiveOutcomes(source.objectives ?? {}, { rto: rtoAchieved, rpo: rpoAchieved });
  const predictedRto =
    snapshot && rtoAchieved !== null
      ? await predictRto(context, request, snapshot, phases, rto.objective)
      : null;
  if (predictedRto?.exceedsObjective)
    issues.push("at the source's current size the restore would exceed the RTO");

  // The report is the evidence that leaves the process (repository, files, notifications):
  // every string in it (issues quote errors, checks quote output) passes the redaction step.
  return redactDeep({
    schema: DRILL_REPORT_SCHEMA,
    id,
    source: sourceName,
    engine: source.engine,
    status: drillStatus({ checks, rto, rpo, readiness, failed: failedHard }),
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    operator,
    ...reviewer,
    environment: `${context.hostname}${scratch ? `, ${scratch.description}` : ""}`,
    snapshot: {
      id: snapshot?.id ?? null,
      selector: request.selector,
      consistentAt: snapshot?.consistentAt ?? null,
      size: snapshot ? totalSize(snapshot) : null,
    },
    scratch: { description: scratch?.description ?? null, kept },
    phases,
    rto,
    rpo,
    predictedRto,
    checks,
    issues,
    ...((readiness ?? healthBefore) ? { readiness: readiness ?? notReached(healthBefore) } : {}),
    lifeboatVersion,
  } satisfies DrillReport);
}

/** A restore that failed because the backup is bad (damaged object, fingerprint mismatch) is a failed check. */
function restoreFailureCheck(failure: LifeboatError): CheckOutcome {
  const differences = failure.details.differences as readonly FingerprintDifference[] | undefined;
  if (failure.code === "VERIFICATION_FAILED" && differences) {
    return {
      name: "fingerprint",
      kind: "fingerprint",
      result: "failed",
      detail: describeDifferences(differences),
    };
  }
  return {
    name: "restore",
    kind: "fingerprint",
    result: "failed",
    detail: `[${failure.code}] ${failure.message}`,
  };
}

/**
 * Scale the measured restore to the source's current size: restores grow
 * with the data. The engine measures the source now and at the snapshot in
 * the same kind of bytes; without that there is no prediction.
 */
async function predictRto(
  context: OperationContext,
  request: DrillRequest,
  snapshot: Snapshot,
  phases: DrillPhases,
  objective: number | null,
): Promise<RtoPrediction | null> {
  const engine = context.engineFor(request.source.engine);
  const restoreSeconds = (phases.fetch ?? 0) + (phases.restore ?? 0);
  if (!engine.sourceGrowth || restoreSeconds <= 0) return null;
  const growth = await withTempDir("size", (tempDir) =>
    engine.sourceGrowth!(request.source, snapshot, { runner: context.runner, log: context.log, tempDir }),
  ).catch(() => undefined);
  if (!growth || growth.snapshotBytes <= 0) return null;
  const factor = Math.max(growth.currentBytes / growth.snapshotBytes, 1);
  // Hooks and readiness are the application's own time: measured, not scaled with the data.
  const seconds =
    (phases.start ?? 0) +
    (restoreSeconds + (phases.verify ?? 0)) * factor +
    (phases.hooks ?? 0) +
    (phases.ready ?? 0);
  return {
    sourceBytes: growth.currentBytes,
    snapshotBytes: growth.snapshotBytes,
    measure: growth.measure,
    growth: factor,
    bytesPerSecond: totalSize(snapshot) / restoreSeconds,
    seconds,
    exceedsObjective: objective === null ? null : seconds > objective,
  };
}

/** The user running Lifeboat, for the report's operator; "unknown" where the OS cannot say. */
export function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}
