// "Are we recoverable right now, within our objectives?" as a pure function:
// from the snapshots, run records, drill reports and WAL listing a caller
// read, and the clock, the status report that `lifeboat status`,
// /healthz/backup, the metrics and the dashboard all render.

import type { DrillReport } from "../domain/drill-report.ts";
import { formatSeconds } from "../domain/duration.ts";
import type { RunRecord } from "../domain/run-record.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import {
  VERDICT_ORDER,
  type DrillSummary,
  type RepositoryRunStatus,
  type RunSummary,
  type SourceStatus,
  type StatusReport,
  type Verdict,
  type WalStatus,
} from "../domain/status.ts";

export interface SourceInput {
  readonly name: string;
  readonly engine: string;
  readonly rtoSeconds: number | null;
  readonly rpoSeconds: number | null;
  readonly drillIntervalSeconds: number | null;
  /** Point-in-time sources: the WAL archive's newest file (null: the source does not archive WAL). */
  readonly wal: {
    readonly newest: string | null;
    readonly newestAt: Date | null;
    readonly files: number;
  } | null;
}

export interface StatusInput {
  readonly now: Date;
  readonly repositoryUrl: string;
  readonly sources: readonly SourceInput[];
  readonly snapshots: readonly Snapshot[];
  /** Run records, any order. */
  readonly runs: readonly RunRecord[];
  readonly drills: readonly DrillReport[];
  readonly dataBytes: number | null;
}

const seconds = (now: Date, iso: string) => Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);

function newest<T>(items: readonly T[], at: (item: T) => string): T | undefined {
  let best: T | undefined;
  for (const item of items) if (best === undefined || at(item) > at(best)) best = item;
  return best;
}

function summary(record: RunRecord | undefined): RunSummary | null {
  if (!record) return null;
  return {
    id: record.id,
    at: record.finishedAt,
    seconds: record.seconds,
    errorCode: record.error?.code ?? null,
    message: record.error?.message ?? null,
  };
}

function worst(verdicts: readonly Verdict[]): Verdict {
  let index = VERDICT_ORDER.length - 1;
  for (const verdict of verdicts) index = Math.min(index, VERDICT_ORDER.indexOf(verdict));
  return VERDICT_ORDER[index]!;
}

function drillSummary(now: Date, report: DrillReport | undefined): DrillSummary | null {
  if (!report) return null;
  return {
    report: report.id,
    at: report.startedAt,
    status: report.status,
    ageSeconds: seconds(now, report.startedAt),
    rto: report.rto,
    rpo: report.rpo,
    predictedRtoSeconds: report.predictedRto?.seconds ?? null,
  };
}

function walStatus(now: Date, wal: SourceInput["wal"]): WalStatus | null {
  if (!wal) return null;
  const newestAt = wal.newestAt ? wal.newestAt.toISOString() : null;
  return {
    newest: wal.newest,
    newestAt,
    ageSeconds: newestAt ? seconds(now, newestAt) : null,
    files: wal.files,
  };
}

const ago = (value: number) => formatSeconds(value);

function sourceStatus(input: StatusInput, source: SourceInput): SourceStatus {
  const { now } = input;
  const snapshots = input.snapshots.filter((snapshot) => snapshot.source === source.name);
  const runs = input.runs.filter((run) => run.source === source.name);
  const drills = input.drills.filter((drill) => drill.source === source.name);
  const lastSnapshot = newest(snapshots, (snapshot) => snapshot.finishedAt);
  const backupRuns = runs.filter((run) => run.operation === "backup");
  const lastFailedRun = newest(
    backupRuns.filter((run) => run.outcome === "failed"),
    (run) => run.finishedAt,
  );
  const snapshotRun = lastSnapshot && backupRuns.find((run) => run.snapshot === lastSnapshot.id);
  const lastDrill = newest(drills, (drill) => drill.startedAt);
  const lastPassed = newest(
    drills.filter((drill) => drill.status === "passed"),
    (drill) => drill.startedAt,
  );
  const wal = walStatus(now, source.wal);

  const failing: string[] = [];
  const stale: string[] = [];
  if (lastFailedRun && (!lastSnapshot || lastFailedRun.finishedAt > lastSnapshot.finishedAt)) {
    failing.push(
      `the newest backup failed (${lastFailedRun.error?.code ?? "error"} at ${lastFailedRun.finishedAt}: ${lastFailedRun.error?.message ?? ""})`,
    );
  }
  if (lastDrill && lastDrill.status !== "passed") {
    failing.push(`the newest drill did not pass (${lastDrill.status}, ${lastDrill.id})`);
  }
  const backupAge = lastSnapshot ? seconds(now, lastSnapshot.consistentAt) : null;
  if (!lastSnapshot) stale.push("never backed up");
  if (source.rpoSeconds !== null) {
    // With WAL archiving the data at risk is what the archive lacks, not the base backup's age.
    const exposure = wal?.ageSeconds ?? backupAge;
    const what = wal?.ageSeconds != null ? "the newest archived WAL" : "the newest backup";
    if (exposure !== null && exposure > source.rpoSeconds) {
      stale.push(`${what} is ${ago(exposure)} old, over the RPO of ${ago(source.rpoSeconds)}`);
    }
  }
  if (source.drillIntervalSeconds !== null && lastPassed) {
    const age = seconds(now, lastPassed.startedAt);
    if (age > source.drillIntervalSeconds) {
      stale.push(
        `the newest passing drill is ${ago(age)} old, over the drill interval of ${ago(source.drillIntervalSeconds)}`,
      );
    }
  }
  if (source.drillIntervalSeconds !== null && !lastPassed && lastDrill) {
    stale.push(`no drill has passed (the drill interval is ${ago(source.drillIntervalSeconds)})`);
  }
  const neverDrilled = drills.length === 0;
  const verdict: Verdict = failing.length
    ? "failing"
    : stale.length
      ? "stale"
      : neverDrilled
        ? "never_drilled"
        : "ok";
  const counts: Record<string, { succeeded: number; failed: number }> = {};
  for (const run of runs) {
    const count = (counts[run.operation] ??= { succeeded: 0, failed: 0 });
    count[run.outcome]++;
  }
  return {
    source: source.name,
    engine: source.engine,
    verdict,
    reasons: [
      ...failing,
      ...stale,
      ...(neverDrilled ? ["never drilled: nothing has proved it restores"] : []),
    ],
    objectives: {
      rtoSeconds: source.rtoSeconds,
      rpoSeconds: source.rpoSeconds,
      drillIntervalSeconds: source.drillIntervalSeconds,
    },
    lastBackup: lastSnapshot
      ? {
          id: snapshotRun?.id ?? lastSnapshot.id,
          snapshot: lastSnapshot.id,
          at: lastSnapshot.finishedAt,
          ageSeconds: backupAge ?? 0,
          seconds: (Date.parse(lastSnapshot.finishedAt) - Date.parse(lastSnapshot.startedAt)) / 1000,
          bytes: snapshotRun?.bytesStored ?? null,
          errorCode: null,
          message: null,
        }
      : null,
    lastFailedBackup: summary(lastFailedRun),
    lastDrill: drillSummary(now, lastDrill),
    lastPassedDrill: lastPassed
      ? { report: lastPassed.id, at: lastPassed.startedAt, ageSeconds: seconds(now, lastPassed.startedAt) }
      : null,
    wal,
    snapshots: snapshots.length,
    runs: counts,
  };
}

function repositoryRuns(runs: readonly RunRecord[]): RepositoryRunStatus {
  const of = (operation: "check" | "prune", outcome?: "failed") =>
    summary(
      newest(
        runs.filter(
          (run) =>
            (run.operation === operation || (operation === "prune" && run.operation === "forget")) &&
            (outcome === undefined ? run.outcome === "succeeded" : run.outcome === outcome),
        ),
        (run) => run.finishedAt,
      ),
    );
  return {
    lastCheck: of("check"),
    lastFailedCheck: of("check", "failed"),
    lastPrune: of("prune"),
    lastFailedPrune: of("prune", "failed"),
  };
}

export function computeStatus(input: StatusInput): StatusReport {
  const sources = input.sources.map((source) => sourceStatus(input, source));
  const repository = repositoryRuns(input.runs);
  const failedLast = (ok: RunSummary | null, failed: RunSummary | null) =>
    failed !== null && (ok === null || failed.at > ok.at);
  const repositoryFailing =
    failedLast(repository.lastCheck, repository.lastFailedCheck) ||
    failedLast(repository.lastPrune, repository.lastFailedPrune);
  return {
    schema: "lifeboat.status/v1",
    generatedAt: input.now.toISOString(),
    verdict: worst([
      ...sources.map((source) => source.verdict),
      ...(repositoryFailing ? ["failing" as const] : []),
    ]),
    sources,
    repository: { ...repository, url: input.repositoryUrl, dataBytes: input.dataBytes, error: null },
  };
}

/** The report when the repository could not be read: failing, never ok, with the error named. */
export function unreadableStatus(
  now: Date,
  repositoryUrl: string,
  sources: readonly SourceInput[],
  error: { code: string; message: string },
): StatusReport {
  return {
    schema: "lifeboat.status/v1",
    generatedAt: now.toISOString(),
    verdict: "failing",
    sources: sources.map((source) => ({
      source: source.name,
      engine: source.engine,
      verdict: "failing",
      reasons: [`the repository could not be read: [${error.code}] ${error.message}`],
      objectives: {
        rtoSeconds: source.rtoSeconds,
        rpoSeconds: source.rpoSeconds,
        drillIntervalSeconds: source.drillIntervalSeconds,
      },
      lastBackup: null,
      lastFailedBackup: null,
      lastDrill: null,
      lastPassedDrill: null,
      wal: null,
      snapshots: 0,
      runs: {},
    })),
    repository: {
      url: repositoryUrl,
      dataBytes: null,
      error,
      lastCheck: null,
      lastFailedCheck: null,
      lastPrune: null,
      lastFailedPrune: null,
    },
  };
}
