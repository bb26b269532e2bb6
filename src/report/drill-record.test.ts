import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleReport } from "../../test/support/sample-report.ts";
import { renderDrillRecord } from "./drill-record.ts";

test("the drill record fills every field of the runbook template", () => {
  const record = renderDrillRecord(sampleReport);
  for (const field of [
    "Date (UTC): 2026-11-21",
    "Primary operator: ops@backup-host",
    "Secondary reviewer:",
    "Environment: backup-host, throwaway PostgreSQL 15 cluster",
    `Backup (snapshot): ${"f".repeat(64)}, consistent at 2026-11-20 23:00:00Z`,
    "Start time (UTC): 2026-11-21 01:02:03Z",
    "End time (UTC): 2026-11-21 01:32:03Z",
    "Duration (minutes): 30.00",
    "RTO target (minutes): 15.00",
    "RTO achieved (minutes): 25.25 (MISSED)",
    "RPO target (hours): 24.00",
    "RPO achieved (hours): 2.03 (met)",
    "Steps followed:",
    "  - Restore: 25m 00s",
    "Validation results:",
    "  - sql: select count(*) > 0 from bookings: PASSED (returned true)",
    "Issues encountered:\n  - restore took 1500s",
    "Follow-up actions:",
    "Restore took longer than the RTO",
    "The scratch target was kept for inspection: database lifeboat_drill_x",
  ]) {
    assert.ok(record.includes(field), `missing: ${field}\n${record}`);
  }
  assert.match(record, /OBJECTIVE MISSED/);
});

test("a drill without objectives says so instead of inventing figures", () => {
  const record = renderDrillRecord({
    ...sampleReport,
    status: "passed",
    rto: { objective: null, achieved: 12, met: null },
    rpo: { objective: null, achieved: 60, met: null },
    predictedRto: null,
    issues: [],
    scratch: { description: null, kept: false },
  });
  assert.match(record, /RTO target \(minutes\): n\/a/);
  assert.match(record, /RTO achieved \(minutes\): 0\.20 \(12\.0s\) \(no objective declared\)/);
  assert.match(record, /Issues encountered:\n {2}- none/);
});
