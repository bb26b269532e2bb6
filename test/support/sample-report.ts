// A complete drill report for renderer and notification tests.

import { DRILL_REPORT_SCHEMA, type DrillReport } from "../../src/domain/drill-report.ts";

export const sampleReport: DrillReport = {
  schema: DRILL_REPORT_SCHEMA,
  id: "20261121T010203Z-ab12cd",
  source: "app-db",
  engine: "postgres",
  status: "objective_missed",
  startedAt: "2026-11-21T01:02:03.000Z",
  finishedAt: "2026-11-21T01:32:03.000Z",
  operator: "ops@backup-host",
  environment: "backup-host, throwaway PostgreSQL 15 cluster on 127.0.0.1:54321",
  snapshot: { id: "f".repeat(64), selector: "latest", consistentAt: "2026-11-20T23:00:00.000Z", size: 1024 },
  scratch: { description: "database lifeboat_drill_x on 127.0.0.1:54321", kept: true },
  phases: { select: 0.1, start: 2, fetch: 10, restore: 1500, verify: 3, teardown: 1 },
  rto: { objective: 900, achieved: 1515.1, met: false },
  rpo: { objective: 86400, achieved: 7323, met: true },
  predictedRto: {
    sourceBytes: 2048,
    snapshotBytes: 1024,
    measure: "bytes of regular files",
    growth: 2,
    bytesPerSecond: 1,
    seconds: 2048,
    exceedsObjective: true,
  },
  checks: [
    { name: "fingerprint", kind: "fingerprint", result: "passed", detail: "14 counts match" },
    {
      name: "sql: select count(*) > 0 from bookings",
      kind: "sql",
      result: "passed",
      detail: "returned true",
    },
  ],
  issues: ["restore took 1500s"],
  lifeboatVersion: "0.1.0",
};
