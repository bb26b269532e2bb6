// The status report as Prometheus metrics (docs/metrics.md lists every name).
// One registry per rendering: the values are the repository's state at that
// moment, not counters this process accumulates, so a scrape from any host
// gives the same numbers and a restarted `serve` loses nothing.

import { Counter, Gauge, Registry } from "prom-client";
import type { RunRecord } from "../domain/run-record.ts";
import { VERDICT_ORDER, type SourceStatus, type StatusReport } from "../domain/status.ts";

const unix = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);

type Labels = Record<string, string>;

/** A gauge set only where there is a value: a missing value is an absent series, not 0. */
function gauge(registry: Registry, name: string, help: string, labelNames: readonly string[] = []) {
  const metric = new Gauge({ name, help, labelNames, registers: [registry] });
  return (labels: Labels, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) metric.set(labels, value);
  };
}

type SourceValue = (status: SourceStatus, report: StatusReport) => number | null | undefined;

/** Every per-source gauge of docs/metrics.md: name, help, and where its value comes from. */
const PER_SOURCE: readonly (readonly [string, string, SourceValue])[] = [
  [
    "lifeboat_backup_last_success_timestamp_seconds",
    "When the newest snapshot's capture finished",
    (s) => unix(s.lastBackup?.at),
  ],
  [
    "lifeboat_backup_last_failure_timestamp_seconds",
    "When the newest failed backup run finished",
    (s) => unix(s.lastFailedBackup?.at),
  ],
  [
    "lifeboat_backup_last_duration_seconds",
    "Wall time of the newest successful backup",
    (s) => s.lastBackup?.seconds,
  ],
  [
    "lifeboat_backup_last_added_bytes",
    "New bytes the newest successful backup stored",
    (s) => s.lastBackup?.bytes,
  ],
  ["lifeboat_snapshots", "Snapshots kept", (s, report) => (report.repository.error ? null : s.snapshots)],
  ["lifeboat_drill_last_timestamp_seconds", "When the newest drill started", (s) => unix(s.lastDrill?.at)],
  [
    "lifeboat_drill_last_success_timestamp_seconds",
    "When the newest passing drill started",
    (s) => unix(s.lastPassedDrill?.at),
  ],
  [
    "lifeboat_drill_last_passed",
    "1 when the newest drill passed",
    (s) => (s.lastDrill ? (s.lastDrill.status === "passed" ? 1 : 0) : null),
  ],
  [
    "lifeboat_drill_rto_achieved_seconds",
    "The newest drill's achieved RTO",
    (s) => s.lastDrill?.rto.achieved,
  ],
  [
    "lifeboat_drill_rpo_achieved_seconds",
    "The newest drill's achieved RPO",
    (s) => s.lastDrill?.rpo.achieved,
  ],
  [
    "lifeboat_predicted_rto_seconds",
    "The newest drill's prediction of a restore of the source as it is now",
    (s) => s.lastDrill?.predictedRtoSeconds,
  ],
  ["lifeboat_objective_rto_seconds", "Declared RTO", (s) => s.objectives.rtoSeconds],
  ["lifeboat_objective_rpo_seconds", "Declared RPO", (s) => s.objectives.rpoSeconds],
  [
    "lifeboat_objective_drill_interval_seconds",
    "Declared drill interval",
    (s) => s.objectives.drillIntervalSeconds,
  ],
  [
    "lifeboat_wal_last_archived_timestamp_seconds",
    "When the newest WAL file reached the archive",
    (s) => unix(s.wal?.newestAt),
  ],
  ["lifeboat_wal_archived_files", "WAL files in the archive", (s) => s.wal?.files],
];

export function statusRegistry(report: StatusReport, runs: readonly RunRecord[] = []): Registry {
  const registry = new Registry();
  const source = ["source"];
  gauge(
    registry,
    "lifeboat_repository_up",
    "1 when the repository could be read for this report",
  )({}, report.repository.error ? 0 : 1);
  gauge(
    registry,
    "lifeboat_repository_data_bytes",
    "Bytes stored under data/ (packs or chunks)",
  )({}, report.repository.dataBytes);
  gauge(
    registry,
    "lifeboat_status_generated_timestamp_seconds",
    "When this status report was computed",
  )({}, unix(report.generatedAt));
  const verdict = gauge(registry, "lifeboat_status_verdict", "1 for the source's current verdict", [
    "source",
    "verdict",
  ]);
  for (const status of report.sources)
    for (const candidate of VERDICT_ORDER)
      verdict({ source: status.source, verdict: candidate }, candidate === status.verdict ? 1 : 0);
  for (const [name, help, value] of PER_SOURCE) {
    const set = gauge(registry, name, help, source);
    for (const status of report.sources) set({ source: status.source }, value(status, report));
  }

  // Scenario drills (docs/scenarios.md): the newest run of each, labelled by scenario.
  const scenario = ["scenario"];
  const scenarioGauges = [
    gauge(
      registry,
      "lifeboat_scenario_last_timestamp_seconds",
      "When the newest run of the scenario started",
      scenario,
    ),
    gauge(
      registry,
      "lifeboat_scenario_last_passed",
      "1 when the newest run of the scenario passed",
      scenario,
    ),
    gauge(
      registry,
      "lifeboat_scenario_rto_achieved_seconds",
      "The newest scenario run's achieved RTO",
      scenario,
    ),
    gauge(
      registry,
      "lifeboat_scenario_lost_writes",
      "Writes the newest scenario run lost (its writer's markers)",
      scenario,
    ),
  ] as const;
  for (const run of report.scenarios ?? []) {
    const labels = { scenario: run.scenario };
    const [at, passed, rto, lost] = scenarioGauges;
    at(labels, unix(run.at));
    passed(labels, run.status === "passed" ? 1 : 0);
    rto(labels, run.rtoAchieved);
    lost(labels, run.lostWrites);
  }

  // Data restores replaced and kept aside (docs/cli-json.md "Keeping what a restore replaces"): disk a
  // team may want back, or to free with `lifeboat preserved drop`.
  const kept = gauge(
    registry,
    "lifeboat_preserved_copies",
    "Copies of replaced data restores kept aside and not yet swapped back or dropped",
    source,
  );
  const keptBySource = new Map<string, number>();
  for (const copy of report.preserved ?? [])
    keptBySource.set(copy.source, (keptBySource.get(copy.source) ?? 0) + 1);
  for (const [name, count] of keptBySource) kept({ source: name }, count);

  const repository = report.repository;
  gauge(
    registry,
    "lifeboat_check_last_success_timestamp_seconds",
    "Newest successful check",
  )({}, unix(repository.lastCheck?.at));
  gauge(
    registry,
    "lifeboat_check_last_failure_timestamp_seconds",
    "Newest failed check",
  )({}, unix(repository.lastFailedCheck?.at));
  gauge(
    registry,
    "lifeboat_prune_last_success_timestamp_seconds",
    "Newest successful prune",
  )({}, unix(repository.lastPrune?.at));
  gauge(
    registry,
    "lifeboat_prune_last_failure_timestamp_seconds",
    "Newest failed prune",
  )({}, unix(repository.lastFailedPrune?.at));

  const totals = new Counter({
    name: "lifeboat_runs_total",
    help: "Run records kept, per operation, source and outcome",
    labelNames: ["operation", "source", "outcome"],
    registers: [registry],
  });
  const restoreDuration = gauge(
    registry,
    "lifeboat_restore_last_duration_seconds",
    "Wall time of the newest successful restore",
    source,
  );
  const newestRestore = new Map<string, RunRecord>();
  for (const run of runs) {
    totals.inc({ operation: run.operation, source: run.source ?? "", outcome: run.outcome });
    if (run.operation === "restore" && run.outcome === "succeeded" && run.source) {
      const known = newestRestore.get(run.source);
      if (!known || run.finishedAt > known.finishedAt) newestRestore.set(run.source, run);
    }
  }
  for (const [name, run] of newestRestore) restoreDuration({ source: name }, run.seconds);
  return registry;
}
