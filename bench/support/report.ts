// Turning one benchmark run into Markdown: the side-by-side table, the
// incremental-backup figures and a verdict per target, computed (not typed in)
// so BENCHMARKS.md can quote them as they are.

import type { Measurement } from "./measure.ts";
import type { ContenderResult, LifeboatBackup } from "./contenders.ts";

export interface LifeboatResults {
  readonly backup?: LifeboatBackup;
  readonly restore?: Measurement;
  readonly restoredSummary?: string;
  readonly restorePhases?: Record<string, number>;
  readonly second?: LifeboatBackup;
  readonly clustered?: LifeboatBackup;
  readonly repoBytesAfterFirst?: number;
  readonly problem?: string;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: Record<string, string>;
  readonly dataset: Record<string, string | number>;
  readonly sourceSummary: string;
  readonly seed?: ContenderResult;
  readonly raw?: ContenderResult;
  readonly lifeboat?: LifeboatResults;
}

const mib = (bytes: number | undefined) =>
  bytes === undefined ? "–" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const secs = (m: Measurement | undefined) =>
  m === undefined ? "–" : m.ok ? `${m.seconds.toFixed(1)} s` : "failed";
const rss = (m: Measurement | undefined) => (m?.ok ? `${m.peakRssMb.toFixed(0)} MB` : "–");
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

function ratio(ours: Measurement | undefined, theirs: Measurement | undefined): number | undefined {
  if (!ours?.ok || !theirs?.ok || theirs.seconds <= 0) return undefined;
  return ours.seconds / theirs.seconds;
}
const showRatio = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}x`);

function verified(summary: string | undefined, expected: string): string {
  if (summary === undefined) return "–";
  return summary === expected ? "yes" : `NO (${summary})`;
}

export function renderMarkdown(results: BenchResults): string {
  const { seed, raw, lifeboat } = results;
  const lbBackup = lifeboat?.backup?.measurement;
  const lines: string[] = [];
  lines.push(`# PostgreSQL backup/restore benchmark (${results.startedAt})`, "");
  lines.push(`Command: \`${results.command}\``, "");
  lines.push(
    "Machine: " +
      Object.entries(results.machine)
        .map(([k, v]) => `${k} ${v}`)
        .join("; "),
    "",
  );
  lines.push(
    "Dataset: " +
      Object.entries(results.dataset)
        .map(([k, v]) => `${k} ${v}`)
        .join("; "),
    "",
  );
  lines.push(
    "| | seed: `pg_dumpall \\| gzip` / `gunzip -c \\| psql` | floor: `pg_dump -Fd -j2 -Z0` / `pg_restore -j2` | Lifeboat | Lifeboat / seed | Lifeboat / floor |",
    "|---|---|---|---|---|---|",
    `| backup wall time | ${secs(seed?.backup)} | ${secs(raw?.backup)} | ${secs(lbBackup)} | ${showRatio(ratio(lbBackup, seed?.backup))} | ${showRatio(ratio(lbBackup, raw?.backup))} |`,
    `| restore wall time | ${secs(seed?.restore)} | ${secs(raw?.restore)} | ${secs(lifeboat?.restore)} | ${showRatio(ratio(lifeboat?.restore, seed?.restore))} | ${showRatio(ratio(lifeboat?.restore, raw?.restore))} |`,
    `| backup peak RSS (largest process) | ${rss(seed?.backup)} | ${rss(raw?.backup)} | ${rss(lbBackup)} | | |`,
    `| restore peak RSS (largest process) | ${rss(seed?.restore)} | ${rss(raw?.restore)} | ${rss(lifeboat?.restore)} | | |`,
    `| bytes stored | ${mib(seed?.storedBytes)} | ${mib(raw?.storedBytes)} | ${mib(lifeboat?.repoBytesAfterFirst)} | | |`,
    `| restore verified (row counts + content sums) | ${verified(seed?.restoredSummary, results.sourceSummary)} | ${verified(raw?.restoredSummary, results.sourceSummary)} | ${verified(lifeboat?.restoredSummary, results.sourceSummary)} | | |`,
    "",
  );
  if (lifeboat?.restorePhases) {
    const phases = Object.entries(lifeboat.restorePhases).map(([phase, s]) => `${phase} ${s.toFixed(1)} s`);
    lines.push(`Lifeboat restore phases (from --json): ${phases.join(", ")}.`, "");
  }
  const loads = [seed?.backup, seed?.restore, raw?.backup, raw?.restore, lbBackup, lifeboat?.restore]
    .filter((m): m is Measurement => m?.loadBefore !== undefined)
    .map((m) => `${m.label} ${m.loadBefore.toFixed(2)}`);
  if (loads.length > 0) lines.push(`1-minute load average before each run: ${loads.join(", ")}.`, "");
  if (lifeboat?.problem) lines.push(`Lifeboat problem: ${lifeboat.problem}`, "");
  lines.push(...incrementalLines(lifeboat), ...targetLines(results));
  return lines.join("\n") + "\n";
}

function growthShare(second: LifeboatBackup | undefined, first: LifeboatBackup | undefined) {
  if (second?.repoGrowth === undefined || !first?.repoGrowth) return undefined;
  return second.repoGrowth / first.repoGrowth;
}

function incrementalLines(lifeboat: LifeboatResults | undefined): string[] {
  const first = lifeboat?.backup;
  const row = (name: string, next: LifeboatBackup | undefined) => {
    const share = growthShare(next, first);
    return `| ${name} | ${secs(next?.measurement)} | ${mib(next?.repoGrowth)} | ${share === undefined ? "–" : pct(share)} | ${mib(next?.bytesStored)} | ${mib(next?.bytesRead)} |`;
  };
  return [
    "| Lifeboat backup | wall time | repository growth (du -sb) | share of first backup's growth | bytesStored (--json) | bytesRead (--json) |",
    "|---|---|---|---|---|---|",
    row("first (full)", first),
    row("second, after updating every 100th row (1%)", lifeboat?.second),
    row("third, after updating a contiguous 1% of rows", lifeboat?.clustered),
    "",
  ];
}

function verdict(value: number | undefined, limit: number, unit: (v: number) => string): string {
  if (value === undefined) return "pending";
  const met = value <= limit;
  return `${met ? "met" : "MISSED"}: ${unit(value)} vs <= ${unit(limit)}`;
}

function targetLines(results: BenchResults): string[] {
  const { seed, raw, lifeboat } = results;
  const lbBackup = lifeboat?.backup?.measurement;
  const x = (v: number) => `${v.toFixed(2)}x`;
  const mb = (v: number) => `${v.toFixed(0)} MB`;
  const peaks = [lbBackup, lifeboat?.restore, lifeboat?.second?.measurement].filter((m) => m?.ok);
  const peak = peaks.length > 0 ? Math.max(...peaks.map((m) => m!.peakRssMb)) : undefined;
  const share = growthShare(lifeboat?.second, lifeboat?.backup);
  return [
    "| target | result |",
    "|---|---|",
    `| backup <= 0.5x seed pipeline | ${verdict(ratio(lbBackup, seed?.backup), 0.5, x)} |`,
    `| restore <= 0.7x gunzip \\| psql | ${verdict(ratio(lifeboat?.restore, seed?.restore), 0.7, x)} |`,
    `| backup within 1.3x of pg_dump -j2 | ${verdict(ratio(lbBackup, raw?.backup), 1.3, x)} |`,
    `| restore within 1.3x of pg_restore -j2 | ${verdict(ratio(lifeboat?.restore, raw?.restore), 1.3, x)} |`,
    `| second backup stores <= 10% new bytes (every-100th-row churn) | ${verdict(share, 0.1, pct)} |`,
    `| peak RSS < 300 MB (largest Lifeboat process) | ${verdict(peak, 300, mb)} |`,
    "",
  ];
}
