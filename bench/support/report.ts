// Turning one benchmark run into Markdown: the side-by-side table (medians over
// the rounds, every round's figure in brackets), the incremental-backup figures
// and a verdict per target, computed (not typed in) so BENCHMARKS.md can quote
// them as they are.

import type { Measurement } from "./measure.ts";
import type { ContenderResult, LifeboatBackup, LifeboatRound } from "./contenders.ts";

export interface RoundResult {
  seed?: ContenderResult;
  raw?: ContenderResult;
  lifeboat?: LifeboatRound;
}

export interface BenchResults {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: Record<string, string>;
  readonly dataset: Record<string, string | number>;
  readonly sourceSummary: string;
  readonly rounds: RoundResult[];
  churn?: { first: LifeboatBackup; second: ChurnBackup; clustered: ChurnBackup };
}

/** A backup after a churn, with the WAL the churn itself generated on the source. */
export type ChurnBackup = LifeboatBackup & { churnWalBytes?: number };

type Pick = (round: RoundResult) => Measurement | undefined;
const seedBackup: Pick = (r) => r.seed?.backup;
const seedRestore: Pick = (r) => r.seed?.restore;
const rawBackup: Pick = (r) => r.raw?.backup;
const rawRestore: Pick = (r) => r.raw?.restore;
const lbBackup: Pick = (r) => r.lifeboat?.backup?.measurement;
const lbRestore: Pick = (r) => r.lifeboat?.restore;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const okRuns = (results: BenchResults, pick: Pick) =>
  results.rounds.map(pick).filter((m): m is Measurement => m?.ok === true);
const medianSeconds = (results: BenchResults, pick: Pick) =>
  median(okRuns(results, pick).map((m) => m.seconds));

function secs(results: BenchResults, pick: Pick): string {
  const all = results.rounds.map(pick).filter((m) => m !== undefined);
  if (all.length === 0) return "–";
  const value = medianSeconds(results, pick);
  if (value === undefined) return "failed";
  const each = all.map((m) => (m.ok ? m.seconds.toFixed(1) : "failed"));
  return `${value.toFixed(1)} s` + (all.length > 1 ? ` (${each.join(", ")})` : "");
}

function peakRss(results: BenchResults, picks: readonly Pick[]): number | undefined {
  const values = picks.flatMap((pick) => okRuns(results, pick).map((m) => m.peakRssMb));
  return values.length > 0 ? Math.max(...values) : undefined;
}
const rss = (results: BenchResults, pick: Pick) => {
  const value = peakRss(results, [pick]);
  return value === undefined ? "–" : `${value.toFixed(0)} MB`;
};

function ratio(results: BenchResults, ours: Pick, theirs: Pick): number | undefined {
  const a = medianSeconds(results, ours);
  const b = medianSeconds(results, theirs);
  return a === undefined || b === undefined || b <= 0 ? undefined : a / b;
}
/** Median CPU seconds (user + system of the command's tree) of the successful runs. */
const medianCpu = (results: BenchResults, pick: Pick) =>
  median(
    okRuns(results, pick)
      .map((m) => m.cpuSeconds)
      .filter(Number.isFinite),
  );
const cpu = (results: BenchResults, pick: Pick) => {
  const value = medianCpu(results, pick);
  return value === undefined ? "–" : `${value.toFixed(1)} s`;
};
const showRatio = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}x`);
const mib = (bytes: number | undefined) =>
  bytes === undefined ? "–" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (share: number) => `${(share * 100).toFixed(1)}%`;

function verified(summaries: readonly (string | undefined)[], expected: string): string {
  const known = summaries.filter((s): s is string => s !== undefined);
  if (known.length === 0) return "–";
  const bad = known.filter((s) => s !== expected);
  return bad.length === 0 ? `yes (${known.length}/${known.length})` : `NO: ${bad.join("; ")}`;
}

export function renderMarkdown(results: BenchResults): string {
  const r = results.rounds;
  const first = r[0];
  const lines: string[] = [`# PostgreSQL backup/restore benchmark (${results.startedAt})`, ""];
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
    `Rounds: ${r.length}; times are medians${r.length > 1 ? ", each round's figure in brackets" : ""}. Peak RSS is GNU time's %M: the largest single process of the command's tree (max over rounds); PostgreSQL server processes are not included.`,
    "",
    "| | seed: `pg_dumpall \\| gzip` / `gunzip -c \\| psql` | floor: `pg_dump -Fd -j2 -Z0` / `pg_restore -j2` | Lifeboat | Lifeboat / seed | Lifeboat / floor |",
    "|---|---|---|---|---|---|",
    `| backup wall time | ${secs(results, seedBackup)} | ${secs(results, rawBackup)} | ${secs(results, lbBackup)} | ${showRatio(ratio(results, lbBackup, seedBackup))} | ${showRatio(ratio(results, lbBackup, rawBackup))} |`,
    `| restore wall time | ${secs(results, seedRestore)} | ${secs(results, rawRestore)} | ${secs(results, lbRestore)} | ${showRatio(ratio(results, lbRestore, seedRestore))} | ${showRatio(ratio(results, lbRestore, rawRestore))} |`,
    `| backup peak RSS | ${rss(results, seedBackup)} | ${rss(results, rawBackup)} | ${rss(results, lbBackup)} | | |`,
    `| restore peak RSS | ${rss(results, seedRestore)} | ${rss(results, rawRestore)} | ${rss(results, lbRestore)} | | |`,
    `| backup CPU, user + system (median) | ${cpu(results, seedBackup)} | ${cpu(results, rawBackup)} | ${cpu(results, lbBackup)} | | |`,
    `| restore CPU, user + system (median) | ${cpu(results, seedRestore)} | ${cpu(results, rawRestore)} | ${cpu(results, lbRestore)} | | |`,
    `| bytes stored | ${mib(first?.seed?.storedBytes)} | ${mib(first?.raw?.storedBytes)} | ${mib(first?.lifeboat?.repoBytesAfterFirst)} | | |`,
    `| restore verified (row counts + content sums) | ${verified(
      r.map((x) => x.seed?.restoredSummary),
      results.sourceSummary,
    )} | ${verified(
      r.map((x) => x.raw?.restoredSummary),
      results.sourceSummary,
    )} | ${verified(
      r.map((x) => x.lifeboat?.restoredSummary),
      results.sourceSummary,
    )} | | |`,
    "",
  );
  lines.push(...cpuPerGib(results), "");
  const loads = r.flatMap((round, index) =>
    [seedBackup, seedRestore, rawBackup, rawRestore, lbBackup, lbRestore]
      .map((pick) => pick(round))
      .filter((m): m is Measurement => m !== undefined)
      .map((m) => `${index + 1}/${m.label} ${m.loadBefore.toFixed(1)}`),
  );
  if (loads.length > 0)
    lines.push(`1-minute load average before each run (round/run): ${loads.join(", ")}.`, "");
  for (const [index, round] of r.entries()) {
    if (round.lifeboat?.problem)
      lines.push(`Lifeboat problem in round ${index + 1}: ${round.lifeboat.problem}`, "");
  }
  lines.push(...phaseLines(results), ...incrementalLines(results), ...targetLines(results));
  return lines.join("\n") + "\n";
}

/** Splits each Lifeboat run around the PostgreSQL tool it drives: before it, while it runs, after it. */
function phaseLines(results: BenchResults): string[] {
  const runs = [
    ...results.rounds.flatMap((round, index) =>
      [lbBackup(round), lbRestore(round)].map((m) => ({
        m,
        round: index + 1,
        json: round.lifeboat?.restorePhases,
      })),
    ),
    { m: results.churn?.second.measurement, round: results.rounds.length, json: undefined },
    { m: results.churn?.clustered.measurement, round: results.rounds.length, json: undefined },
  ];
  const lines = runs.flatMap(({ m, round, json }) =>
    (m?.ok ? (m.phases ?? []) : []).map((window) => {
      const during = window.lastSeen - window.firstSeen;
      const after = m!.seconds - window.lastSeen;
      const phases =
        window.name === "pg_restore" && json
          ? Object.entries(json)
              .map(([phase, s]) => `${phase} ${s.toFixed(1)} s`)
              .join(", ")
          : "";
      return `| ${round} | ${m!.label} | ${m!.seconds.toFixed(1)} s | ${window.firstSeen.toFixed(1)} s | ${window.name} ${during.toFixed(1)} s | ${after.toFixed(1)} s | ${phases} |`;
    }),
  );
  if (lines.length === 0) return [];
  return [
    "Where Lifeboat's wall time went (its child processes sampled every 100 ms):",
    "",
    "| round | run | total | before the tool started | tool running | after the tool exited | phases from --json |",
    "|---|---|---|---|---|---|---|",
    ...lines,
    "",
  ];
}

function growthShare(next: LifeboatBackup | undefined, first: LifeboatBackup | undefined) {
  if (next?.repoGrowth === undefined || !first?.repoGrowth) return undefined;
  return next.repoGrowth / first.repoGrowth;
}

function incrementalLines(results: BenchResults): string[] {
  const churn = results.churn;
  if (!churn) return [];
  const row = (name: string, next: ChurnBackup) => {
    const share = growthShare(next, churn.first);
    const m = next.measurement;
    return `| ${name} | ${m.ok ? `${m.seconds.toFixed(1)} s` : "failed"} | ${mib(next.repoGrowth)} | ${share === undefined ? "–" : pct(share)} | ${mib(next.bytesStored)} | ${mib(next.bytesRead)} | ${mib(next.churnWalBytes)} |`;
  };
  return [
    "| Lifeboat backup (same repository) | wall time | repository growth (du -sb) | share of the full backup's growth | bytesStored (--json) | bytesRead (--json) | WAL the churn generated |",
    "|---|---|---|---|---|---|---|",
    row("full (last round)", churn.first),
    row("next, after updating every 100th row (1%)", churn.second),
    row("next, after updating a contiguous 1% of rows", churn.clustered),
    "",
  ];
}

/**
 * The CPU Lifeboat's backup adds per GiB of dump: its command tree's CPU less
 * the floor's (both run the same pg_dump -Fd -j2; Lifeboat's also chunks,
 * hashes, compresses, encrypts and writes what pg_dump writes).
 */
function cpuPerGib(results: BenchResults): string[] {
  const dumpBytes = results.rounds.find((round) => round.lifeboat?.backup?.bytesRead)?.lifeboat?.backup
    ?.bytesRead;
  const tree = medianCpu(results, lbBackup);
  const own = median(
    results.rounds.flatMap((round) => round.lifeboat?.backup?.ownCpuSeconds ?? []).filter(Number.isFinite),
  );
  if (dumpBytes === undefined || tree === undefined || own === undefined) return [];
  const gib = dumpBytes / 2 ** 30;
  const floor = medianCpu(results, rawBackup);
  return [
    `Backup CPU per GiB of dump read (${gib.toFixed(2)} GiB, user + system, median): Lifeboat's command tree ${(tree / gib).toFixed(2)} s, ` +
      `of which the Lifeboat process itself (every thread; pg_dump excluded) ${(own / gib).toFixed(2)} s` +
      (floor === undefined ? "." : `; the floor's pg_dump tree ${(floor / gib).toFixed(2)} s.`),
  ];
}

function verdict(value: number | undefined, limit: number, unit: (v: number) => string): string {
  if (value === undefined) return "pending";
  return `${value <= limit ? "met" : "MISSED"}: ${unit(value)} vs <= ${unit(limit)}`;
}

function targetLines(results: BenchResults): string[] {
  const x = (v: number) => `${v.toFixed(2)}x`;
  const mb = (v: number) => `${v.toFixed(0)} MB`;
  const churnPeaks = [results.churn?.second.measurement, results.churn?.clustered.measurement]
    .filter((m) => m?.ok)
    .map((m) => m!.peakRssMb);
  const roundPeak = peakRss(results, [lbBackup, lbRestore]);
  const peak = roundPeak === undefined ? undefined : Math.max(roundPeak, ...churnPeaks);
  const share = growthShare(results.churn?.second, results.churn?.first);
  return [
    "| target | result |",
    "|---|---|",
    `| backup <= 0.35x seed pipeline | ${verdict(ratio(results, lbBackup, seedBackup), 0.35, x)} |`,
    `| restore <= 0.7x gunzip \\| psql | ${verdict(ratio(results, lbRestore, seedRestore), 0.7, x)} |`,
    `| backup <= 1.3x pg_dump -Fd -j2 -Z0 | ${verdict(ratio(results, lbBackup, rawBackup), 1.3, x)} |`,
    `| restore <= 1.0x pg_restore -j2 | ${verdict(ratio(results, lbRestore, rawRestore), 1.0, x)} |`,
    `| second backup stores <= 10% new bytes (every-100th-row churn) | ${verdict(share, 0.1, pct)} |`,
    `| peak RSS <= 200 MB (largest Lifeboat process) | ${verdict(peak, 200, mb)} |`,
    "",
  ];
}
