// The drill report: the evidence a drill leaves behind. Its JSON form is the
// documented schema (docs/drill-report.md); the Markdown drill record and
// notifications are rendered from it, never from anything else.

import { parseDuration } from "./duration.ts";
import type { Readiness } from "./readiness.ts";
import type { EngineName } from "./snapshot.ts";

export const DRILL_REPORT_SCHEMA = "lifeboat.drill-report/v1";

export type DrillStatus = "passed" | "objective_missed" | "verification_failed" | "error";

export type CheckResult = "passed" | "failed" | "error";

export interface CheckOutcome {
  /** Stable, human-readable name, e.g. "fingerprint", "sql: select count(*) > 0 from bookings". */
  readonly name: string;
  readonly kind:
    "fingerprint" | "not_empty" | "sql" | "http" | "command" | "redis" | "expect_rows" | "deep" | "marker";
  readonly result: CheckResult;
  readonly detail: string;
}

/** Seconds spent in each phase of the drill; a phase that did not run is absent. */
export interface DrillPhases {
  /** Selecting the snapshot and reading its manifest. */
  select?: number;
  /** Making the scratch target (creating a database, starting a throwaway cluster). */
  start?: number;
  /** Reading and verifying the snapshot's chunks out of the repository. */
  fetch?: number;
  /** The service's own restore (pg_restore, writing the file, extracting the tree). */
  restore?: number;
  /** Point-in-time drills: writing the markers and waiting until the archive holds them. */
  mark?: number;
  /** Point-in-time drills: laying down the base backup (fetch, extract, check against its manifest). */
  layDown?: number;
  /** Point-in-time drills: PostgreSQL replaying WAL up to the target. */
  replay?: number;
  /** Point-in-time drills: the end of recovery until the server accepts writes. */
  promote?: number;
  /** Fingerprint comparison and user checks. */
  verify?: number;
  /** The source's after_restore hooks (restart the app, run migrations). */
  hooks?: number;
  /** Polling the source's ready probes until the last one first passed: the end of the achieved RTO. */
  ready?: number;
  /** Removing the scratch target (not part of the achieved RTO). */
  teardown?: number;
}

export interface PointInTimeEvidence {
  /** The recovery target, in words ("time 2026-...", "the end of the archived WAL (latest)"). */
  readonly target: string;
  /** markers: the newest marker in the restore against the moment asked for; archive: the newest archived WAL against the drill's start. */
  readonly rpoMeasuredBy: "markers" | "archive";
  readonly reachedLsn: string | null;
  readonly timeline: number | null;
  readonly walFiles: number;
  /** The newest marker the restore holds (any drill's), when markers are on. */
  readonly newestMarker: string | null;
  /** How the markers reached the archive: a WAL switch and archive_command, or the stream (wal_stream). Absent in older reports. */
  readonly walDelivery?: "archive" | "stream";
  /**
   * Seconds from the moment the drill restores to until the archive held its
   * markers (polled every 0.2 s): what a failure at that moment could have
   * lost. Absent without markers and in older reports.
   */
  readonly markersArchivedAfter?: number;
}

export interface ObjectiveOutcome {
  /** Declared objective in seconds; null when none is declared. */
  readonly objective: number | null;
  /** Achieved value in seconds; null when the drill did not get far enough to measure it. */
  readonly achieved: number | null;
  /** null when there is no objective or nothing was measured. */
  readonly met: boolean | null;
}

export interface RtoPrediction {
  /** The source's size now, in `measure` units. */
  readonly sourceBytes: number;
  /** The same measure when the drilled snapshot was taken. */
  readonly snapshotBytes: number;
  /** What both sizes count, e.g. "table heap and TOAST bytes": the prediction compares like with like. */
  readonly measure: string;
  /** sourceBytes / snapshotBytes (at least 1: a source that shrank is not predicted faster). */
  readonly growth: number;
  /** Restore throughput measured by this drill (snapshot artifact bytes / fetch+restore seconds). */
  readonly bytesPerSecond: number;
  /** Provisioning as measured, plus fetch, restore and verify scaled by growth. */
  readonly seconds: number;
  readonly exceedsObjective: boolean | null;
}

export interface DrillReport {
  readonly schema: typeof DRILL_REPORT_SCHEMA;
  /** Sortable id: start time plus a random suffix. */
  readonly id: string;
  readonly source: string;
  readonly engine: EngineName;
  readonly status: DrillStatus;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** Who ran the drill: `drill --operator NAME`, else the user@host that ran it. */
  readonly operator: string;
  /** Who reviews the drill (`drill --reviewer NAME`); absent when none was named (and in older reports). */
  readonly reviewer?: string;
  /** Where the drill ran: host and scratch target description. */
  readonly environment: string;
  readonly snapshot: {
    readonly id: string | null;
    readonly selector: string;
    readonly consistentAt: string | null;
    readonly size: number | null;
  };
  readonly scratch: {
    readonly description: string | null;
    /** True when the scratch target was left in place (keep_on_failure). */
    readonly kept: boolean;
  };
  readonly phases: DrillPhases;
  readonly rto: ObjectiveOutcome;
  readonly rpo: ObjectiveOutcome;
  /** Point-in-time drills: what was restored to and how the RPO was measured. */
  readonly pointInTime?: PointInTimeEvidence;
  readonly predictedRto: RtoPrediction | null;
  readonly checks: readonly CheckOutcome[];
  /** Errors and warnings met on the way, in order. */
  readonly issues: readonly string[];
  /** Runbook drills (`drill --runbook`): the procedure that was run, with a time per step. */
  readonly runbook?: RunbookEvidence;
  /** Sources with `ready:` or `after_restore:`: health before the restore, the hooks, health after (absent in older reports). */
  readonly readiness?: Readiness;
  readonly lifeboatVersion: string;
}

export interface RunbookEvidence {
  readonly file: string;
  /** The section's heading as written. */
  readonly section: string;
  /** The steps that ran, in order; the steps after a failed one did not run. */
  readonly steps: readonly {
    /** The block's line in the runbook. */
    readonly line: number;
    readonly seconds: number;
    readonly result: CheckResult;
  }[];
}

/** The status follows from the evidence; it is derived, never set by hand. */
export function drillStatus(
  report: Pick<DrillReport, "checks" | "rto" | "rpo" | "readiness"> & { failed: boolean },
): DrillStatus {
  if (report.failed) return "error";
  if (report.checks.length === 0 || report.checks.some((check) => check.result !== "passed")) {
    return "verification_failed";
  }
  // Restored data the service cannot come up on is not a recovery (a hook failed, a probe never passed).
  if (report.readiness && !report.readiness.ok) return "verification_failed";
  if (report.rto.met === false || report.rpo.met === false) return "objective_missed";
  return "passed";
}

export function evaluateObjective(objective: number | null, achieved: number | null): ObjectiveOutcome {
  return {
    objective,
    achieved,
    met: objective === null || achieved === null ? null : achieved <= objective,
  };
}

/** A drill's RTO and RPO against the source's declared objectives (durations such as "15m"). */
export function objectiveOutcomes(
  objectives: { readonly rto?: string | undefined; readonly rpo?: string | undefined },
  achieved: { readonly rto: number | null; readonly rpo: number | null },
): { rto: ObjectiveOutcome; rpo: ObjectiveOutcome } {
  return {
    rto: evaluateObjective(objectives.rto ? parseDuration(objectives.rto) : null, achieved.rto),
    rpo: evaluateObjective(objectives.rpo ? parseDuration(objectives.rpo) : null, achieved.rpo),
  };
}

/** A stored report of this schema; reports of a newer schema are skipped rather than misread. */
export function isDrillReport(value: unknown): value is DrillReport {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { schema?: unknown }).schema === DRILL_REPORT_SCHEMA
  );
}
