// schedules: the next table lists lifeboat.yaml's schedules by name with when
// they run: the cron string (compared with whitespace collapsed) or, for an
// `every:` schedule, its interval ("every 15m" or "15m"). Missing and extra
// rows are drifts.

import type { ScheduleConfig } from "../config/schedule-schema.ts";
import type { Check, Finding } from "./drift.ts";
import { collapseSpaces } from "./normalise.ts";
import { runbookSeconds } from "./runbook-duration.ts";
import { columnOf } from "./table-columns.ts";

function whenOf(schedule: ScheduleConfig): string {
  return schedule.cron !== undefined ? schedule.cron : `every ${schedule.every}`;
}

function sameWhen(cell: string, schedule: ScheduleConfig): boolean {
  if (schedule.cron !== undefined) return collapseSpaces(cell) === collapseSpaces(schedule.cron);
  const interval = cell.replace(/^\s*every\s+/i, "");
  return (
    runbookSeconds(interval) !== undefined && runbookSeconds(interval) === runbookSeconds(schedule.every!)
  );
}

export const checkSchedules: Check = async (marker, context) => {
  const table = marker.table!;
  const name = columnOf(table, ["schedule", "name"]);
  const when = columnOf(table, ["cron", "when"]);
  if (name < 0 || when < 0)
    return [
      {
        kind: "table-invalid",
        line: table.line,
        message: "a schedules table needs a Schedule (or Name) column and a Cron (or When) column",
        runbook: table.header.join(" | "),
      },
    ];
  if (!context.config.ok) return [{ kind: "config-unavailable", message: context.config.problem }];
  const schedules = context.config.value.schedules;
  const findings: Finding[] = [];
  const listed = new Set<string>();
  for (const row of table.rows) {
    const scheduleName = row.cells[name] ?? "";
    const cell = row.cells[when] ?? "";
    listed.add(scheduleName);
    const schedule = schedules[scheduleName];
    if (!schedule) {
      findings.push({
        kind: "schedule-undeclared",
        line: row.line,
        message: `lifeboat.yaml has no schedule named ${scheduleName}`,
        runbook: `${scheduleName}: ${cell}`,
        deployed: null,
      });
    } else if (!sameWhen(cell, schedule)) {
      findings.push({
        kind: "schedule-differs",
        line: row.line,
        message: `schedule ${scheduleName} runs ${whenOf(schedule)}, the runbook says ${cell || "nothing"}`,
        runbook: cell || null,
        deployed: whenOf(schedule),
      });
    }
  }
  for (const [scheduleName, schedule] of Object.entries(schedules)) {
    if (listed.has(scheduleName)) continue;
    findings.push({
      kind: "schedule-missing",
      line: table.line,
      message: `the table has no row for schedule ${scheduleName}`,
      runbook: null,
      deployed: `${scheduleName}: ${whenOf(schedule)}`,
    });
  }
  return findings;
};
