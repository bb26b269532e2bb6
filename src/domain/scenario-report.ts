// The scenario report: what a scenario drill (`lifeboat scenario run`) did
// and measured. Its JSON form is documented in docs/scenarios.md; the
// Markdown record is rendered from it. Field names follow seed 003's
// dr_test_results where they overlap (scenario, status, rto, steps).

import type { ObjectiveOutcome } from "./drill-report.ts";

export const SCENARIO_REPORT_SCHEMA = "lifeboat.scenario-report/v1";

/** passed: every probe passed within the expectations; objective_missed: passed, but too slowly or with too many lost writes. */
export type ScenarioStatus = "passed" | "objective_missed" | "failed" | "error";

export type ScenarioStepKind = "steady" | "disrupt" | "recover" | "probe";

export interface ScenarioStepOutcome {
  readonly kind: ScenarioStepKind;
  /** In words: "command: pg_ctl ... promote", "sql: select not pg_is_in_recovery()". */
  readonly name: string;
  readonly startedAt: string;
  readonly seconds: number;
  readonly result: "passed" | "failed" | "skipped";
  /** Attempts for probes; the last failure's words, or what the action printed last. */
  readonly attempts?: number;
  readonly detail: string;
}

export interface LostWrites {
  /** Markers the writer had acknowledged before the disruption ended its run. */
  readonly acknowledged: number;
  /** Of those, the ones found through survivor_url after recovery. */
  readonly survived: number;
  /** acknowledged - survived. */
  readonly count: number;
  /** Time between the newest acknowledged marker and the newest surviving one: the achieved RPO. */
  readonly seconds: number;
  readonly writerUrl: string;
  readonly survivorUrl: string;
}

/** A drill's objective outcome, with the objective also as `expected` (the name the scenario contract uses). */
export type ScenarioObjective = ObjectiveOutcome & { readonly expected: number | null };

export interface ScenarioReport {
  readonly schema: typeof SCENARIO_REPORT_SCHEMA;
  readonly id: string;
  readonly scenario: string;
  readonly description: string | null;
  readonly services: readonly string[];
  readonly environment: string;
  readonly status: ScenarioStatus;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly operator: string;
  /** When the disrupt step began: the RTO is measured from here. */
  readonly disruptedAt: string | null;
  readonly steps: readonly ScenarioStepOutcome[];
  /** Seconds from the disruption to the last probe's first pass. */
  readonly rto: ScenarioObjective;
  /** Seconds of writes lost (from the writer's markers); null without a writer. */
  readonly rpo: ScenarioObjective;
  /** Named as the interface contract of issue 14 names it (`lost_writes`); null without a writer. */
  readonly lost_writes: LostWrites | null;
  readonly issues: readonly string[];
  readonly lifeboatVersion: string;
}

export function scenarioStatus(report: {
  readonly steps: readonly ScenarioStepOutcome[];
  readonly rto: ObjectiveOutcome;
  readonly rpo: ObjectiveOutcome;
  readonly error: boolean;
}): ScenarioStatus {
  if (report.error) return "error";
  if (report.steps.some((step) => step.result !== "passed")) return "failed";
  if (report.rto.met === false || report.rpo.met === false) return "objective_missed";
  return "passed";
}

/** A stored scenario report of this schema (the drill history holds both kinds). */
export function isScenarioReport(value: unknown): value is ScenarioReport {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { schema?: unknown }).schema === SCENARIO_REPORT_SCHEMA
  );
}
