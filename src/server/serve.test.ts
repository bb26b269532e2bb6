import assert from "node:assert/strict";
import { test } from "node:test";
import type { DrillReport } from "../domain/drill-report.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { computeStatus } from "../plan/status.ts";
import { healthBody, isLoopback, startServer } from "./serve.ts";

const backupAt = new Date("2026-12-02T12:00:00Z");
const snapshot = {
  id: "s1",
  source: "app",
  engine: "files",
  startedAt: backupAt.toISOString(),
  finishedAt: backupAt.toISOString(),
  consistentAt: backupAt.toISOString(),
} as Snapshot;
const drill = {
  id: "d1",
  source: "app",
  status: "passed",
  startedAt: backupAt.toISOString(),
  rto: { objective: 300, achieved: 10, met: true },
  rpo: { objective: 3600, achieved: 5, met: true },
  predictedRto: null,
} as unknown as DrillReport;

const reportAt = (now: Date) =>
  computeStatus({
    now,
    repositoryUrl: "file:///r",
    sources: [
      {
        name: "app",
        engine: "files",
        rtoSeconds: 300,
        rpoSeconds: 3600,
        drillIntervalSeconds: null,
        wal: null,
      },
    ],
    snapshots: [snapshot],
    runs: [],
    drills: [drill],
    dataBytes: 1,
  });

test("/healthz/backup flips from 200 ok to 503 stale when the clock passes the RPO", () => {
  const fresh = healthBody(reportAt(new Date(backupAt.getTime() + 30 * 60_000)));
  assert.equal(fresh.status, 200);
  assert.equal(JSON.parse(fresh.body).status, "ok");
  const late = healthBody(reportAt(new Date(backupAt.getTime() + 2 * 3600_000)));
  assert.equal(late.status, 503);
  const body = JSON.parse(late.body);
  assert.equal(body.status, "stale");
  assert.match(body.sources[0].reasons[0], /over the RPO of 1h 00m/);
});

test("only loopback binds without a token", async () => {
  assert.ok(isLoopback("127.0.0.1") && isLoopback("::1") && isLoopback("localhost"));
  assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.1"));
  const read = async () => ({ report: reportAt(new Date()), runs: [], drills: [] });
  await assert.rejects(startServer({ host: "0.0.0.0", port: 0, read }), { code: "BAD_ARGUMENT" });
});
