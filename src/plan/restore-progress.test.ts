import assert from "node:assert/strict";
import { test } from "node:test";
import type { DrillReport } from "../domain/drill-report.ts";
import { estimate, predictRestore, RateWindow } from "./restore-progress.ts";

test("the rate spans the window and falls when the bytes stall", () => {
  const window = new RateWindow(10_000);
  assert.equal(window.rate(0), null, "no samples, no rate");
  window.add(0, 0);
  window.add(200, 1_000);
  assert.equal(window.rate(200), null, "200 ms is too short to be a rate");
  for (let t = 1_000; t <= 20_000; t += 1_000) window.add(t, t * 10); // 10 kB/s
  assert.equal(window.rate(20_000), 10_000);
  // Five seconds without a byte: the 10 s window holds 5 s of flow.
  assert.equal(window.rate(25_000), (200_000 - 150_000) / 10);
});

test("samples closer than the spacing are merged, so a long restore keeps a few hundred at most", () => {
  const window = new RateWindow(60_000);
  for (let t = 0; t <= 120_000; t += 1) window.add(t, t);
  assert.equal(window.rate(120_000), 1_000);
});

test("ETA from the measured rate, plus what the drill history predicts after the transfer", () => {
  const eta = estimate({
    elapsedSeconds: 10,
    bytesDone: 100e6,
    totalBytes: 400e6,
    bytesPerSecond: 10e6,
    prediction: { seconds: 60, afterTransferSeconds: 5 },
  });
  assert.deepEqual(eta, { etaSeconds: 35, basis: "measured_rate", percent: 25 });
  assert.deepEqual(
    estimate({ elapsedSeconds: 10, bytesDone: 0, totalBytes: 400e6, bytesPerSecond: 4e6, prediction: null }),
    { etaSeconds: 100, basis: "measured_rate", percent: 0 },
  );
});

test("before a rate, and once only verifying is left, the predicted RTO minus the time spent", () => {
  const prediction = { seconds: 600, afterTransferSeconds: 60 };
  assert.deepEqual(
    estimate({ elapsedSeconds: 5, bytesDone: 0, totalBytes: 1e9, bytesPerSecond: null, prediction }),
    { etaSeconds: 595, basis: "predicted_rto", percent: 0 },
  );
  assert.deepEqual(
    estimate({ elapsedSeconds: 550, bytesDone: 1e9, totalBytes: 1e9, bytesPerSecond: 2e6, prediction }),
    { etaSeconds: 50, basis: "predicted_rto", percent: 100 },
  );
  // A stalled transfer (rate 0) is not "forever": the prediction stands in.
  assert.equal(
    estimate({ elapsedSeconds: 5, bytesDone: 10, totalBytes: 1e9, bytesPerSecond: 0, prediction }).basis,
    "predicted_rto",
  );
});

test("no ETA rather than a made-up one: past the prediction, or with neither rate nor prediction", () => {
  const none = { etaSeconds: null, basis: null };
  assert.deepEqual(
    estimate({
      elapsedSeconds: 700,
      bytesDone: 1e9,
      totalBytes: 1e9,
      bytesPerSecond: 1e6,
      prediction: { seconds: 600, afterTransferSeconds: 60 },
    }),
    { ...none, percent: 100 },
  );
  assert.deepEqual(
    estimate({ elapsedSeconds: 3, bytesDone: 5e6, totalBytes: null, bytesPerSecond: 1e6, prediction: null }),
    { ...none, percent: null },
    "a partial restore has no total: a rate but no ETA",
  );
});

const drill = (id: string, startedAt: string, size: number, phases: DrillReport["phases"]) =>
  ({
    id,
    source: "uploads",
    startedAt,
    snapshot: { id: "s", selector: "latest", consistentAt: startedAt, size },
    phases,
  }) as unknown as DrillReport;

test("the prediction scales the newest drill's fetch, restore and verify by the bytes to restore", () => {
  const drills = [
    drill("old", "2026-01-01T00:00:00Z", 100, { fetch: 100, restore: 100, verify: 100 }),
    drill("new", "2026-02-01T00:00:00Z", 1_000, { start: 30, fetch: 2, restore: 8, verify: 5, ready: 3 }),
    drill("never-restored", "2026-03-01T00:00:00Z", 1_000, { select: 1 }),
    { ...drill("other", "2026-04-01T00:00:00Z", 1_000, { restore: 1 }), source: "db" },
  ];
  // (2 + 8 + 5) × 4, plus the 3 s to ready that does not grow with the data.
  assert.deepEqual(predictRestore(drills, "uploads", 4_000), {
    seconds: 63,
    afterTransferSeconds: 23,
    drill: "new",
    drilledAt: "2026-02-01T00:00:00Z",
    bytesPerSecond: 100,
  });
  assert.equal(predictRestore(drills, "uploads", null)?.seconds, 18, "unknown size: as drilled");
  assert.equal(predictRestore(drills, "cache", 10), null, "no drill history, no prediction");
});
