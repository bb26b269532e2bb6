import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateObjective } from "./drill-report.ts";
import { scenarioStatus, type ScenarioStepOutcome } from "./scenario-report.ts";

const step = (result: ScenarioStepOutcome["result"]): ScenarioStepOutcome => ({
  kind: "probe",
  name: "tcp: 127.0.0.1:5432",
  startedAt: "2026-12-03T08:00:00.000Z",
  seconds: 1,
  result,
  detail: "",
});

test("a scenario's status follows from its steps and objectives", () => {
  const met = evaluateObjective(60, 12);
  const missed = evaluateObjective(60, 90);
  const none = evaluateObjective(null, null);
  assert.equal(scenarioStatus({ steps: [step("passed")], rto: met, rpo: none, error: false }), "passed");
  assert.equal(
    scenarioStatus({ steps: [step("passed")], rto: missed, rpo: none, error: false }),
    "objective_missed",
  );
  assert.equal(
    scenarioStatus({ steps: [step("passed")], rto: met, rpo: missed, error: false }),
    "objective_missed",
  );
  assert.equal(
    scenarioStatus({ steps: [step("failed"), step("skipped")], rto: none, rpo: none, error: false }),
    "failed",
  );
  assert.equal(scenarioStatus({ steps: [step("passed")], rto: met, rpo: none, error: true }), "error");
});
