// Prometheus alert rules derived from the declared objectives: each source
// gets the rules its objectives support, with the objective written into the
// expression, so the rules say exactly what lifeboat.yaml promises. The
// metric names are docs/metrics.md's contract.

import { stringify } from "yaml";

export interface AlertSource {
  readonly name: string;
  readonly rpoSeconds: number | null;
  readonly rtoSeconds: number | null;
  readonly drillIntervalSeconds: number | null;
  /** The source archives WAL (point-in-time recovery): its freshness is the archive's. */
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

/** How old the status metrics may get before their absence is an alert itself. */
const STATUS_MAX_AGE_SECONDS = 3600;

const selector = (source: string) => `{source=${JSON.stringify(source)}}`;

function sourceRules(source: AlertSource, skipped: string[]): AlertRule[] {
  const on = selector(source.name);
  const labels = (severity: string) => ({ severity, source: source.name });
  const look = `Run \`lifeboat status ${source.name}\` for the reason.`;
  const rules: AlertRule[] = [
    {
      alert: "LifeboatBackupFailed",
      // Newer than the newest success, or failed with no success at all.
      expr: `(lifeboat_backup_last_failure_timestamp_seconds${on} > lifeboat_backup_last_success_timestamp_seconds${on}) or (lifeboat_backup_last_failure_timestamp_seconds${on} unless on(source) lifeboat_backup_last_success_timestamp_seconds${on})`,
      labels: labels("critical"),
      annotations: {
        summary: `The newest backup of ${source.name} failed`,
        description: `The newest backup run of ${source.name} failed after its last good snapshot. ${look}`,
      },
    },
  ];
  if (source.rpoSeconds !== null) {
    rules.push({
      alert: "LifeboatBackupStale",
      expr: `(time() - lifeboat_backup_last_success_timestamp_seconds${on} > ${source.rpoSeconds}) or (lifeboat_repository_up == 1 unless on() lifeboat_backup_last_success_timestamp_seconds${on})`,
      for: "5m",
      labels: labels("critical"),
      annotations: {
        summary: `${source.name} has no backup within its RPO`,
        description: `The newest backup of ${source.name} is older than the RPO of ${source.rpoSeconds}s, or there is none. ${look}`,
      },
    });
    if (source.archivesWal) {
      rules.push({
        alert: "LifeboatWalArchiveLagging",
        expr: `time() - lifeboat_wal_last_archived_timestamp_seconds${on} > ${source.rpoSeconds}`,
        for: "5m",
        labels: labels("critical"),
        annotations: {
          summary: `The WAL archive of ${source.name} is behind its RPO`,
          description: `No WAL file of ${source.name} reached the archive within the RPO of ${source.rpoSeconds}s: archive_command may be failing (see pg_stat_archiver), or the server writes nothing. ${look}`,
        },
      });
    }
  } else
    skipped.push(`${source.name}: LifeboatBackupStale and LifeboatWalArchiveLagging need objectives.rpo`);
  rules.push({
    alert: "LifeboatDrillFailed",
    expr: `lifeboat_drill_last_passed${on} == 0`,
    labels: labels("critical"),
    annotations: {
      summary: `The newest drill of ${source.name} did not pass`,
      description: `The newest drill of ${source.name} did not prove it restores within its objectives. Read its record with \`lifeboat drills ${source.name}\`.`,
    },
  });
  if (source.drillIntervalSeconds !== null) {
    rules.push({
      alert: "LifeboatDrillOverdue",
      expr: `(time() - lifeboat_drill_last_success_timestamp_seconds${on} > ${source.drillIntervalSeconds}) or (lifeboat_repository_up == 1 unless on() lifeboat_drill_last_success_timestamp_seconds${on})`,
      for: "1h",
      labels: labels("warning"),
      annotations: {
        summary: `No passing drill of ${source.name} within its interval`,
        description: `No drill of ${source.name} has passed within ${source.drillIntervalSeconds}s: run \`lifeboat drill ${source.name}\`.`,
      },
    });
  } else skipped.push(`${source.name}: LifeboatDrillOverdue needs objectives.drill_interval`);
  if (source.rtoSeconds !== null) {
    rules.push({
      alert: "LifeboatRtoOverObjective",
      expr: `lifeboat_drill_rto_achieved_seconds${on} > ${source.rtoSeconds}`,
      labels: labels("warning"),
      annotations: {
        summary: `Restoring ${source.name} took longer than its RTO`,
        description: `The newest drill of ${source.name} restored in more than the RTO of ${source.rtoSeconds}s. The drill record's phases say where the time went.`,
      },
    });
  } else skipped.push(`${source.name}: LifeboatRtoOverObjective needs objectives.rto`);
  return rules;
}

function repositoryRules(): AlertRule[] {
  return [
    {
      alert: "LifeboatRepositoryDown",
      expr: "lifeboat_repository_up == 0",
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "The Lifeboat repository cannot be read",
        description:
          "Status could not read the repository (storage down, wrong password, missing). Run `lifeboat status` for the error.",
      },
    },
    {
      alert: "LifeboatStatusMissing",
      expr: `absent(lifeboat_status_generated_timestamp_seconds) or (time() - max(lifeboat_status_generated_timestamp_seconds) > ${STATUS_MAX_AGE_SECONDS})`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: "No fresh Lifeboat status metrics",
        description: `Prometheus has no Lifeboat status newer than ${STATUS_MAX_AGE_SECONDS}s: \`lifeboat serve\` is down, or the runs that write --metrics-textfile or push to the Pushgateway stopped.`,
      },
    },
  ];
}

export function alertRules(sources: readonly AlertSource[]): RenderedRules {
  const skipped: string[] = [];
  const groups: RuleGroup[] = [
    { name: "lifeboat-repository", rules: repositoryRules() },
    ...sources.map((source) => ({ name: `lifeboat-${source.name}`, rules: sourceRules(source, skipped) })),
  ];
  return { groups, skipped };
}

const header = (skipped: readonly string[]) =>
  [
    "# Generated by `lifeboat alerts render` from the objectives in lifeboat.yaml; re-render after changing them.",
    ...skipped.map((line) => `# not rendered: ${line}`),
    "",
  ].join("\n");

/** A Prometheus rules file (rule_files:). */
export function renderRulesFile(rules: RenderedRules): string {
  return header(rules.skipped) + stringify({ groups: rules.groups }, { lineWidth: 0 });
}

/** The same groups as a Prometheus Operator PrometheusRule. */
export function renderPrometheusRule(rules: RenderedRules, name = "lifeboat"): string {
  return (
    header(rules.skipped) +
    stringify(
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name, labels: { "app.kubernetes.io/name": "lifeboat" } },
        spec: { groups: rules.groups },
      },
      { lineWidth: 0 },
    )
  );
}
