// The PITR benchmark's results and their Markdown: absolute figures side by
// side and Lifeboat / pgBackRest ratios, computed from what was measured (no
// figure is typed in), so BENCHMARKS.md can quote the table as it is.

import type { Measurement } from "./measure.ts";
import type { ArchiveRun, LagSample } from "./pitr-archiving.ts";
import type { BackgroundExit } from "./pitr-async.ts";
import type { LifeboatBaseBackup, PitrRestoreRun } from "./pitr-lifeboat.ts";
import type { PgbackrestBackup } from "./pitr-pgbackrest.ts";
import type { StreamDrillResult } from "./pitr-stream-drill.ts";
import type { MarkerDrillResult } from "./pitr-marker-drill.ts";
import type { PgbenchRun } from "./pitr-workload.ts";

export type Tool = "lifeboat" | "pgbackrest";

export interface GrowingBackup<T> {
  readonly backup: T;
  /** `du -sb` of the whole repository (base backups and archived WAL) after minus before. */
  readonly repoGrowth: number;
}

export interface RestoreResult extends PitrRestoreRun {
  readonly restoredSummary?: string;
}

export interface ArchivingResult {
  readonly pgbench: PgbenchRun;
  readonly pushes: readonly ArchiveRun[];
  readonly lag: readonly LagSample[];
  /** Seconds from the end of pgbench until no finished segment waited any more; undefined if it never got there. */
  readonly drainSeconds?: number;
  /** pg_stat_archiver.failed_count added during the run. */
  readonly archiverFailures: number;
  /** Asynchronous runs: how the background processes left once the source was switched back. */
  readonly background?: BackgroundExit;
  /** Lifeboat's async run: files each pusher reported archiving in its log, and pushes it logged as failed. */
  readonly pusherLog?: { readonly archived: readonly number[]; readonly failedPushes: number };
}

export interface PitrResults {
  readonly startedAt: string;
  readonly command: string;
  /** Which Lifeboat ran: the installed package or the development checkout (absent in older results). */
  readonly lifeboatCommand?: string;
  readonly machine: Record<string, string>;
  readonly dataset: Record<string, string | number>;
  readonly layout: string;
  readonly settings: Record<Tool, string>;
  backups: {
    lifeboat: { first?: GrowingBackup<LifeboatBaseBackup>; second?: GrowingBackup<LifeboatBaseBackup> };
    pgbackrest: {
      first?: GrowingBackup<PgbackrestBackup>;
      second?: GrowingBackup<PgbackrestBackup>;
      incremental?: GrowingBackup<PgbackrestBackup>;
    };
  };
  restore?: {
    readonly targetTime: string;
    readonly writesBefore: Record<Tool, PgbenchRun>;
    readonly writesAfter: Record<Tool, PgbenchRun>;
    /** WAL written from the end of the last base backup to the target, per source. */
    readonly walToTargetBytes: Record<Tool, number>;
    /** Content summary at the target: what a correct restore shows. */
    readonly expected: Record<Tool, string>;
    /** Content summary after the writes past the target: what a restore that overshot would show. */
    readonly latest: Record<Tool, string>;
    readonly rounds: Partial<Record<Tool, RestoreResult>>[];
  };
  archiving: Partial<Record<Tool, ArchivingResult>>;
  /** The same archiving run with wal_push.async / archive-async=y (absent in results from before it existed). */
  archivingAsync?: Partial<Record<Tool, ArchivingResult>>;
  /** How the asynchronous variants were configured. */
  asyncSettings?: Record<Tool, string>;
  /** Part 5: Lifeboat's marker drill under pgbench load (absent in older results). */
  markerDrill?: MarkerDrillResult;
  /** Part 6: marker drills in streaming mode under pgbench load (absent in older results). */
  streamDrills?: StreamDrillResult;
  readonly problems: string[];
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const s = (v: number | undefined, digits = 1) => (v === undefined ? "–" : `${v.toFixed(digits)} s`);
const ms = (v: number | undefined) => (v === undefined ? "–" : `${(v * 1000).toFixed(0)} ms`);
const mib = (v: number | undefined) => (v === undefined ? "–" : `${(v / 2 ** 20).toFixed(1)} MiB`);
const pct = (v: number | undefined) => (v === undefined ? "–" : `${(v * 100).toFixed(2)}%`);
const num = (v: number | undefined, digits = 0) => (v === undefined ? "–" : v.toFixed(digits));
/** Two significant digits below 0.1, so a small ratio does not print as 0.00x or 0.01x. */
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b <= 0
    ? "–"
    : `${a / b < 0.1 ? (a / b).toPrecision(2) : (a / b).toFixed(2)}x`;

const okSeconds = (m: Measurement | undefined) => (m?.ok ? m.seconds : undefined);
const okRss = (m: Measurement | undefined) => (m?.ok ? m.peakRssMb : undefined);
const share = (part: number | undefined, whole: number | undefined) =>
  part === undefined || !whole ? undefined : part / whole;

function restoreSeconds(results: PitrResults, tool: Tool): number[] {
  return (results.restore?.rounds ?? [])
    .map((round) => round[tool])
    .filter((r) => r?.measurement.ok && r.restoredSummary === results.restore?.expected[tool])
    .map((r) => r!.measurement.seconds);
}

function verified(results: PitrResults, tool: Tool): string {
  const restore = results.restore;
  if (!restore) return "–";
  const runs = restore.rounds.map((round) => round[tool]).filter((r) => r !== undefined);
  if (runs.length === 0) return "–";
  const good = runs.filter((r) => r.restoredSummary === restore.expected[tool]).length;
  const overshot = runs.filter((r) => r.restoredSummary === restore.latest[tool]).length;
  const failed = runs.filter((r) => !r.measurement.ok).length;
  const detail = [
    overshot ? `${overshot} overshot to the latest state` : "",
    failed ? `${failed} failed` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${good === runs.length ? "yes" : "NO"} (${good}/${runs.length}${detail ? `; ${detail}` : ""})`;
}

const pushSeconds = (a: ArchivingResult | undefined) =>
  (a?.pushes ?? []).filter((p) => p.exitCode === 0).map((p) => p.seconds);
const lagValues = (a: ArchivingResult | undefined) => (a?.lag ?? []).map((l) => l.lagSegments);

export function renderPitrMarkdown(results: PitrResults): string {
  const lb = results.backups.lifeboat;
  const br = results.backups.pgbackrest;
  const lines: string[] = [
    `# PostgreSQL point-in-time recovery: Lifeboat vs pgBackRest (${results.startedAt})`,
    "",
  ];
  lines.push(`Command: \`${results.command}\``, "");
  if (results.lifeboatCommand) lines.push(`Lifeboat command: ${results.lifeboatCommand}`, "");
  const facts = (record: Record<string, string | number>) =>
    Object.entries(record)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ");
  lines.push(`Machine: ${facts(results.machine)}`, "", `Dataset: ${facts(results.dataset)}`, "");
  lines.push(`Layout: ${results.layout}`, "");
  lines.push(`Lifeboat: ${results.settings.lifeboat}`, "", `pgBackRest: ${results.settings.pgbackrest}`, "");

  const lbFirstRead = lb.first?.backup.bytesRead;
  const brFirstSize = br.first?.backup.databaseBytes;
  const lbSecondShare = share(lb.second?.backup.bytesStored, lbFirstRead);
  const brSecondShare = share(br.second?.repoGrowth, brFirstSize);
  const lbSecondGrowthShare = share(lb.second?.repoGrowth, lbFirstRead);
  const lbRestore = median(restoreSeconds(results, "lifeboat"));
  const brRestore = median(restoreSeconds(results, "pgbackrest"));
  const rounds = results.restore?.rounds.length ?? 0;

  lines.push(
    "| | Lifeboat | pgBackRest 2.45 | Lifeboat / pgBackRest |",
    "|---|---|---|---|",
    `| 1. full base backup, wall time | ${s(okSeconds(lb.first?.backup.measurement))} | ${s(okSeconds(br.first?.backup.measurement))} | ${ratio(okSeconds(lb.first?.backup.measurement), okSeconds(br.first?.backup.measurement))} |`,
    `| 1. full base backup, peak RSS (largest process) | ${num(okRss(lb.first?.backup.measurement))} MB | ${num(okRss(br.first?.backup.measurement))} MB | ${ratio(okRss(lb.first?.backup.measurement), okRss(br.first?.backup.measurement))} |`,
    `| 1. full base backup, bytes read from the cluster | ${mib(lbFirstRead)} (bytesRead) | ${mib(brFirstSize)} (info: size) | |`,
    `| 1. full base backup, repository growth (du -sb, WAL included) | ${mib(lb.first?.repoGrowth)} | ${mib(br.first?.repoGrowth)} | ${ratio(lb.first?.repoGrowth, br.first?.repoGrowth)} |`,
    `| 2. second base backup of the unchanged cluster, wall time | ${s(okSeconds(lb.second?.backup.measurement))} | ${s(okSeconds(br.second?.backup.measurement))} (full) | ${ratio(okSeconds(lb.second?.backup.measurement), okSeconds(br.second?.backup.measurement))} |`,
    `| 2. second base backup, new bytes stored / first backup's bytes read | ${pct(lbSecondShare)} (bytesStored ${mib(lb.second?.backup.bytesStored)}) | ${pct(brSecondShare)} (repository growth ${mib(br.second?.repoGrowth)}) | ${ratio(lbSecondShare, brSecondShare)} |`,
    `| 2. second base backup, repository growth / first backup's bytes read | ${pct(lbSecondGrowthShare)} (${mib(lb.second?.repoGrowth)}) | ${pct(brSecondShare)} | ${ratio(lbSecondGrowthShare, brSecondShare)} |`,
    `| 2. pgBackRest incremental instead (\`--type=incr\`): wall time, repository growth | | ${s(okSeconds(br.incremental?.backup.measurement))}, ${mib(br.incremental?.repoGrowth)} (${pct(share(br.incremental?.repoGrowth, brFirstSize))}) | |`,
    `| 3. restore to a time until the server accepts a write (median of ${rounds}) | ${s(lbRestore)} | ${s(brRestore)} | ${ratio(lbRestore, brRestore)} |`,
    `| 3. restore peak RSS (largest process) | ${num(median(peaks(results, "lifeboat")))} MB | ${num(median(peaks(results, "pgbackrest")))} MB | |`,
    `| 3. restored to exactly the target (row counts + content sums) | ${verified(results, "lifeboat")} | ${verified(results, "pgbackrest")} | |`,
    ...archivingRows("4.", results.archiving.lifeboat, results.archiving.pgbackrest),
    "",
    'Ratios below 1 favour Lifeboat for times, bytes, memory and lag; for pgbench throughput above 1 does. A ratio is "–" where a figure is missing or pgBackRest\'s is zero.',
    "",
  );
  lines.push(...asyncLines(results), ...markerDrillLines(results), ...streamDrillLines(results));
  lines.push(...restoreLines(results), ...phaseLines(results), ...loadLines(results));
  if (results.problems.length > 0) {
    lines.push("Problems:", "", ...results.problems.map((p) => `- ${p}`), "");
  }
  return lines.join("\n") + "\n";
}

const finite = (v: number) => (Number.isFinite(v) ? v : undefined);

/** Part 4's rows for one pair of runs (the synchronous pair, or the asynchronous one). */
function archivingRows(
  step: string,
  lb: ArchivingResult | undefined,
  br: ArchivingResult | undefined,
): string[] {
  const lbPush = median(pushSeconds(lb));
  const brPush = median(pushSeconds(br));
  const lbLag = median(lagValues(lb));
  const brLag = median(lagValues(br));
  const lbLagMax = finite(Math.max(...lagValues(lb)));
  const brLagMax = finite(Math.max(...lagValues(br)));
  const tail = (a: ArchivingResult | undefined) =>
    `${ms(quantile(pushSeconds(a), 0.9))} / ${ms(finite(Math.max(...pushSeconds(a))))}`;
  return [
    `| ${step} archive_command time per segment, median | ${ms(lbPush)} | ${ms(brPush)} | ${ratio(lbPush, brPush)} |`,
    `| ${step} archive_command time per segment, p90 / max | ${tail(lb)} | ${tail(br)} | |`,
    `| ${step} segments archived during the run (failed pushes) | ${archivedCount(lb)} | ${archivedCount(br)} | |`,
    `| ${step} archive lag at full pgbench speed, median / max (finished segments not yet archived, sampled every second) | ${num(lbLag)} / ${num(lbLagMax)} | ${num(brLag)} / ${num(brLagMax)} | ${ratio(lbLag, brLag)} |`,
    `| ${step} catch-up after pgbench stopped (until no segment waits) | ${s(lb?.drainSeconds, 2)} | ${s(br?.drainSeconds, 2)} | ${ratio(lb?.drainSeconds, br?.drainSeconds)} |`,
    `| ${step} pgbench throughput during the lag run | ${num(lb?.pgbench.tps)} tps | ${num(br?.pgbench.tps)} tps | ${ratio(lb?.pgbench.tps, br?.pgbench.tps)} |`,
  ];
}

/** The asynchronous variants: a second table with the same rows, then how their background processes left. */
function asyncLines(results: PitrResults): string[] {
  const runs = results.archivingAsync;
  if (!runs || (!runs.lifeboat && !runs.pgbackrest)) return [];
  const lines = [
    "Asynchronous archiving: the same part-4 run on the same sources, switched to asynchronous pushing in between (each tool's config file, read by every archive_command; PostgreSQL not restarted), after the synchronous runs above; ratios read as above.",
    "",
  ];
  if (results.asyncSettings)
    lines.push(
      `Lifeboat async: ${results.asyncSettings.lifeboat}`,
      "",
      `pgBackRest async: ${results.asyncSettings.pgbackrest}`,
      "",
    );
  lines.push(
    "| | Lifeboat async | pgBackRest 2.45 async | Lifeboat-async / pgBackRest-async |",
    "|---|---|---|---|",
    ...archivingRows("4b.", runs.lifeboat, runs.pgbackrest),
    "",
  );
  const left = (name: string, a: ArchivingResult | undefined) => {
    const exit = a?.background;
    if (!exit) return `${name}: –`;
    if (exit.seen.length === 0) return `${name}: none running after the catch-up`;
    return exit.leftAfterSeconds !== undefined
      ? `${name}: ${exit.seen.length} running after the catch-up, gone by itself ${exit.leftAfterSeconds.toFixed(1)} s later`
      : `${name}: ${exit.seen.length} running after the catch-up, still there after the deadline, ended by pid (${exit.ended.join(", ")})`;
  };
  const log = runs.lifeboat?.pusherLog;
  lines.push(
    `Background processes after each async run, with the source switched back to synchronous pushing: ${left("Lifeboat's wal-pusher", runs.lifeboat)}; ${left("pgBackRest's archive-push:async", runs.pgbackrest)}.${log ? ` Lifeboat's pusher log: ${log.archived.length} pusher(s) reported archiving ${log.archived.join(" + ") || "–"} file(s), ${log.failedPushes} failed push(es).` : ""}`,
    "",
  );
  return lines;
}

function peaks(results: PitrResults, tool: Tool): number[] {
  return (results.restore?.rounds ?? [])
    .map((round) => okRss(round[tool]?.measurement))
    .filter((v): v is number => v !== undefined);
}

function archivedCount(a: ArchivingResult | undefined): string {
  if (!a) return "–";
  const failed = a.pushes.filter((p) => p.exitCode !== 0).length;
  return `${a.pushes.length - failed} (${failed} failed; pg_stat_archiver failures ${a.archiverFailures})`;
}

function restoreLines(results: PitrResults): string[] {
  const r = results.restore;
  if (!r) return [];
  const each = (tool: Tool) =>
    r.rounds
      .map((round) => round[tool]?.measurement)
      .map((m) => (m === undefined ? "–" : m.ok ? m.seconds.toFixed(1) : "failed"))
      .join(", ");
  return [
    `Restore target: \`${r.targetTime}\`, after ${r.writesBefore.lifeboat.transactions} / ${r.writesBefore.pgbackrest.transactions} pgbench transactions (Lifeboat's / pgBackRest's source) following the last base backup, ${mib(r.walToTargetBytes.lifeboat)} / ${mib(r.walToTargetBytes.pgbackrest)} of WAL to replay; ${r.writesAfter.lifeboat.transactions} / ${r.writesAfter.pgbackrest.transactions} more transactions after the target must not appear. Each round's restore wall time (Lifeboat: ${each("lifeboat")}; pgBackRest: ${each("pgbackrest")}).`,
    "",
  ];
}

function markerDrillLines(results: PitrResults): string[] {
  const d = results.markerDrill;
  if (!d) return [];
  const rpo = d.rpoSeconds === undefined ? "–" : `${d.rpoSeconds.toFixed(2)} s`;
  const verdict =
    d.rpoSeconds === undefined ? "not measured" : d.rpoSeconds <= d.segmentIntervalSeconds ? "met" : "MISSED";
  const phases = d.phases
    ? Object.entries(d.phases)
        .map(([phase, seconds]) => `${phase} ${Number(seconds).toFixed(1)} s`)
        .join(", ")
    : "–";
  return [
    "Marker drill (Lifeboat only; pgBackRest has none): `lifeboat drill app-db --json` with `drill: { marker: true }`, after a fresh base backup, while pgbench writes at full speed (synchronous wal-push).",
    "",
    "| | Lifeboat |",
    "|---|---|",
    `| 5. drill status, wall time | ${d.status ?? (d.measurement.ok ? "?" : `failed (exit ${d.measurement.exitCode})`)}, ${d.measurement.seconds.toFixed(1)} s |`,
    `| 5. RPO measured from the markers (rpo.achieved) | ${rpo} |`,
    `| 5. segment switch interval at that write rate (16 MiB of WAL) | ${d.segmentIntervalSeconds.toFixed(2)} s (pgbench ${d.pgbench.tps.toFixed(0)} tps) |`,
    `| 5. goal: RPO <= one segment switch interval | ${verdict} |`,
    `| 5. drill RTO (rto.achieved) and phases | ${d.rtoSeconds === undefined ? "–" : `${d.rtoSeconds.toFixed(1)} s`}: ${phases} |`,
    "",
  ];
}

function streamDrillLines(results: PitrResults): string[] {
  const d = results.streamDrills;
  if (!d) return [];
  const seconds = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)} s`);
  const after = d.drills.map((drill) => drill.archivedAfterSeconds).filter((v) => v !== undefined);
  const worst = after.length ? Math.max(...after) : undefined;
  const verdict = worst === undefined ? "not measured" : worst <= 5 ? "met" : "MISSED";
  return [
    `Marker drills in streaming mode (Lifeboat only): \`lifeboat wal-stream app-db\` (pg_receivewal, a replication slot, the head stored every second) while pgbench writes at full speed (${d.pgbench.tps.toFixed(0)} tps); the drills write their markers without a WAL switch. Streamer exit after SIGTERM: ${d.streamerExit}.`,
    "",
    "| drill | status | RPO from the markers (rpo.achieved) | markers in the archive after (the streaming RPO) | wall time |",
    "|---|---|---|---|---|",
    ...d.drills.map(
      (drill, index) =>
        `| 6.${index + 1} | ${drill.status ?? "?"} (${drill.walDelivery ?? "?"}) | ${seconds(drill.rpoSeconds)} | ${seconds(drill.archivedAfterSeconds)} | ${drill.seconds.toFixed(1)} s |`,
    ),
    `| goal: <= 5 s | | | ${verdict} (worst ${seconds(worst)}) | |`,
    "",
  ];
}

function phaseLines(results: PitrResults): string[] {
  const rows = (results.restore?.rounds ?? [])
    .map((round, index) => ({ index, phases: round.lifeboat?.phases }))
    .filter((row) => row.phases !== undefined)
    .map(
      ({ index, phases }) =>
        `round ${index + 1}: ${Object.entries(phases!)
          .map(([phase, seconds]) => `${phase} ${Number(seconds).toFixed(1)} s`)
          .join(", ")}`,
    );
  return rows.length === 0 ? [] : [`Lifeboat restore phases (--json): ${rows.join("; ")}.`, ""];
}

function loadLines(results: PitrResults): string[] {
  const runs: Measurement[] = [
    results.backups.lifeboat.first?.backup.measurement,
    results.backups.pgbackrest.first?.backup.measurement,
    results.backups.lifeboat.second?.backup.measurement,
    results.backups.pgbackrest.second?.backup.measurement,
    results.backups.pgbackrest.incremental?.backup.measurement,
    ...(results.restore?.rounds ?? []).flatMap((round) => [
      round.lifeboat?.measurement,
      round.pgbackrest?.measurement,
    ]),
  ].filter((m): m is Measurement => m !== undefined);
  if (runs.length === 0) return [];
  return [
    `1-minute load average before each run: ${runs.map((m) => `${m.label} ${m.loadBefore.toFixed(1)}`).join(", ")}.`,
    "",
  ];
}
