// lifeboat status [SOURCE...]: per source, the newest backup against the RPO,
// the newest failure, the newest drill, WAL freshness and a verdict; exit 0
// only when every source is within its objectives (docs/metrics.md). An
// unreadable repository is a failing status naming the error, never "ok".

import type { DrillReport } from "../../domain/drill-report.ts";
import { formatSeconds } from "../../domain/duration.ts";
import type { RunRecord } from "../../domain/run-record.ts";
import type { SourceStatus, StatusReport } from "../../domain/status.ts";
import { isLifeboatError, LifeboatError } from "../../errors.ts";
import { readStatus, unreadableReading } from "../../operations/status.ts";
import { engineFor } from "../../engines/registry.ts";
import { redact } from "../../runtime/redact.ts";
import { formatBytes, table } from "../output.ts";
import { loadSessionConfig, selectSources, withRepository, type CommandEnv } from "../session.ts";

export interface StatusReading {
  readonly report: StatusReport;
  /** The run records the report was computed from (the newest STATUS_RUN_RECORDS). */
  readonly runs: readonly RunRecord[];
  readonly drills: readonly DrillReport[];
}

/** The status of the named sources (all when none is named), from the repository alone. */
export async function readStatusOf(
  env: CommandEnv,
  names: readonly string[],
  now: () => Date = () => new Date(),
): Promise<StatusReading> {
  const { config } = await loadSessionConfig(env);
  const sources = Object.fromEntries(selectSources(config, names));
  const url = redact(config.repository.url);
  try {
    return await withRepository(env, null, (context) => readStatus({ ...context, now }, sources, url));
  } catch (error) {
    if (isLifeboatError(error, "INTERRUPTED")) throw error;
    const failure = error instanceof LifeboatError ? error : new LifeboatError("INTERNAL", String(error));
    env.log.error(`the repository could not be read: [${failure.code}] ${failure.message}`);
    return unreadableReading({ engineFor }, sources, url, failure, now());
  }
}

/** --at: a moment to judge the objectives at (what will status say tomorrow morning?). */
function clockOf(at: string | undefined): () => Date {
  if (at === undefined) return () => new Date();
  const moment = new Date(at);
  if (Number.isNaN(moment.getTime())) {
    throw new LifeboatError("BAD_ARGUMENT", `--at ${JSON.stringify(at)} is not a time`, {
      hint: "Give an ISO-8601 time such as 2026-12-03T06:00:00Z.",
    });
  }
  return () => moment;
}

export async function statusCommand(
  env: CommandEnv,
  names: readonly string[],
  flags: { at?: string } = {},
): Promise<void> {
  const { report } = await readStatusOf(env, names, clockOf(flags.at));
  env.output.result(report, () => statusText(report));
  if (report.verdict === "failing" || report.verdict === "stale" || report.verdict === "never_drilled") {
    const which = report.sources.filter((source) => source.verdict !== "ok").map((source) => source.source);
    const failing = report.verdict === "failing";
    throw new LifeboatError(
      failing ? "STATUS_FAILING" : "STATUS_STALE",
      report.repository.error
        ? `the repository could not be read (${report.repository.error.code})`
        : `${which.length ? which.join(", ") : "the repository"}: ${report.verdict.replace("_", " ")}`,
      { reported: true, details: { sources: which } },
    );
  }
}

const age = (value: number | null | undefined) => (value == null ? "-" : `${formatSeconds(value)} ago`);

function backupCell(source: SourceStatus): string {
  if (!source.lastBackup) return "never";
  const rpo = source.objectives.rpoSeconds;
  return `${age(source.lastBackup.ageSeconds)}${rpo !== null ? ` (RPO ${formatSeconds(rpo)})` : ""}`;
}

function drillCell(source: SourceStatus): string {
  const drill = source.lastDrill;
  if (!drill) return "never";
  const rto = drill.rto.achieved === null ? "" : ` RTO ${formatSeconds(drill.rto.achieved)}`;
  return `${drill.status} ${age(drill.ageSeconds)}${rto}`;
}

export function statusText(report: StatusReport): string {
  const lines = [
    table(
      ["SOURCE", "VERDICT", "LAST BACKUP", "LAST FAILURE", "LAST DRILL", "WAL"],
      report.sources.map((source) => [
        source.source,
        source.verdict.toUpperCase(),
        backupCell(source),
        source.lastFailedBackup ? `${source.lastFailedBackup.errorCode} ${source.lastFailedBackup.at}` : "-",
        drillCell(source),
        source.wal
          ? source.wal.newest
            ? `${source.wal.newest} ${age(source.wal.ageSeconds)}`
            : "none"
          : "-",
      ]),
    ),
  ];
  for (const source of report.sources)
    for (const reason of source.reasons) lines.push(`${source.source}: ${reason}`);
  const repository = report.repository;
  if (repository.error) lines.push(`repository: [${repository.error.code}] ${repository.error.message}`);
  else {
    lines.push(
      `repository: ${repository.dataBytes === null ? "?" : formatBytes(repository.dataBytes)} stored; last check ${repository.lastCheck?.at ?? "never"}${repository.lastFailedCheck ? `, last failed check ${repository.lastFailedCheck.at} (${repository.lastFailedCheck.errorCode})` : ""}; last prune ${repository.lastPrune?.at ?? "never"}`,
    );
  }
  for (const copy of report.preserved ?? [])
    lines.push(
      `kept: ${copy.location} (${copy.source}, replaced by a ${copy.by} ${copy.keptAt}) beside ${copy.target}: \`lifeboat preserved drop ${copy.id}\` removes it`,
    );
  lines.push(`verdict: ${report.verdict.toUpperCase()}`);
  return lines.join("\n");
}
