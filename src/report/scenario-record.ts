// The Markdown record of a scenario drill, rendered from its report alone:
// what was disrupted, each step with its time, the achieved RTO and the lost
// writes against the expectations, and what went wrong.

import type { ObjectiveOutcome } from "../domain/drill-report.ts";
import { formatSeconds } from "../domain/duration.ts";
import type { ScenarioReport } from "../domain/scenario-report.ts";

const verdict: Record<ScenarioReport["status"], string> = {
  passed: "PASSED",
  objective_missed: "OBJECTIVE MISSED",
  failed: "FAILED",
  error: "ERROR",
};

function objective(outcome: ObjectiveOutcome): string {
  const achieved = outcome.achieved === null ? "not measured" : formatSeconds(outcome.achieved);
  const expected = outcome.objective === null ? "none declared" : formatSeconds(outcome.objective);
  const met = outcome.met === null ? "" : outcome.met ? " (met)" : " (missed)";
  return `${achieved} against ${expected}${met}`;
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function renderScenarioRecord(report: ScenarioReport): string {
  const lines = [
    `# Scenario ${report.scenario}: ${verdict[report.status]}`,
    "",
    ...(report.description ? [report.description, ""] : []),
    `- Run: ${report.id}, ${report.startedAt} to ${report.finishedAt}, by ${report.operator}`,
    `- Environment: ${report.environment}${report.services.length ? `; services: ${report.services.join(", ")}` : ""}`,
    `- Disrupted at: ${report.disruptedAt ?? "not reached"}`,
    `- RTO (disruption to the last probe's first pass): ${objective(report.rto)}`,
    `- RPO (from the writer's markers): ${objective(report.rpo)}`,
  ];
  if (report.lost_writes) {
    const lost = report.lost_writes;
    lines.push(
      `- Lost writes: ${lost.count} of ${lost.acknowledged} acknowledged markers (${lost.survived} survived on ${lost.survivorUrl}), ${formatSeconds(lost.seconds)} of writes`,
    );
  }
  lines.push(
    "",
    "| # | Step | What | Started | Took | Result | Detail |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  report.steps.forEach((step, index) => {
    lines.push(
      `| ${index + 1} | ${step.kind} | ${cell(step.name)} | ${step.startedAt.slice(11, 19)} | ${formatSeconds(step.seconds)} | ${step.result}${step.attempts !== undefined ? ` (${step.attempts} tries)` : ""} | ${cell(step.detail)} |`,
    );
  });
  if (report.issues.length > 0) {
    lines.push("", "## Issues", "");
    for (const issue of report.issues) lines.push(`- ${issue}`);
  }
  return `${lines.join("\n")}\n`;
}
