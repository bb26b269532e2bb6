// A runbook drill (`lifeboat drill --runbook FILE --section TITLE`): the
// written procedure itself is the restore. Lifeboat makes a scratch target for
// the section's source, puts it in $RESTORE_TARGET (and its connection
// details in the environment, as for command checks), runs the section's
// opted-in blocks in order, timing each and stopping at the first that
// fails, then fingerprints the scratch target and compares it with the
// snapshot the procedure restores (the newest, unless it chose another and
// says so by failing the comparison), and runs the source's drill checks.
// The report is an ordinary drill report (history, files, metrics,
// notifications) whose RTO is the runbook's own, with a time per step.

import type { CheckOutcome, DrillReport, RunbookEvidence } from "../domain/drill-report.ts";
import { DRILL_REPORT_SCHEMA, drillStatus, objectiveOutcomes } from "../domain/drill-report.ts";
import { totalSize, type Snapshot } from "../domain/snapshot.ts";
import type { SourceConfig } from "../engines/config.ts";
import type { EngineContext, ScratchTarget } from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import type { OperationContext } from "../operations/context.ts";
import { withTempDir } from "../operations/temp-dir.ts";
import { redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { commandCheck, fingerprintChecks, runUserCheck } from "./checks.ts";
import { recordDrillFailure } from "./failure.ts";
import { PhaseClock } from "./phase-clock.ts";
import { drillId, refuseProductionScratch, safeUser } from "./run.ts";

export interface RunbookStep {
  /** The block's line in the runbook. */
  readonly line: number;
  readonly script: string;
}

export interface RunbookDrillRequest {
  readonly file: string;
  readonly section: string;
  readonly steps: readonly RunbookStep[];
  readonly sourceName: string;
  readonly source: SourceConfig;
  /** Variables every step gets besides the scratch target's: PATH with `lifeboat` on it, LIFEBOAT_CONFIG, the password variable. */
  readonly variables: Readonly<Record<string, string>>;
  readonly stepTimeoutSeconds: number;
  readonly operator?: string;
  readonly reviewer?: string;
  /** Why a target is production (environments:): the procedure never runs against one. */
  readonly productionReason?: (target: string) => Promise<string | undefined>;
}

/** Every failure of a runbook drill is the procedure's (or the drill's), never evidence against a backup on its own. */
const noBackupFaults: ReadonlySet<string> = new Set();

export async function runRunbookDrill(
  context: OperationContext,
  request: RunbookDrillRequest,
): Promise<DrillReport> {
  const { source, sourceName } = request;
  const engine = context.engineFor(source.engine);
  if (request.steps.length === 0) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `section "${request.section}" of ${request.file} has no runnable block`,
      { hint: "Mark the blocks the drill may run with `run` after the language: ```bash run" },
    );
  }
  if (engine.pitr?.takesBaseBackups(source) && !engine.captureVariants) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `${sourceName} takes physical base backups only: a runbook drill restores into a scratch database, which needs a logical snapshot`,
      { hint: "Use `lifeboat drill SOURCE` for point-in-time drills." },
    );
  }
  const startedAt = context.now();
  const id = drillId(startedAt);
  const clock = new PhaseClock(() => context.now().getTime(), startedAt.getTime());
  const checks: CheckOutcome[] = [];
  const issues: string[] = [];
  const steps: RunbookEvidence["steps"][number][] = [];
  let snapshot: Snapshot | undefined;
  let scratch: ScratchTarget | undefined;
  let verifiedAt: number | undefined;
  let failedHard = false;

  await withTempDir("runbookdrill", async (tempDir) => {
    const engineContext: EngineContext = {
      runner: context.runner,
      log: context.log,
      tempDir,
      ...(context.signal ? { signal: context.signal } : {}),
    };
    try {
      // The snapshot a plain `lifeboat restore` in the procedure will take: the newest, now.
      snapshot = await context.repository.findSnapshot("latest", sourceName);
      clock.lap("start");
      if (!engine.provisionScratch)
        throw new LifeboatError("INTERNAL", `the ${engine.name} engine cannot make scratch targets`);
      await refuseProductionScratch(request, source.drill?.target?.url ?? source.drill?.target?.path);
      scratch = await engine.provisionScratch(
        source,
        {
          ...(source.drill?.target ? { target: source.drill.target } : {}),
          allowSourceServer: source.drill?.allow_source_server ?? false,
          label: `${sourceName}_${id}`,
        },
        engineContext,
      );
      await refuseProductionScratch(request, scratch.target);
      context.log.info(`runbook drill ${sourceName}: RESTORE_TARGET is ${scratch.description}`);
      clock.lap("restore");
      const variables = { ...request.variables, ...scratch.env, RESTORE_TARGET: scratch.target };
      for (const [index, step] of request.steps.entries()) {
        context.signal?.throwIfAborted();
        const began = context.now().getTime();
        const outcome = await commandCheck(
          step.script,
          request.stepTimeoutSeconds,
          variables,
          context.signal,
        );
        const seconds = (context.now().getTime() - began) / 1000;
        const name = `step ${index + 1} (${request.file}:${step.line})`;
        steps.push({ line: step.line, seconds, result: outcome.result });
        checks.push({ ...outcome, name: `${name}: ${firstLine(step.script)}` });
        if (outcome.result !== "passed") {
          issues.push(`${name} failed: ${outcome.detail}; the steps after it did not run`);
          break;
        }
      }
      clock.lap("verify");
      if (checks.every((check) => check.result === "passed")) {
        const restored = await engine.fingerprint(scratch.target, engineContext, {
          contentHashes: Object.keys(snapshot.fingerprint.hashes).some((key) => key.startsWith("content:")),
        });
        checks.push(...fingerprintChecks(snapshot.fingerprint, restored));
        for (const check of source.drill?.checks ?? []) {
          checks.push(
            await runUserCheck(check, { engine, scratch, fingerprint: restored, context: engineContext }),
          );
        }
        if (checks.every((check) => check.result === "passed")) verifiedAt = clock.mark;
      }
      clock.lap("teardown");
    } catch (error) {
      const phase = clock.current;
      clock.lap("teardown");
      failedHard = recordDrillFailure(error, phase, noBackupFaults, { issues, checks }, (failure) => ({
        name: "restore",
        kind: "fingerprint",
        result: "failed",
        detail: `[${failure.code}] ${failure.message}`,
      })).hard;
    } finally {
      try {
        await scratch?.destroy();
      } catch (error) {
        issues.push(`teardown: could not remove ${scratch?.description}: ${(error as Error).message}`);
      }
      clock.lap("teardown");
    }
  });

  const rtoAchieved = verifiedAt === undefined ? null : (verifiedAt - startedAt.getTime()) / 1000;
  const rpoAchieved = snapshot ? (startedAt.getTime() - Date.parse(snapshot.consistentAt)) / 1000 : null;
  const { rto, rpo } = objectiveOutcomes(source.objectives ?? {}, { rto: rtoAchieved, rpo: rpoAchieved });
  return redactDeep({
    schema: DRILL_REPORT_SCHEMA,
    id,
    source: sourceName,
    engine: source.engine,
    status: drillStatus({ checks, rto, rpo, failed: failedHard }),
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    operator: request.operator ?? `${safeUser()}@${context.hostname}`,
    ...(request.reviewer !== undefined ? { reviewer: request.reviewer } : {}),
    environment: `${context.hostname}${scratch ? `, ${scratch.description}` : ""}`,
    snapshot: {
      id: snapshot?.id ?? null,
      selector: "latest",
      consistentAt: snapshot?.consistentAt ?? null,
      size: snapshot ? totalSize(snapshot) : null,
    },
    scratch: { description: scratch?.description ?? null, kept: false },
    phases: clock.phases,
    rto,
    rpo,
    predictedRto: null,
    checks,
    issues,
    runbook: { file: request.file, section: request.section, steps },
    lifeboatVersion,
  } satisfies DrillReport);
}

function firstLine(script: string): string {
  const line = script.split("\n").find((text) => text.trim() !== "" && !text.trim().startsWith("#")) ?? "";
  return line.length > 80 ? `${line.slice(0, 77)}...` : line.trim();
}
