// The Markdown record of a group drill: one RTO for the whole group against
// its objective, each member's part, the group's own checks.

import { formatSeconds } from "../domain/duration.ts";
import type { GroupDrillReport } from "../domain/group-drill-report.ts";

const mark = { passed: "✅", failed: "❌", error: "⚠️" } as const;

export function renderGroupDrillRecord(report: GroupDrillReport): string {
  const seconds = (value: number | null) => (value === null ? "not measured" : formatSeconds(value));
  const lines = [
    `# Group drill ${report.group}: ${report.status.replace("_", " ")}`,
    "",
    `- Drill: ${report.id}, ${report.startedAt} to ${report.finishedAt}`,
    `- Bundle: ${report.bundle.id} (members' consistent points ${report.bundle.spreadSeconds.toFixed(3)} s apart; oldest ${report.bundle.consistentAt})`,
    `- RTO: ${seconds(report.rto.achieved)}${report.rto.objective === null ? "" : ` against ${formatSeconds(report.rto.objective)} (${report.rto.met ? "met" : "missed"})`}`,
    `- RPO: ${seconds(report.rpo.achieved)}`,
    "",
    "| member | status | restored and verified after | snapshot | drill report |",
    "| --- | --- | --- | --- | --- |",
    ...report.members.map(
      (member) =>
        `| ${member.source} | ${member.status} | ${seconds(member.rto)} | ${member.snapshot?.slice(0, 8) ?? "-"} | ${member.report} |`,
    ),
    "",
    "## Group checks",
    "",
    ...(report.checks.length === 0
      ? ["(none ran)"]
      : report.checks.map((check) => `- ${mark[check.result]} ${check.name}: ${check.detail}`)),
  ];
  if (report.issues.length > 0)
    lines.push("", "## Issues", "", ...report.issues.map((issue) => `- ${issue}`));
  return lines.join("\n") + "\n";
}
