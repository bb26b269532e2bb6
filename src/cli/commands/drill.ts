// lifeboat drill [SOURCE...]: restore snapshots into scratch targets, verify,
// measure RTO/RPO against objectives, keep the evidence, notify.
// Exit code: the worst outcome over all drilled sources (docs/errors.md).

import { recordRun } from "../../operations/run-record.ts";
import { formatSeconds } from "../../domain/duration.ts";
import { ExitCode, LifeboatError } from "../../errors.ts";
import type { DrillReport, DrillStatus } from "../../domain/drill-report.ts";
import { runDrill } from "../../drill/run.ts";
import { notify, type NotifyTarget } from "../../notify/send.ts";
import { renderDrillRecord } from "../../report/drill-record.ts";
import { writeReportFiles } from "../../report/files.ts";
import type { Config } from "../../engines/config.ts";
import type { OperationContext } from "../../operations/context.ts";
import { classifyTarget } from "../environment-guard.ts";
import { selectSources, withRepository, type CommandEnv } from "../session.ts";

const exitFor: Record<DrillStatus, ExitCode> = {
  passed: ExitCode.ok,
  objective_missed: ExitCode.objectiveMissed,
  verification_failed: ExitCode.verification,
  error: ExitCode.drillError,
};
const severity: DrillStatus[] = ["passed", "objective_missed", "verification_failed", "error"];

export function notifyTargets(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
): { targets: NotifyTarget[]; problems: string[] } {
  const targets: NotifyTarget[] = [];
  const problems: string[] = [];
  for (const entry of config.notify) {
    if ("webhook" in entry) targets.push({ kind: "webhook", url: entry.webhook, on: entry.on });
    else {
      const url = env[entry.slack_webhook_env];
      if (url) targets.push({ kind: "slack", url, on: entry.on });
      else problems.push(`Slack notification skipped: ${entry.slack_webhook_env} is not set`);
    }
  }
  return { targets, problems };
}

export async function drillCommand(
  env: CommandEnv,
  names: readonly string[],
  flags: { snapshot: string; operator?: string; reviewer?: string },
): Promise<void> {
  const people = {
    ...(flags.operator !== undefined ? { operator: personName("--operator", flags.operator) } : {}),
    ...(flags.reviewer !== undefined ? { reviewer: personName("--reviewer", flags.reviewer) } : {}),
  };
  const reports = await withRepository(env, { kind: "shared", command: "drill" }, async (context, config) => {
    const selected = selectSources(config, names);
    if (selected.length === 0)
      throw new LifeboatError("BAD_ARGUMENT", "lifeboat.yaml declares no sources to drill");
    const { targets, problems } = notifyTargets(config);
    for (const problem of problems) env.log.warn(problem);
    const reports: DrillReport[] = [];
    for (const [name, source] of selected) {
      if (env.signal.aborted) break;
      env.log.info(`drilling ${name} (${source.engine})...`);
      const report = await runDrill(context, {
        sourceName: name,
        source,
        selector: flags.snapshot,
        ...people,
        productionReason: productionReasonOf(config),
      });
      await keepDrillEvidence(env, context, config, report, targets);
      reports.push(report);
    }
    return reports;
  });
  const single = names.length === 1 && reports.length === 1;
  env.output.result(single ? reports[0] : { reports }, () =>
    reports
      .map((report) => renderDrillRecord(report))
      .concat(reports.length > 1 ? [summary(reports)] : [])
      .join("\n"),
  );
  const worst = reports.reduce<DrillStatus>(
    (acc, report) => (severity.indexOf(report.status) > severity.indexOf(acc) ? report.status : acc),
    "passed",
  );
  if (worst !== "passed") {
    throw new LifeboatError("VERIFICATION_FAILED", `drill ${worst.replace("_", " ")}`, {
      reported: true,
      exitCode: exitFor[worst],
    });
  }
}

/** Why a target is production under lifeboat.yaml's environments:, for the drill's refusal. */
export function productionReasonOf(config: Config): (target: string) => Promise<string | undefined> {
  return async (target) => {
    const environment = await classifyTarget(target, config.environments);
    return environment?.name === "production" ? environment.because : undefined;
  };
}

/** A person's name for the drill record: one line of text (it goes into Markdown tables). */
function personName(flag: string, value: string): string {
  const name = value.trim();
  // eslint-disable-next-line no-control-regex
  if (name === "" || /[\u0000-\u001f|]/.test(name))
    throw new LifeboatError("BAD_ARGUMENT", `${flag}: give a name on one line, without '|'`, {
      hint: `e.g. ${flag} "Dana Smith"`,
    });
  return name;
}

/** The exit code of a drill that ended with `status` (docs/errors.md). */
export function exitForStatus(status: DrillStatus): ExitCode {
  return exitFor[status];
}

/** Keep a drill's evidence: the report in the repository, its run record, its files, its notifications. */
export async function keepDrillEvidence(
  env: CommandEnv,
  context: OperationContext,
  config: Config,
  report: DrillReport,
  targets: readonly NotifyTarget[],
): Promise<void> {
  await context.repository.saveDrillReport(report);
  await recordRun(context, {
    operation: "drill",
    source: report.source,
    startedAt: new Date(report.startedAt),
    snapshot: report.snapshot.id ?? null,
    drill: { report: report.id, status: report.status },
    ...(report.status === "passed" ? {} : { error: drillError(report) }),
  });
  const paths = await writeReportFiles(config.reports.dir, report);
  env.log.info(`drill ${report.source}: ${report.status}; record: ${paths.markdown}`);
  for (const delivery of await notify(report, [...targets])) {
    if (!delivery.ok) env.log.warn(`notification to ${delivery.target} failed: ${delivery.detail}`);
  }
}

function summary(reports: readonly DrillReport[]): string {
  return reports
    .map(
      (report) =>
        `${report.source}: ${report.status} (RTO ${report.rto.achieved === null ? "n/a" : formatSeconds(report.rto.achieved)})`,
    )
    .join("\n");
}

/** The error a drill that did not pass leaves in its run record: the status, and the first issue met. */
function drillError(report: DrillReport): LifeboatError {
  const code =
    report.status === "objective_missed"
      ? "OBJECTIVE_MISSED"
      : report.status === "error"
        ? "DRILL_ERROR"
        : "VERIFICATION_FAILED";
  const why =
    report.issues[0] ?? report.checks.find((check) => check.result !== "passed")?.detail ?? report.status;
  return new LifeboatError(code, `drill ${report.status.replace("_", " ")}: ${why}`);
}
