// `lifeboat scenario run NAME`: steady probes must pass; the writer starts;
// the disrupt step runs (the RTO clock starts when it begins); the recover
// steps run (an action, or a wait for the system's own failover); the probes
// are polled until they pass or their budget runs out. The achieved RTO is
// the time from the disruption to the last probe's first pass. The writer's
// survivors give the lost writes and the achieved RPO. A failed step ends
// the run there: nothing after it runs, and the system is left as that step
// left it (the report says so).

import { randomBytes } from "node:crypto";
import type { ScenarioConfig, ScenarioStepConfig } from "../config/scenario-schema.ts";
import { objectiveOutcomes } from "../domain/drill-report.ts";
import { parseDuration } from "../domain/duration.ts";
import {
  SCENARIO_REPORT_SCHEMA,
  scenarioStatus,
  type LostWrites,
  type ScenarioReport,
  type ScenarioStepKind,
  type ScenarioStepOutcome,
} from "../domain/scenario-report.ts";
import { redact, redactDeep } from "../runtime/redact.ts";
import { lifeboatVersion } from "../version.ts";
import { describeAction, runAction, unblockAll, type RunState } from "./actions.ts";
import type { ScenarioContext } from "./endpoints.ts";
import { describeProbe, pollProbe } from "../operations/probes.ts";
import { MarkerWriter } from "./writer.ts";

export interface ScenarioRequest {
  readonly name: string;
  readonly scenario: ScenarioConfig;
  readonly operator: string;
}

export function scenarioRunId(now: Date): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z")}-${randomBytes(3).toString("hex")}`;
}

function kindOf(step: ScenarioStepConfig): ScenarioStepKind {
  if ("steady" in step) return "steady";
  if ("disrupt" in step) return "disrupt";
  if ("recover" in step) return "recover";
  return "probe";
}

function nameOf(step: ScenarioStepConfig): string {
  if ("steady" in step) return describeProbe(step.steady);
  if ("probe" in step) return describeProbe(step.probe);
  if ("disrupt" in step) return describeAction(step.disrupt);
  return "wait" in step.recover
    ? `wait ${step.recover.wait} for the system's own failover`
    : describeAction(step.recover);
}

export async function runScenario(
  context: ScenarioContext,
  request: ScenarioRequest,
): Promise<ScenarioReport> {
  const { scenario } = request;
  const startedAt = context.now();
  const id = scenarioRunId(startedAt);
  const steps: ScenarioStepOutcome[] = [];
  const issues: string[] = [];
  let disruptedAt: Date | undefined;
  let recoveredAt: number | undefined;
  let lostWrites: LostWrites | null = null;
  let error = false;
  const writer = scenario.writer
    ? new MarkerWriter(scenario.writer, context, id.replace(/[^A-Za-z0-9]/g, ""))
    : undefined;
  let writing = false;
  const state: RunState = { runId: id, blocked: [] };

  const record = (
    step: ScenarioStepConfig,
    began: number,
    ok: boolean,
    detail: string,
    attempts?: number,
  ) => {
    steps.push({
      kind: kindOf(step),
      name: redact(nameOf(step)),
      startedAt: new Date(began).toISOString(),
      seconds: (context.now().getTime() - began) / 1000,
      result: ok ? "passed" : "failed",
      ...(attempts !== undefined ? { attempts } : {}),
      detail: redact(detail),
    });
    return ok;
  };

  try {
    for (const [index, step] of scenario.steps.entries()) {
      context.signal?.throwIfAborted();
      if ("disrupt" in step && writer && !writing) {
        await writer.start();
        writing = true;
      }
      const began = context.now().getTime();
      let ok: boolean;
      if ("steady" in step || "probe" in step) {
        const polled = await pollProbe("steady" in step ? step.steady : step.probe, context);
        ok = record(step, began, polled.ok, polled.detail, polled.attempts);
        if (ok && "probe" in step) recoveredAt = polled.passedAt;
      } else if ("disrupt" in step) {
        disruptedAt = new Date(began);
        const outcome = await runAction(step.disrupt, context, disruptedAt, state);
        // The disruption happened: what the writer had acknowledged until now is what must survive.
        if (writer) await writer.stop();
        ok = record(step, began, outcome.ok, outcome.detail);
      } else if ("wait" in step.recover) {
        await new Promise((resolve) =>
          setTimeout(resolve, parseDuration((step.recover as { wait: string }).wait) * 1000),
        );
        ok = record(step, began, true, "waited");
      } else {
        const outcome = await runAction(step.recover, context, disruptedAt, state);
        ok = record(step, began, outcome.ok, outcome.detail);
      }
      if (!ok) {
        const rest = scenario.steps.length - index - 1;
        issues.push(
          `step ${index + 1} (${kindOf(step)}) failed${rest > 0 ? `; the ${rest} step(s) after it did not run` : ""}: the system is left as that step left it`,
        );
        for (const skipped of scenario.steps.slice(index + 1))
          steps.push({
            kind: kindOf(skipped),
            name: redact(nameOf(skipped)),
            startedAt: context.now().toISOString(),
            seconds: 0,
            result: "skipped",
            detail: "not run: an earlier step failed",
          });
        break;
      }
    }
    if (writer && writing && steps.every((step) => step.result === "passed")) {
      try {
        lostWrites = await writer.count();
      } catch (problem) {
        issues.push(`counting the writer's markers failed: ${redact((problem as Error).message)}`);
      }
    }
  } catch (problem) {
    error = true;
    issues.push(redact(problem instanceof Error ? problem.message : String(problem)));
  } finally {
    if (writer && writing) await writer.stop();
    // A blocked port never outlives its scenario, whatever else the run leaves as it was.
    if (state.blocked.length > 0) {
      const unblocked = await unblockAll(state, context);
      issues.push(
        unblocked.ok ? "the ports the scenario blocked were unblocked at its end" : unblocked.detail,
      );
    }
  }

  const achievedRto =
    disruptedAt && recoveredAt !== undefined && steps.every((step) => step.result === "passed")
      ? (recoveredAt - disruptedAt.getTime()) / 1000
      : null;
  const { rto, rpo } = objectiveOutcomes(scenario.expected, {
    rto: achievedRto,
    rpo: lostWrites ? lostWrites.seconds : null,
  });
  if (writer && !lostWrites && !error && steps.every((step) => step.result === "passed"))
    issues.push("the writer's survivors could not be counted: lost writes unknown");
  return redactDeep({
    schema: SCENARIO_REPORT_SCHEMA,
    id,
    scenario: request.name,
    description: scenario.description ?? null,
    services: scenario.services,
    environment: scenario.environment,
    status: scenarioStatus({ steps, rto, rpo, error }),
    startedAt: startedAt.toISOString(),
    finishedAt: context.now().toISOString(),
    operator: request.operator,
    disruptedAt: disruptedAt?.toISOString() ?? null,
    steps,
    rto: { ...rto, expected: rto.objective },
    rpo: { ...rpo, expected: rpo.objective },
    lost_writes: lostWrites,
    issues,
    lifeboatVersion,
  } satisfies ScenarioReport);
}
