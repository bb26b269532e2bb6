import assert from "node:assert/strict";
import { test } from "node:test";
import type { DrillReport } from "../domain/drill-report.ts";
import { RUN_RECORD_SCHEMA, type RunRecord } from "../domain/run-record.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import { computeStatus, unreadableStatus, type SourceInput } from "./status.ts";

const now = new Date("2026-12-02T12:00:00Z");
const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();

const source = (overrides: Partial<SourceInput> = {}): SourceInput => ({
  name: "app",
  engine: "postgres",
  rtoSeconds: 300,
  rpoSeconds: 3600,
  drillIntervalSeconds: null,
  wal: null,
  ...overrides,
});

const snapshot = (minutes: number): Snapshot =>
  ({
    id: `s${minutes}`,
    source: "app",
    engine: "postgres",
    startedAt: minutesAgo(minutes + 1),
    finishedAt: minutesAgo(minutes),
    consistentAt: minutesAgo(minutes),
  }) as Snapshot;

const run = (
  minutes: number,
  outcome: "succeeded" | "failed",
  operation: RunRecord["operation"] = "backup",
): RunRecord => ({
  schema: RUN_RECORD_SCHEMA,
  id: `r${minutes}${outcome}`,
  operation,
  source: operation === "check" ? null : "app",
  outcome,
  startedAt: minutesAgo(minutes),
  finishedAt: minutesAgo(minutes),
  seconds: 1,
  hostname: "h",
  lifeboatVersion: "t",
  bytesRead: null,
  bytesStored: null,
  snapshot: null,
  drill: null,
  error: outcome === "failed" ? { code: "SOURCE_UNREACHABLE", message: "down" } : null,
});

const drill = (minutes: number, status: DrillReport["status"] = "passed"): DrillReport =>
  ({
    id: `d${minutes}`,
    source: "app",
    status,
    startedAt: minutesAgo(minutes),
    rto: { objective: 300, achieved: 30, met: true },
    rpo: { objective: 3600, achieved: 60, met: true },
    predictedRto: null,
  }) as DrillReport;

const status = (input: Partial<Parameters<typeof computeStatus>[0]>) =>
  computeStatus({
    now,
    repositoryUrl: "file:///r",
    sources: [source()],
    snapshots: [],
    runs: [],
    drills: [],
    dataBytes: 0,
    ...input,
  });

test("verdicts: never backed up is stale; backed up and drilled within objectives is ok", () => {
  assert.equal(status({}).sources[0]!.verdict, "stale");
  assert.equal(status({ snapshots: [snapshot(10)] }).sources[0]!.verdict, "never_drilled");
  const ok = status({ snapshots: [snapshot(10)], drills: [drill(5)] });
  assert.equal(ok.verdict, "ok");
  assert.deepEqual(ok.sources[0]!.reasons, []);
});

test("a failure after the newest snapshot is failing; one before it is history", () => {
  const failing = status({ snapshots: [snapshot(30)], runs: [run(10, "failed")], drills: [drill(5)] });
  assert.equal(failing.sources[0]!.verdict, "failing");
  assert.equal(failing.sources[0]!.lastFailedBackup?.errorCode, "SOURCE_UNREACHABLE");
  const recovered = status({ snapshots: [snapshot(5)], runs: [run(10, "failed")], drills: [drill(1)] });
  assert.equal(recovered.sources[0]!.verdict, "ok");
});

test("failing outranks stale; a failed newest drill is failing", () => {
  const both = status({ snapshots: [snapshot(120)], runs: [run(10, "failed")], drills: [drill(5)] });
  assert.equal(both.sources[0]!.verdict, "failing");
  assert.equal(both.sources[0]!.reasons.length, 2);
  assert.equal(
    status({ snapshots: [snapshot(5)], drills: [drill(1, "verification_failed")] }).verdict,
    "failing",
  );
});

test("a point-in-time source is judged by its WAL, not its base backup's age", () => {
  const wal = (minutes: number) => ({
    newest: "000000010000000000000002",
    newestAt: new Date(minutesAgo(minutes)),
    files: 2,
  });
  const fresh = status({
    sources: [source({ wal: wal(2) })],
    snapshots: [snapshot(600)],
    drills: [drill(5)],
  });
  assert.equal(fresh.sources[0]!.verdict, "ok", "a day-old base backup with WAL two minutes old");
  const lagging = status({
    sources: [source({ wal: wal(90) })],
    snapshots: [snapshot(600)],
    drills: [drill(5)],
  });
  assert.equal(lagging.sources[0]!.verdict, "stale");
  assert.match(lagging.sources[0]!.reasons[0]!, /newest archived WAL is 1h 30m/);
});

test("the drill interval: an old passing drill, or none passing, is stale", () => {
  const interval = [source({ drillIntervalSeconds: 3600 })];
  assert.equal(status({ sources: interval, snapshots: [snapshot(1)], drills: [drill(30)] }).verdict, "ok");
  assert.equal(status({ sources: interval, snapshots: [snapshot(1)], drills: [drill(90)] }).verdict, "stale");
});

test("a failed check after the last good one makes the whole report failing", () => {
  const report = status({
    snapshots: [snapshot(1)],
    drills: [drill(1)],
    runs: [run(20, "succeeded", "check"), run(10, "failed", "check")],
  });
  assert.equal(report.sources[0]!.verdict, "ok");
  assert.equal(report.verdict, "failing");
  assert.equal(report.repository.lastFailedCheck?.errorCode, "SOURCE_UNREACHABLE");
});

test("an unreadable repository is failing everywhere, never ok", () => {
  const report = unreadableStatus(now, "file:///r", [source()], {
    code: "WRONG_PASSWORD",
    message: "no key",
  });
  assert.equal(report.verdict, "failing");
  assert.equal(report.sources[0]!.verdict, "failing");
  assert.equal(report.repository.error?.code, "WRONG_PASSWORD");
});
