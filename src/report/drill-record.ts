// The Markdown drill record. It fills every field of the drill record
// template that teams keep in their runbooks (seed 001: date, operator,
// environment, backup, start/end, duration, RTO/RPO target and achieved,
// steps, validation results, issues, follow-up), from the JSON report alone.

import { formatSeconds } from "../domain/duration.ts";
import type { DrillPhases, DrillReport, ObjectiveOutcome } from "../domain/drill-report.ts";
import type { ProbeOutcome, Readiness } from "../domain/readiness.ts";

export const statusLine: Record<DrillReport["status"], string> = {
  passed: "PASSED: restored, verified and within objectives",
  objective_missed: "OBJECTIVE MISSED: restored and verified, but an objective was not met",
  verification_failed: "VERIFICATION FAILED: the restored data could not be proved complete",
  error: "ERROR: the drill could not complete",
};

/** The status in words; a drill whose data verified but whose service never got ready says so. */
export function resultLine(report: DrillReport): string {
  const dataVerified = report.checks.length > 0 && report.checks.every((check) => check.result === "passed");
  if (report.status === "verification_failed" && dataVerified && report.readiness?.ok === false)
    return "VERIFICATION FAILED: the data restored and verified, but the service did not become ready";
  return statusLine[report.status];
}

/** What each phase did, in words (the post-mortem's timeline uses them too). */
export const phaseNames: Record<keyof DrillPhases, string> = {
  select: "Select snapshot",
  start: "Provision scratch target",
  fetch: "Fetch and verify chunks",
  restore: "Restore",
  mark: "Write markers, wait for the archive",
  layDown: "Lay down base backup",
  replay: "Replay WAL",
  promote: "End recovery (promote)",
  verify: "Verify",
  hooks: "Run after_restore hooks",
  ready: "Wait until ready (probes pass)",
  teardown: "Tear down scratch target",
};

/** Minutes as the template asks, with the exact figure beside it when a drill is quicker than that shows. */
function minutes(seconds: number | null): string {
  if (seconds === null) return "n/a";
  return seconds < 60
    ? `${(seconds / 60).toFixed(2)} (${formatSeconds(seconds)})`
    : (seconds / 60).toFixed(2);
}

function hours(seconds: number | null): string {
  return seconds === null ? "n/a" : (seconds / 3600).toFixed(2);
}

function verdict(outcome: ObjectiveOutcome): string {
  if (outcome.met === null)
    return outcome.objective === null ? " (no objective declared)" : " (not measured)";
  return outcome.met ? " (met)" : " (MISSED)";
}

export function utc(iso: string | null): string {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "n/a";
}

export function renderDrillRecord(report: DrillReport): string {
  const duration = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  const phases = (Object.keys(phaseNames) as (keyof DrillPhases)[])
    .filter((phase) => report.phases[phase] !== undefined)
    .map((phase) => `  - ${phaseNames[phase]}: ${formatSeconds(report.phases[phase] ?? 0)}`);
  const checks = report.checks.map(
    (check) => `  - ${check.name}: ${check.result.toUpperCase()}${check.detail ? ` (${check.detail})` : ""}`,
  );
  const followUps = followUpActions(report);
  return [
    `# DR drill record: ${report.source}`,
    "",
    `**Result: ${resultLine(report)}**`,
    "",
    "```",
    `Date (UTC): ${report.startedAt.slice(0, 10)}`,
    `Primary operator: ${report.operator}`,
    `Secondary reviewer: ${report.reviewer ?? "(to be signed by the reviewer)"}`,
    `Environment: ${report.environment}`,
    `Source: ${report.source} (${report.engine})`,
    `Backup (snapshot): ${report.snapshot.id ?? "none"}${report.snapshot.consistentAt ? `, consistent at ${utc(report.snapshot.consistentAt)}` : ""}`,
    `Start time (UTC): ${utc(report.startedAt)}`,
    `End time (UTC): ${utc(report.finishedAt)}`,
    `Duration (minutes): ${minutes(duration)}`,
    `RTO target (minutes): ${minutes(report.rto.objective)}`,
    `RTO achieved (minutes): ${minutes(report.rto.achieved)}${verdict(report.rto)}`,
    `RPO target (hours): ${hours(report.rpo.objective)}`,
    `RPO achieved (hours): ${hours(report.rpo.achieved)}${verdict(report.rpo)}`,
    ...(report.predictedRto
      ? [
          `Predicted RTO at current size (minutes): ${minutes(report.predictedRto.seconds)}` +
            (report.predictedRto.exceedsObjective ? " (WOULD EXCEED the objective)" : ""),
        ]
      : []),
    "Steps followed:",
    ...(phases.length ? phases : ["  - (none completed)"]),
    "Validation results:",
    ...(checks.length ? checks : ["  - (no check ran)"]),
    ...(report.readiness ? readinessLines(report.readiness) : []),
    "Issues encountered:",
    ...(report.issues.length ? report.issues.map((issue) => `  - ${issue}`) : ["  - none"]),
    "Follow-up actions:",
    ...(followUps.length ? followUps.map((action) => `  - ${action}`) : ["  - none"]),
    "```",
    "",
    report.scratch.kept && report.scratch.description
      ? `The scratch target was kept for inspection: ${report.scratch.description}\n`
      : "",
    `Report ${report.id}, written by Lifeboat ${report.lifeboatVersion}.`,
    "",
  ].join("\n");
}

function probeLine(outcome: ProbeOutcome, polled: boolean): string {
  const when = polled && outcome.seconds !== null ? ` after ${formatSeconds(outcome.seconds)}` : "";
  const tries = polled ? `, ${outcome.attempts} ${outcome.attempts === 1 ? "attempt" : "attempts"}` : "";
  return `  - ${outcome.probe}: ${outcome.ok ? "READY" : "NOT READY"}${when} (${outcome.detail}${tries})`;
}

/** Health before and after, as the seed's drill captures it: the probes' results beside each other. */
function readinessLines(readiness: Readiness): string[] {
  const lines: string[] = [];
  if (readiness.before) {
    lines.push("Health before the restore:");
    lines.push(...readiness.before.map((outcome) => probeLine(outcome, false)));
  }
  if (readiness.hooks.length) {
    lines.push("After-restore hooks:");
    lines.push(
      ...readiness.hooks.map(
        (hook) =>
          `  - ${hook.command}: ${hook.ok ? "PASSED" : "FAILED"} in ${formatSeconds(hook.seconds)} (${hook.detail})`,
      ),
    );
  }
  lines.push("Health after the restore:");
  lines.push(
    ...(readiness.after.length
      ? readiness.after.map((outcome) => probeLine(outcome, true))
      : ["  - (not polled)"]),
  );
  return lines;
}

/** Follow-ups a reviewer would write anyway, derived from what went wrong. */
function followUpActions(report: DrillReport): string[] {
  const actions: string[] = [];
  if (report.rto.met === false)
    actions.push("Restore took longer than the RTO: speed up the restore or revisit the objective.");
  if (report.rpo.met === false)
    actions.push("The newest snapshot is older than the RPO: back up more often.");
  if (report.predictedRto?.exceedsObjective) {
    actions.push("At the source's current size a restore would exceed the RTO: plan for the growth.");
  }
  if (report.checks.some((check) => check.result !== "passed"))
    actions.push("Investigate the failed checks above.");
  if (report.readiness && !report.readiness.ok && report.checks.every((check) => check.result === "passed"))
    actions.push(
      "The data restored but the service did not become ready: fix the hook or probe named above.",
    );
  if (report.scratch.kept) actions.push("Inspect, then remove, the kept scratch target.");
  return actions;
}
