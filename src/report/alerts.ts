// Prometheus alert rules derived from the declared objectives: each source
// gets the rules its objectives support, with the objective written into the
// expression as a literal, so the rules say exactly what lifeboat.yaml
// promises and need no objective series to be scraped. The metric names are
// docs/metrics.md's contract; that file's "Alert rules" section documents
// every rule.

import { stringify } from "yaml";
import type { Objectives } from "../config/source-fields.ts";
import { parseDuration } from "../domain/duration.ts";
import type { Config } from "../engines/config.ts";
import { engineFor } from "../engines/registry.ts";

/** What the rules need to know of one source. */
export interface AlertSource {
  readonly name: string;
  /** The objectives as declared (durations such as "1h"); an undeclared one turns its rules off. */
  readonly objectives: Objectives;
  /** The source archives WAL (point-in-time recovery): the archive's freshness counts against the RPO. */
  readonly archivesWal: boolean;
}

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RuleGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface RenderedRules {
  readonly groups: readonly RuleGroup[];
  /** Rules left out because an objective they need is not declared, in words. */
  readonly skipped: readonly string[];
}

/** The sources of a loaded lifeboat.yaml, as the rules see them. */
export function alertSourcesOf(config: Pick<Config, "sources">): AlertSource[] {
  return Object.entries(config.sources).map(([name, source]) => ({
    name,
    objectives: source.objectives ?? {},
    archivesWal: engineFor(source.engine).pitr?.takesBaseBackups(source as never) ?? false,
  }));
}

/**
 * Status metrics older than this are an alert of their own. `serve` renders a
 * fresh report at every scrape, but --metrics-textfile and the Pushgateway are
 * only written when a backup, drill, check or prune runs: healthy backups run
 * at least once per RPO, so the longest declared RPO (at least 1h) is the age
 * a working setup never reaches. When nothing is scraped at all, absent() fires.
 */
export function statusMaxAgeSeconds(sources: readonly AlertSource[]): number {
  const rpos = sources.flatMap((source) =>
    source.objectives.rpo ? [parseDuration(source.objectives.rpo)] : [],
  );
  return Math.max(3600, ...rpos);
}

const selector = (source: string) => `{source=${JSON.stringify(source)}}`;

/** "X, or there is none while the repository is readable": "never" counts, an unreadable repository does not. */
const orNever = (metric: string, on: string) => `(lifeboat_repository_up == 1 unless on() ${metric}${on})`;

function sourceRules(source: AlertSource, skipped: string[]): AlertRule[] {
  const { name, objectives } = source;
  const on = selector(name);
  const labels = (severity: string) => ({ severity, source: name });
  const rules: AlertRule[] = [
    {
      alert: "LifeboatBackupFailed",
      expr: `(lifeboat_backup_last_failure_timestamp_seconds${on} > lifeboat_backup_last_success_timestamp_seconds${on}) or (lifeboat_backup_last_failure_timestamp_seconds${on} unless on(source) lifeboat_backup_last_success_timestamp_seconds${on})`,
      labels: labels("critical"),
      annotations: {
        summary: `The newest backup of ${name} failed`,
        description: `A backup run of ${name} failed after its newest snapshot (or ${name} has no snapshot at all). Run \`lifeboat status ${name}\` for the error code, fix the cause, then run \`lifeboat backup ${name}\`.`,
      },
    },
  ];
  if (objectives.rpo) {
    const rpo = parseDuration(objectives.rpo);
    rules.push({
      alert: "LifeboatBackupStale",
      expr: `(time() - lifeboat_backup_last_success_timestamp_seconds${on} > ${rpo}) or ${orNever("lifeboat_backup_last_success_timestamp_seconds", on)}`,
      for: "5m",
      labels: labels("critical"),
      annotations: {
        summary: `${name} has no backup within its RPO of ${objectives.rpo}`,
        description: `The newest snapshot of ${name} is older than its RPO of ${objectives.rpo}, or there is none: backups stopped running or keep failing. Run \`lifeboat status ${name}\`, then \`lifeboat backup ${name}\`, and check the backup schedule.`,
      },
    });
    if (source.archivesWal) {
      rules.push({
        alert: "LifeboatWalArchiveLagging",
        expr: `time() - lifeboat_wal_last_archived_timestamp_seconds${on} > ${rpo}`,
        for: "5m",
        labels: labels("critical"),
        annotations: {
          summary: `The WAL archive of ${name} is behind its RPO of ${objectives.rpo}`,
          description: `No WAL file of ${name} reached the archive within its RPO of ${objectives.rpo}: archive_command may be failing (see pg_stat_archiver and the server log), or the server wrote nothing (set archive_timeout below the RPO). Run \`lifeboat status ${name}\`.`,
        },
      });
    }
  } else {
    skipped.push(
      `${name}: LifeboatBackupStale${source.archivesWal ? " and LifeboatWalArchiveLagging need" : " needs"} objectives.rpo`,
    );
  }
  rules.push({
    alert: "LifeboatDrillFailed",
    expr: `lifeboat_drill_last_passed${on} == 0`,
    labels: labels("critical"),
    annotations: {
      summary: `The newest drill of ${name} did not pass`,
      description: `The newest drill of ${name} did not prove it restores and verifies. Read its record with \`lifeboat drills ${name}\`, fix the cause, then run \`lifeboat drill ${name}\`.`,
    },
  });
  if (objectives.drill_interval) {
    rules.push({
      alert: "LifeboatDrillOverdue",
      expr: `(time() - lifeboat_drill_last_success_timestamp_seconds${on} > ${parseDuration(objectives.drill_interval)}) or ${orNever("lifeboat_drill_last_success_timestamp_seconds", on)}`,
      // A scheduled drill running at the boundary gets an hour to finish.
      for: "1h",
      labels: labels("warning"),
      annotations: {
        summary: `No passing drill of ${name} within its interval of ${objectives.drill_interval}`,
        description: `No drill of ${name} has passed within its drill interval of ${objectives.drill_interval} (or none ever has): run \`lifeboat drill ${name}\`, and check the drill schedule with \`lifeboat schedule list\`.`,
      },
    });
  } else skipped.push(`${name}: LifeboatDrillOverdue needs objectives.drill_interval`);
  if (objectives.rto) {
    rules.push({
      alert: "LifeboatRtoOverObjective",
      expr: `lifeboat_drill_rto_achieved_seconds${on} > ${parseDuration(objectives.rto)}`,
      labels: labels("warning"),
      annotations: {
        summary: `Restoring ${name} took longer than its RTO of ${objectives.rto}`,
        description: `The newest drill of ${name} restored in more than its RTO of ${objectives.rto}. Its record (\`lifeboat drills ${name}\`) shows which phase took the time: speed that up or declare an RTO you can meet.`,
      },
    });
  } else skipped.push(`${name}: LifeboatRtoOverObjective needs objectives.rto`);
  return rules;
}

function repositoryRules(maxAge: number): AlertRule[] {
  return [
    {
      alert: "LifeboatRepositoryDown",
      expr: "lifeboat_repository_up == 0",
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Lifeboat repository cannot be read",
        description:
          "Lifeboat could not read its repository (storage unreachable, wrong password, repository missing): nothing can be backed up or restored. Run `lifeboat status` for the error, then `lifeboat check` once it opens.",
      },
    },
    {
      alert: "LifeboatStatusMissing",
      expr: `absent(lifeboat_status_generated_timestamp_seconds) or (time() - max(lifeboat_status_generated_timestamp_seconds) > ${maxAge})`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "No fresh Lifeboat status metrics",
        description: `Prometheus has no Lifeboat status newer than ${maxAge}s, so the other Lifeboat alerts cannot fire: \`lifeboat serve\` is down or not scraped, or the runs that write --metrics-textfile or push to the Pushgateway stopped. Check the scrape target, then run \`lifeboat status\`.`,
      },
    },
  ];
}

/** The rules of every source, each group a source, after the repository's own. */
export function alertRules(sources: readonly AlertSource[]): RenderedRules {
  const skipped: string[] = [];
  const groups: RuleGroup[] = [
    { name: "lifeboat-repository", rules: repositoryRules(statusMaxAgeSeconds(sources)) },
    ...sources.map((source) => ({ name: `lifeboat-${source.name}`, rules: sourceRules(source, skipped) })),
  ];
  return { groups, skipped };
}

export function ruleCount(rules: RenderedRules): number {
  return rules.groups.reduce((sum, group) => sum + group.rules.length, 0);
}

const header = (skipped: readonly string[]) =>
  [
    "# Generated by `lifeboat alerts render` from the objectives in lifeboat.yaml",
    '# (docs/metrics.md, "Alert rules"); re-render after changing them.',
    ...skipped.map((line) => `# not rendered: ${line}`),
    "",
  ].join("\n");

// lineWidth 0: PromQL stays on one line, as promtool and people read it.
const yaml = (document: unknown) => stringify(document, { lineWidth: 0 });

/** A Prometheus rules file (rule_files:). */
export function renderRulesFile(rules: RenderedRules): string {
  return header(rules.skipped) + yaml({ groups: rules.groups });
}

export interface PrometheusRuleOptions {
  readonly name?: string;
  /** metadata.labels, e.g. what the Prometheus Operator's ruleSelector matches. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The same groups as a Prometheus Operator PrometheusRule (monitoring.coreos.com/v1). */
export function renderPrometheusRule(rules: RenderedRules, options: PrometheusRuleOptions = {}): string {
  const metadata = {
    name: options.name ?? "lifeboat",
    labels: { "app.kubernetes.io/name": "lifeboat", ...options.labels },
  };
  return (
    header(rules.skipped) +
    yaml({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PrometheusRule",
      metadata,
      spec: { groups: rules.groups },
    })
  );
}
