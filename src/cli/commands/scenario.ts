// lifeboat scenario list | run NAME [--production --confirm NAME] [--operator NAME]:
// scenario drills from lifeboat.yaml's `scenarios:` (src/scenario/run.ts).
// A scenario marked `environment: production` runs only with --production
// and --confirm repeating its name, as seed 001's CONFIRM_DRILL=YES. The
// report goes to the reports folder (JSON and Markdown) and to the
// notification targets; the exit code is a drill's: 0 passed, 7 objective
// missed, 6 failed, 8 error.

import { hostname } from "node:os";
import { formatSeconds } from "../../domain/duration.ts";
import type { ScenarioReport } from "../../domain/scenario-report.ts";
import type { Config } from "../../engines/config.ts";
import { engineFor } from "../../engines/registry.ts";
import { ExitCode, LifeboatError } from "../../errors.ts";
import { deliver } from "../../notify/send.ts";
import { writeScenarioReportFiles } from "../../report/files.ts";
import { renderScenarioRecord } from "../../report/scenario-record.ts";
import { runShellCommand } from "../../runtime/shell-command.ts";
import { runScenario } from "../../scenario/run.ts";
import { safeUser } from "../../drill/run.ts";
import { withTempDir } from "../../operations/temp-dir.ts";
import { processRunner } from "../../runtime/process.ts";
import { lifeboatVersion } from "../../version.ts";
import { lifeboatChildVariables, lifeboatCommandLine, lifeboatShim } from "../lifeboat-child.ts";
import { loadSessionConfig, withRepository, type CommandEnv } from "../session.ts";
import { notifyTargets } from "./drill.ts";
import { classifyTarget } from "../environment-guard.ts";
import { redact } from "../../runtime/redact.ts";
import type { ScenarioConfig } from "../../config/scenario-schema.ts";

export interface ScenarioRunFlags {
  readonly production?: boolean;
  readonly confirm?: string;
  readonly operator?: string;
}

export async function scenarioListCommand(env: CommandEnv): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const scenarios = Object.entries(config.scenarios).map(([name, scenario]) => ({
    name,
    description: scenario.description ?? null,
    environment: scenario.environment,
    services: scenario.services,
    expected: { rto: scenario.expected.rto ?? null, rpo: scenario.expected.rpo ?? null },
    steps: scenario.steps.map((step) => Object.keys(step)[0]!),
    writer: scenario.writer !== undefined,
  }));
  env.output.result({ scenarios }, () =>
    scenarios.length === 0
      ? "lifeboat.yaml declares no scenarios"
      : scenarios
          .map(
            (s) =>
              `${s.name} (${s.environment}): ${s.steps.join(" → ")}; expected RTO ${s.expected.rto ?? "-"}, RPO ${s.expected.rpo ?? "-"}${s.writer ? "; counts lost writes" : ""}`,
          )
          .join("\n"),
  );
}

function refuseUnconfirmed(name: string, environment: string, flags: ScenarioRunFlags): void {
  if (environment !== "production") return;
  if (!flags.production || flags.confirm !== name) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      `scenario ${name} disrupts production: it runs only with --production --confirm ${name}`,
      { hint: "Run it against a drill or staging system instead, or confirm on purpose." },
    );
  }
}

export async function scenarioRunCommand(
  env: CommandEnv,
  name: string,
  flags: ScenarioRunFlags,
): Promise<void> {
  const { config } = await loadSessionConfig(env);
  const scenario = config.scenarios[name];
  if (!scenario) {
    throw new LifeboatError("BAD_ARGUMENT", `no scenario named ${name} in lifeboat.yaml`, {
      hint: `Declared: ${Object.keys(config.scenarios).join(", ") || "(none)"}; lifeboat scenario list shows them.`,
    });
  }
  refuseUnconfirmed(name, scenario.environment, flags);
  await refuseProductionTargets(name, scenario, config);
  const shim = await lifeboatShim();
  let report: ScenarioReport;
  try {
    const variables = lifeboatChildVariables(config, env.options.config, shim.dir);
    env.log.info(`scenario ${name}: ${scenario.steps.length} step(s)`);
    report = await withTempDir("scenario", (tempDir) =>
      runScenario(
        {
          engineFor,
          engineContext: { runner: processRunner, log: env.log, tempDir, signal: env.signal },
          now: () => new Date(),
          signal: env.signal,
          runLifeboat: (args, timeoutSeconds) =>
            runShellCommand(lifeboatCommandLine(args), { timeoutSeconds, variables, signal: env.signal }),
        },
        { name, scenario, operator: flags.operator ?? `${safeUser()}@${hostname()}` },
      ),
    );
  } finally {
    await shim.dispose();
  }
  await keepScenarioEvidence(env, config, report);
  env.output.result(report, () => renderScenarioRecord(report));
  if (report.status !== "passed") {
    throw new LifeboatError("VERIFICATION_FAILED", `scenario ${report.status.replace("_", " ")}`, {
      reported: true,
      exitCode:
        report.status === "objective_missed"
          ? ExitCode.objectiveMissed
          : report.status === "failed"
            ? ExitCode.verification
            : ExitCode.drillError,
    });
  }
}

/** Every URL and path a scenario names; none may be production unless the scenario says it is (and was confirmed). */
function scenarioTargets(scenario: ScenarioConfig): string[] {
  const found: string[] = [];
  if (scenario.writer)
    found.push(scenario.writer.url, ...(scenario.writer.survivor_url ? [scenario.writer.survivor_url] : []));
  for (const step of scenario.steps) {
    const part = Object.values(step)[0] as Record<string, unknown>;
    if (typeof part.url === "string") found.push(part.url);
    if (typeof part.http === "string") found.push(part.http);
    const restore = part.restore as { to?: unknown } | undefined;
    if (restore && typeof restore.to === "string") found.push(restore.to);
  }
  return found;
}

async function refuseProductionTargets(
  name: string,
  scenario: ScenarioConfig,
  config: Config,
): Promise<void> {
  if (scenario.environment === "production") return; // confirmed with --production --confirm NAME
  for (const target of scenarioTargets(scenario)) {
    const environment = await classifyTarget(target, config.environments);
    if (environment?.name === "production") {
      throw new LifeboatError(
        "BAD_ARGUMENT",
        `scenario ${name} names a production target, ${redact(target)} (${environment.because}), but is not marked environment: production`,
        {
          hint: "Point the scenario at a drill or staging system, or mark it environment: production and run it with --production --confirm NAME.",
        },
      );
    }
  }
}

async function keepScenarioEvidence(env: CommandEnv, config: Config, report: ScenarioReport): Promise<void> {
  const files = await writeScenarioReportFiles(config.reports.dir, report);
  env.log.info(`scenario report: ${files.markdown}`);
  // The drill history in the repository (`lifeboat drills` lists scenario runs beside drills). A
  // repository that cannot be reached costs only that copy: the files above are the evidence too.
  try {
    await withRepository(env, { kind: "shared", command: "drill" }, (context) =>
      context.repository.saveDrillReport(report),
    );
  } catch (error) {
    env.log.warn(
      `the scenario report was not stored in the repository: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { targets, problems } = notifyTargets(config);
  for (const problem of problems) env.log.warn(problem);
  const chosen = targets.filter((target) => target.on === "always" || report.status !== "passed");
  const deliveries = await deliver(
    chosen,
    (target) =>
      target.kind === "slack"
        ? {
            text: `Scenario ${report.scenario}: ${report.status} (RTO ${
              report.rto.achieved === null ? "not measured" : formatSeconds(report.rto.achieved)
            }${report.lost_writes ? `, ${report.lost_writes.count} writes lost` : ""})`,
          }
        : report,
    lifeboatVersion,
    {},
  );
  for (const delivery of deliveries)
    if (!delivery.ok) env.log.warn(`notification to ${delivery.target} failed: ${delivery.detail}`);
}
