// Reading what `status` needs out of the repository, and nothing else: the
// snapshot listing (the local catalog makes it cheap), the newest run
// records, the drill reports, and a listing of each point-in-time source's
// WAL folder. The verdicts themselves are plan/status.ts's pure work.

import type { DrillReport } from "../domain/drill-report.ts";
import { isDrillReport } from "../domain/drill-report.ts";
import { isScenarioReport, type ScenarioReport } from "../domain/scenario-report.ts";
import { parseDuration } from "../domain/duration.ts";
import type { RunRecord } from "../domain/run-record.ts";
import type { ScenarioRunStatus, StatusReport } from "../domain/status.ts";
import type { SourceConfig } from "../engines/config.ts";
import { LifeboatError } from "../errors.ts";
import { computeStatus, unreadableStatus, type SourceInput } from "../plan/status.ts";
import { redact } from "../runtime/redact.ts";
import type { OperationContext } from "./context.ts";
import { listPreserved } from "./preserved.ts";
import { isRunRecord } from "./run-record.ts";

/**
 * How many of the newest run records a status reads. Failures older than
 * that many runs are history, not status; the counts per operation are over
 * these records (documented in docs/metrics.md).
 */
export const STATUS_RUN_RECORDS = 2000;

const orNull = (text: string | undefined) => (text ? parseDuration(text) : null);

export function statusSources(
  context: Pick<OperationContext, "engineFor">,
  sources: Readonly<Record<string, SourceConfig>>,
): (Omit<SourceInput, "wal"> & { readonly pitr: boolean })[] {
  return Object.entries(sources).map(([name, source]) => ({
    name,
    engine: source.engine,
    rtoSeconds: orNull(source.objectives?.rto),
    rpoSeconds: orNull(source.objectives?.rpo),
    drillIntervalSeconds: orNull(source.objectives?.drill_interval),
    pitr: context.engineFor(source.engine).pitr?.takesBaseBackups(source as never) ?? false,
  }));
}

export async function readStatus(
  context: OperationContext,
  sources: Readonly<Record<string, SourceConfig>>,
  repositoryUrl: string,
): Promise<{ report: StatusReport; runs: RunRecord[]; drills: DrillReport[] }> {
  const declared = statusSources(context, sources);
  const [snapshots, runs, history, dataBytes, wal, preserved] = await Promise.all([
    context.repository.listSnapshots(),
    newestRunRecords(context),
    context.repository.listDrillReports(),
    context.repository.dataBytes(),
    Promise.all(
      declared.map((source) => (source.pitr ? context.repository.walArchiveSummary(source.name) : null)),
    ),
    // Over every run record, not the newest: a copy kept weeks ago is still on the target's disk.
    listPreserved(context),
  ]);
  const drills = history.filter(isDrillReport);
  const report = computeStatus({
    now: context.now(),
    repositoryUrl,
    sources: declared.map(({ pitr: _pitr, ...source }, index) => ({ ...source, wal: wal[index] ?? null })),
    snapshots,
    runs,
    drills,
    dataBytes,
  });
  return {
    report: { ...report, scenarios: newestScenarioRuns(history.filter(isScenarioReport)), preserved },
    runs,
    drills,
  };
}

/** The newest run of each scenario, by name. */
function newestScenarioRuns(runs: readonly ScenarioReport[]): ScenarioRunStatus[] {
  const newest = new Map<string, ScenarioReport>();
  for (const run of runs) {
    const known = newest.get(run.scenario);
    if (!known || run.startedAt > known.startedAt) newest.set(run.scenario, run);
  }
  return [...newest.values()]
    .sort((a, b) => a.scenario.localeCompare(b.scenario))
    .map((run) => ({
      scenario: run.scenario,
      id: run.id,
      at: run.startedAt,
      status: run.status,
      rtoAchieved: run.rto.achieved,
      rtoExpected: run.rto.objective,
      lostWrites: run.lost_writes?.count ?? null,
    }));
}

async function newestRunRecords(context: OperationContext): Promise<RunRecord[]> {
  const ids = await context.repository.listRunRecordIds();
  const records = await context.repository.readRunRecords(ids.slice(-STATUS_RUN_RECORDS));
  return records.filter(isRunRecord);
}

/**
 * The reading when the repository could not be read: every source failing,
 * the error named (redacted), never "ok".
 */
export function unreadableReading(
  context: Pick<OperationContext, "engineFor">,
  sources: Readonly<Record<string, SourceConfig>>,
  repositoryUrl: string,
  error: unknown,
  now: Date,
): { report: StatusReport; runs: RunRecord[]; drills: DrillReport[] } {
  const failure = error instanceof LifeboatError ? error : new LifeboatError("INTERNAL", String(error));
  const declared = statusSources(context, sources).map(({ pitr: _pitr, ...source }) => ({
    ...source,
    wal: null,
  }));
  const report = unreadableStatus(now, repositoryUrl, declared, {
    code: failure.code,
    message: redact(failure.message),
  });
  return { report, runs: [], drills: [] };
}
