// The post-mortem renderer against a golden file (UPDATE_GOLDEN=1 rewrites it).

import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { test } from "node:test";
import { sampleReport } from "../../test/support/sample-report.ts";
import type { DrillReport } from "../domain/drill-report.ts";
import { postmortemOf, renderPostmortem } from "./postmortem.ts";

const golden = new URL("../../test/fixtures/postmortem/objective-missed.md", import.meta.url);

test("a drill that missed its RTO: the golden post-mortem", async () => {
  const report: DrillReport = { ...sampleReport, operator: "Sam", reviewer: "Kim" };
  const text = renderPostmortem(report);
  if (process.env.UPDATE_GOLDEN) await writeFile(golden, text);
  assert.equal(text, await readFile(golden, "utf8"));
});

test("the timeline follows the phases in the order they ran, each starting where the last ended", () => {
  const { timeline } = postmortemOf(sampleReport);
  assert.deepEqual(
    timeline.map((entry) => [entry.phase, entry.offset]),
    [
      ["select", 0],
      ["start", 0.1],
      ["fetch", 2.1],
      ["restore", 12.1],
      ["verify", 1512.1],
      ["teardown", 1515.1],
    ],
  );
  assert.equal(timeline[3]!.startedAt, "2026-11-21T01:02:15.100Z");
});

test("what failed: failed checks and errors with their codes, once each; missed objectives", () => {
  const failed: DrillReport = {
    ...sampleReport,
    status: "verification_failed",
    rto: { objective: 900, achieved: null, met: null },
    checks: [
      {
        name: "restore",
        kind: "fingerprint",
        result: "failed",
        detail: "[CHECKSUM_MISMATCH] chunk 3f2a... does not match its id",
      },
    ],
    issues: ["fetch: [CHECKSUM_MISMATCH] chunk 3f2a... does not match its id", "teardown: slow"],
  };
  const { failures } = postmortemOf(failed);
  assert.deepEqual(
    failures.map((failure) => [failure.kind, failure.name, failure.code]),
    [["check", "restore", "CHECKSUM_MISMATCH"]],
  );
  const text = renderPostmortem(failed);
  assert.match(text, /check restore \(`CHECKSUM_MISMATCH`\): failed: \[CHECKSUM_MISMATCH\] chunk/);
  assert.match(text, /\| RTO \| 15m 00s \| n\/a \| not measured \|/);
  assert.match(text, /Reviewer \| \(to be signed by the reviewer\)/, "an older report has no reviewer");
  assert.deepEqual(
    postmortemOf(sampleReport).failures.map((failure) => failure.code),
    ["OBJECTIVE_MISSED"],
  );
});
