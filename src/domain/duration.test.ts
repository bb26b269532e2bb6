import assert from "node:assert/strict";
import { test } from "node:test";
import { isLifeboatError } from "../errors.ts";
import { formatSeconds, parseDuration } from "./duration.ts";

test("parses runbook durations", () => {
  assert.equal(parseDuration("500ms"), 0.5);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("15m"), 900);
  assert.equal(parseDuration("4h"), 14400);
  assert.equal(parseDuration("1.5d"), 129600);
});

test("rejects what is not a duration", () => {
  for (const bad of ["15", "15 minutes", "-1m", "m", ""]) {
    assert.throws(
      () => parseDuration(bad),
      (error) => isLifeboatError(error, "BAD_CONFIG"),
      bad,
    );
  }
});

test("formats seconds for people", () => {
  assert.equal(formatSeconds(0.4), "0.40s");
  assert.equal(formatSeconds(12.34), "12.3s");
  assert.equal(formatSeconds(245), "4m 05s");
  assert.equal(formatSeconds(7800), "2h 10m");
  assert.equal(formatSeconds(3 * 86400 + 4 * 3600), "3d 4h");
});
