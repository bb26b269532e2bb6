import assert from "node:assert/strict";
import { test } from "node:test";
import { sampleReport } from "../../test/support/sample-report.ts";
import type { DrillReport } from "../domain/drill-report.ts";
import { drillTrend, sparkline } from "./trend.ts";

function drill(
  source: string,
  day: number,
  rto: number | null,
  status: DrillReport["status"] = "passed",
): DrillReport {
  return {
    ...sampleReport,
    source,
    status,
    startedAt: `2026-11-${String(day).padStart(2, "0")}T00:00:00.000Z`,
    rto: { objective: 900, achieved: rto, met: rto === null ? null : rto <= 900 },
  };
}

test("trend per source: pass count, last RTO against the median of earlier drills", () => {
  const rows = drillTrend([
    drill("db", 3, 120),
    drill("db", 1, 100),
    drill("files", 1, 5),
    drill("db", 2, null, "verification_failed"),
    drill("db", 4, 150),
  ]);
  const db = rows.find((row) => row.source === "db")!;
  assert.equal(db.drills, 4);
  assert.equal(db.passed, 3);
  assert.equal(db.lastRto, 150);
  assert.deepEqual(db.rtoHistory, [100, null, 120, 150]);
  assert.equal(db.rtoVersusMedian, 150 / 110);
  assert.equal(rows.find((row) => row.source === "files")!.rtoVersusMedian, null);
});

test("sparkline scales to the slowest drill and marks unverified drills", () => {
  assert.equal(sparkline([100, null, 50, 0]), "█·▄▁");
  assert.equal(sparkline([]), "");
});
