// The post-mortem of a drill: seed 002's template (timeline, root cause,
// resolution, lessons learned, action items) filled in from the drill report
// alone, with what the report proves: the summary with the objectives, the
// timeline of its phases, what failed. Root cause, resolution, lessons and
// action items are people's judgement: they stay prompts to fill in, never
// invented text.

import { formatSeconds } from "../domain/duration.ts";
import type { DrillPhases, DrillReport, ObjectiveOutcome } from "../domain/drill-report.ts";
import { phaseNames, resultLine, utc } from "./drill-record.ts";

export const POSTMORTEM_SCHEMA = "lifeboat.postmortem/v1";

export interface TimelineEntry {
  readonly phase: keyof DrillPhases;
  readonly name: string;
  readonly startedAt: string;
  /** Seconds from the drill's start. */
  readonly offset: number;
  readonly seconds: number;
}

export interface Failure {
  readonly kind: "check" | "error" | "objective";
  readonly name: string;
  readonly detail: string;
  /** The error code, when the failure quotes one ([CODE] in the report's issues and checks). */
  readonly code: string | null;
}

export interface Postmortem {
  readonly schema: typeof POSTMORTEM_SCHEMA;
  readonly drill: string;
  readonly source: string;
  readonly engine: string;
  readonly status: DrillReport["status"];
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly operator: string;
  readonly reviewer: string | null;
  readonly snapshot: DrillReport["snapshot"];
  readonly rto: ObjectiveOutcome;
  readonly rpo: ObjectiveOutcome;
  /** The phases in the order they ran (the report keeps them in that order). */
  readonly timeline: readonly TimelineEntry[];
  readonly failures: readonly Failure[];
}

const codeOf = (text: string) => /\[([A-Z][A-Z_]+)\]/.exec(text)?.[1] ?? null;

const seconds = (value: number | null) => (value === null ? "n/a" : formatSeconds(value));

export function postmortemOf(report: DrillReport): Postmortem {
  const start = Date.parse(report.startedAt);
  let offset = 0;
  const timeline = (Object.entries(report.phases) as [keyof DrillPhases, number][])
    .filter(([phase, value]) => phase in phaseNames && typeof value === "number")
    .map(([phase, value]) => {
      const entry = {
        phase,
        name: phaseNames[phase],
        startedAt: new Date(start + offset * 1000).toISOString(),
        offset,
        seconds: value,
      };
      offset += value;
      return entry;
    });
  const failures: Failure[] = [
    ...report.checks
      .filter((check) => check.result !== "passed")
      .map((check) => ({
        kind: "check" as const,
        name: check.name,
        detail: `${check.result}: ${check.detail}`,
        code: codeOf(check.detail),
      })),
    // A failed check is quoted in the issues too when an error made it: name each failure once.
    ...report.issues
      .filter((issue) => codeOf(issue) !== null)
      .filter(
        (issue) => !report.checks.some((check) => check.result !== "passed" && issue.endsWith(check.detail)),
      )
      .map((issue) => ({
        kind: "error" as const,
        name: issue.slice(0, issue.indexOf(":")) || "drill",
        detail: issue,
        code: codeOf(issue),
      })),
    ...(["rto", "rpo"] as const)
      .filter((name) => report[name].met === false)
      .map((name) => ({
        kind: "objective" as const,
        name: name.toUpperCase(),
        detail: `achieved ${seconds(report[name].achieved)} against the objective of ${seconds(report[name].objective)}`,
        code: "OBJECTIVE_MISSED",
      })),
  ];
  return {
    schema: POSTMORTEM_SCHEMA,
    drill: report.id,
    source: report.source,
    engine: report.engine,
    status: report.status,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    operator: report.operator,
    reviewer: report.reviewer ?? null,
    snapshot: report.snapshot,
    rto: report.rto,
    rpo: report.rpo,
    timeline,
    failures,
  };
}

function verdict(outcome: ObjectiveOutcome): string {
  if (outcome.met === null) return outcome.objective === null ? "no objective declared" : "not measured";
  return outcome.met ? "met" : "MISSED";
}

/** The phases, with the moment the service was verified (the achieved RTO) in its place among them. */
function timelineRows(report: DrillReport, timeline: readonly TimelineEntry[]): string[] {
  const start = Date.parse(report.startedAt);
  const row = (offset: number, event: string, duration: number | null) =>
    `| ${utc(new Date(start + offset * 1000).toISOString())} | ${formatSeconds(offset)} | ${event} | ${duration === null ? "" : formatSeconds(duration)} |`;
  const rows: string[] = [row(0, "Drill started", null)];
  const verified = report.rto.achieved;
  let placed = verified === null;
  for (const entry of timeline) {
    if (!placed && entry.offset >= verified!) {
      rows.push(row(verified!, "Restored and verified (achieved RTO)", null));
      placed = true;
    }
    rows.push(row(entry.offset, entry.name, entry.seconds));
  }
  if (!placed) rows.push(row(verified!, "Restored and verified (achieved RTO)", null));
  rows.push(row((Date.parse(report.finishedAt) - start) / 1000, "Drill finished", null));
  return rows;
}

const prompt = (text: string) => [`_${text}_`, ""];

export function renderPostmortem(report: DrillReport): string {
  const postmortem = postmortemOf(report);
  const failures = postmortem.failures.map(
    (failure) =>
      `- ${failure.kind === "objective" ? `${failure.name} objective missed` : `${failure.kind} ${failure.name}`}` +
      `${failure.code && failure.kind !== "objective" ? ` (\`${failure.code}\`)` : ""}: ${failure.detail}`,
  );
  return [
    `# Post-mortem: drill of ${report.source}, ${report.startedAt.slice(0, 10)}`,
    "",
    `**Result: ${resultLine(report)}**`,
    "",
    "## Summary",
    "",
    "| | |",
    "| --- | --- |",
    `| Drill | ${report.id} |`,
    `| Source | ${report.source} (${report.engine}) |`,
    `| Date (UTC) | ${report.startedAt.slice(0, 10)} |`,
    `| Result | ${report.status} |`,
    `| Snapshot | ${report.snapshot.id ?? "none"}${report.snapshot.consistentAt ? `, consistent at ${utc(report.snapshot.consistentAt)}` : ""} |`,
    `| Environment | ${report.environment} |`,
    `| Operator | ${report.operator} |`,
    `| Reviewer | ${report.reviewer ?? "(to be signed by the reviewer)"} |`,
    "",
    "| Objective | Declared | Achieved | Verdict |",
    "| --- | --- | --- | --- |",
    `| RTO | ${seconds(report.rto.objective)} | ${seconds(report.rto.achieved)} | ${verdict(report.rto)} |`,
    `| RPO | ${seconds(report.rpo.objective)} | ${seconds(report.rpo.achieved)} | ${verdict(report.rpo)} |`,
    "",
    "## Timeline",
    "",
    "| Time (UTC) | From start | Phase | Duration |",
    "| --- | --- | --- | --- |",
    ...timelineRows(report, postmortem.timeline),
    "",
    "## What failed",
    "",
    ...(failures.length ? failures : ["Nothing: every check passed and no declared objective was missed."]),
    ...(report.issues.length
      ? ["", "Issues the drill recorded:", "", ...report.issues.map((issue) => `- ${issue}`)]
      : []),
    "",
    "## Root cause",
    "",
    ...prompt("What triggered the failure, or what made the drill slower than its objective? (to fill in)"),
    "## Resolution",
    "",
    ...prompt("Which recovery steps were followed, and which of them worked? (to fill in)"),
    "## Lessons learned",
    "",
    ...prompt("How can the RTO and RPO, or the runbook, improve? (to fill in)"),
    "## Action items",
    "",
    "| Action | Owner | Due |",
    "| --- | --- | --- |",
    "| | | |",
    "",
    "## Sign-off",
    "",
    `- Operator: ${report.operator}`,
    `- Reviewer: ${report.reviewer ?? "(to be signed)"}`,
    "",
  ].join("\n");
}
