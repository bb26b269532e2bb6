// The S3 benchmark's results as Markdown: wall times and ratios of the three
// contenders, requests per kind and PUTs per GB stored, the no-op backup's
// requests per repository size, prune, and `snapshots` over many snapshots,
// each with a verdict computed from the figures (not typed in).

import type { Measurement } from "./measure.ts";
import type { LifeboatRound } from "./contenders.ts";
import type { CountedRequests, S3ContenderRound } from "./s3-contenders.ts";
import type { NoopResult, PruneResult } from "./s3-scaling.ts";
import type { ListResult } from "./snapshot-listing.ts";

export interface S3RoundResult {
  fs?: LifeboatRound;
  s3?: S3ContenderRound;
  restic?: S3ContenderRound;
}

export interface S3BenchResults {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: Record<string, string>;
  readonly dataset: Record<string, string | number>;
  readonly sourceSummary: string;
  readonly rounds: S3RoundResult[];
  noop?: NoopResult;
  prune?: PruneResult;
  listing?: ListResult;
  readonly problems: string[];
}

type Pick = (round: S3RoundResult) => Measurement | undefined;
const picks = {
  fsBackup: (r) => r.fs?.backup?.measurement,
  fsRestore: (r) => r.fs?.restore,
  s3Backup: (r) => r.s3?.backup,
  s3Restore: (r) => r.s3?.restore,
  resticBackup: (r) => r.restic?.backup,
  resticRestore: (r) => r.restic?.restore,
} satisfies Record<string, Pick>;

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function medianSeconds(results: S3BenchResults, pick: Pick): number | undefined {
  return median(
    results.rounds
      .map(pick)
      .filter((m) => m?.ok)
      .map((m) => m!.seconds),
  );
}

export function ratioOf(results: S3BenchResults, ours: Pick, theirs: Pick): number | undefined {
  const a = medianSeconds(results, ours);
  const b = medianSeconds(results, theirs);
  return a === undefined || b === undefined || b <= 0 ? undefined : a / b;
}

const secs = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(1)} s`);
const times = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(2)}x`);
function mib(bytes: number | undefined): string {
  if (bytes === undefined) return "–";
  return bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * PUT requests per 10^9 bytes the bucket holds after the backup; with
 * `folder` ("data/"), only the PUTs into that folder: the packs alone,
 * without the fixed few (lock, index, manifest, probe) every backup makes.
 */
export function putsPerGb(round: S3ContenderRound | undefined, folder?: string): number | undefined {
  const requests = round?.backupRequests;
  const puts = folder === undefined ? requests?.counts.PUT : (requests?.byFolder[`PUT ${folder}`] ?? 0);
  const bytes = round?.stored?.bytes;
  return puts === undefined || !bytes ? undefined : puts / (bytes / 1e9);
}

function kinds(requests: CountedRequests | undefined): string {
  if (!requests) return "–";
  const { counts, errorsByFolder } = requests;
  const parts = (["PUT", "GET", "HEAD", "LIST", "DELETE", "POST"] as const).map((k) => `${k} ${counts[k]}`);
  const failed = Object.entries(errorsByFolder)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return `${counts.total} (${parts.join(", ")}${failed ? `; answered >= 400: ${failed}` : ""})`;
}

const folders = (requests: CountedRequests | undefined) =>
  requests
    ? Object.entries(requests.byFolder)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")
    : "–";

function verified(summary: string | undefined, expected: string): string {
  if (summary === undefined) return "–";
  return summary === expected ? "yes" : `NO: ${summary}`;
}

function verdict(met: boolean | undefined, text: string): string {
  return met === undefined ? `pending (${text})` : `${met ? "met" : "MISSED"}: ${text}`;
}

function throughputLines(results: S3BenchResults): string[] {
  const first = results.rounds[0];
  const s = (pick: Pick) => secs(medianSeconds(results, pick));
  const rss = (pick: Pick) => {
    const peaks = results.rounds
      .map(pick)
      .filter((m) => m?.ok)
      .map((m) => m!.peakRssMb);
    return peaks.length === 0 ? "–" : `${Math.max(...peaks).toFixed(0)} MB`;
  };
  return [
    "| | Lifeboat, filesystem | Lifeboat, S3 (s3rver) | restic 0.14, S3 (s3rver) | Lifeboat S3 / fs | Lifeboat S3 / restic S3 |",
    "|---|---|---|---|---|---|",
    `| backup wall time | ${s(picks.fsBackup)} | ${s(picks.s3Backup)} | ${s(picks.resticBackup)} | ${times(ratioOf(results, picks.s3Backup, picks.fsBackup))} | ${times(ratioOf(results, picks.s3Backup, picks.resticBackup))} |`,
    `| restore wall time | ${s(picks.fsRestore)} | ${s(picks.s3Restore)} | ${s(picks.resticRestore)} | ${times(ratioOf(results, picks.s3Restore, picks.fsRestore))} | ${times(ratioOf(results, picks.s3Restore, picks.resticRestore))} |`,
    `| peak RSS, backup / restore (largest process) | ${rss(picks.fsBackup)} / ${rss(picks.fsRestore)} | ${rss(picks.s3Backup)} / ${rss(picks.s3Restore)} | ${rss(picks.resticBackup)} / ${rss(picks.resticRestore)} | | |`,
    `| bytes stored | ${mib(first?.fs?.repoBytesAfterFirst)} (du -sb) | ${mib(first?.s3?.stored?.bytes)} in ${first?.s3?.stored?.objects ?? "–"} objects | ${mib(first?.restic?.stored?.bytes)} in ${first?.restic?.stored?.objects ?? "–"} objects | | |`,
    `| restore verified (row counts + content sums) | ${verified(first?.fs?.restoredSummary, results.sourceSummary)} | ${verified(first?.s3?.restoredSummary, results.sourceSummary)} | ${verified(first?.restic?.restoredSummary, results.sourceSummary)} | | |`,
    "",
    "| requests reaching s3rver (first round) | Lifeboat | restic 0.14 |",
    "|---|---|---|",
    `| backup | ${kinds(first?.s3?.backupRequests)} | ${kinds(first?.restic?.backupRequests)} |`,
    `| backup, by folder | ${folders(first?.s3?.backupRequests)} | ${folders(first?.restic?.backupRequests)} |`,
    `| PUTs per GB stored (10^9 bytes in the bucket) | ${putsPerGb(first?.s3)?.toFixed(1) ?? "–"} | ${putsPerGb(first?.restic)?.toFixed(1) ?? "–"} |`,
    `| of which PUTs of data/ (packs) per GB stored | ${putsPerGb(first?.s3, "data/")?.toFixed(1) ?? "–"} | ${putsPerGb(first?.restic, "data/")?.toFixed(1) ?? "–"} |`,
    `| restore | ${kinds(first?.s3?.restoreRequests)} | ${kinds(first?.restic?.restoreRequests)} |`,
    `| restore, by folder | ${folders(first?.s3?.restoreRequests)} | ${folders(first?.restic?.restoreRequests)} |`,
    "",
  ];
}

function noopLines(noop: NoopResult | undefined): string[] {
  if (!noop) return [];
  const row = (
    label: string,
    get: (step: NoopResult["steps"][number]) => {
      requests: CountedRequests;
      snapshotsBefore: number;
      seconds: number;
      ok: boolean;
    },
  ) =>
    `| ${label} | ${noop.steps
      .map(get)
      .map((c) =>
        c.ok ? `${c.requests.counts.total} at ${c.snapshotsBefore} (${c.seconds.toFixed(1)} s)` : "failed",
      )
      .join(" | ")} |`;
  return [
    `A backup that adds nothing (an unchanged 3-file \`files\` source) on S3: "requests at N (seconds)", N the snapshots in the repository before the run. The repository was grown through the API between sizes (one pack, one index object and one manifest per snapshot). CLI: LIFEBOAT_CACHE_DIR set; the CLI ${noop.cliCacheHonoured ? "filled it" : "did NOT use it (no cache)"}. In-process: the same backup operation through the API with \`cacheDir\`.`,
    "",
    `| | ${noop.steps.map((s) => `~${s.target} snapshots`).join(" | ")} |`,
    `|---|${noop.steps.map(() => "---").join("|")}|`,
    row("CLI, first backup after growing", (s) => s.cliFirst),
    row("CLI, next backup (steady state)", (s) => s.cli),
    row("in-process with cache, first", (s) => s.apiFirst),
    row("in-process with cache, next", (s) => s.api),
    "",
    ...noop.steps.map((s) => `- ~${s.target}, CLI steady state by folder: ${folders(s.cli.requests)}`),
    ...noop.steps.map((s) => `- ~${s.target}, in-process steady state by folder: ${folders(s.api.requests)}`),
    "",
  ];
}

function pruneLines(prune: PruneResult | undefined): string[] {
  if (!prune) return [];
  const p = prune.prune;
  const deleted = p.json?.["deletedObjects"];
  return [
    `Retention on the no-op repository (${prune.snapshotsBefore} snapshots, ${prune.storedBefore.objects} objects, ${mib(prune.storedBefore.bytes)}), on S3:`,
    "",
    "| step | result | wall time | requests |",
    "|---|---|---|---|",
    `| \`forget --keep-last 10\` | ${prune.forget.ok ? `ok, ${prune.snapshotsAfter} snapshots left` : "failed"} | ${secs(prune.forget.seconds)} | ${kinds(prune.forget.requests)} |`,
    `| \`prune --grace 0s\` | ${p.ok ? `ok, deleted ${String(deleted)} objects; bucket now ${prune.storedAfter.objects} objects, ${mib(prune.storedAfter.bytes)}` : `FAILED: ${p.error}`} | ${secs(p.seconds)} | ${kinds(p.requests)} |`,
    `| \`check\` afterwards | ${prune.check.ok ? "ok" : `FAILED: ${prune.check.error}`} | ${secs(prune.check.seconds)} | |`,
    `| \`restore tiny\` afterwards | ${prune.restore.ok ? "ok" : `FAILED: ${prune.restore.error}`} | ${secs(prune.restore.seconds)} | |`,
    "",
  ];
}

function listingLines(listing: ListResult | undefined): string[] {
  if (!listing) return [];
  const { api, apiFirst, cli, cliFirst } = listing;
  return [
    `\`snapshots\` over ${listing.snapshots} snapshots (filesystem repository, generated in ${listing.generateSeconds.toFixed(0)} s):`,
    "",
    "| | first run | warm run |",
    "|---|---|---|",
    `| \`lifeboat snapshots --json\` on the same repository while still empty (start-up, key derivation) | ${secs(listing.cliEmpty.seconds)} | |`,
    `| \`lifeboat snapshots --json\` (CLI process, LIFEBOAT_CACHE_DIR set; ${listing.cliCacheHonoured ? "cache used" : "cache NOT used"}) | ${cliFirst.ok ? secs(cliFirst.seconds) : "failed"} | ${cli.ok ? `${secs(cli.seconds)}, ${cli.listed} listed` : "failed"} |`,
    `| in-process \`openRepository(..., { cacheDir })\` + \`listSnapshots()\` | open ${apiFirst.openSeconds.toFixed(2)} s + list ${apiFirst.listSeconds.toFixed(2)} s | open ${api.openSeconds.toFixed(2)} s + list ${api.listSeconds.toFixed(2)} s, ${api.listed} listed |`,
    "",
  ];
}

function goalLines(results: S3BenchResults): string[] {
  const puts = putsPerGb(results.rounds[0]?.s3);
  const noop = results.noop?.steps ?? [];
  const totals = (get: (s: NoopResult["steps"][number]) => number) => noop.map(get);
  const flat = (values: number[]) =>
    values.length < 2 ? undefined : Math.max(...values) === Math.min(...values);
  const cliTotals = totals((s) => s.cli.requests.counts.total);
  const apiTotals = totals((s) => s.api.requests.counts.total);
  const listing = results.listing;
  const prune = results.prune;
  return [
    "| goal | verdict |",
    "|---|---|",
    `| <= 40 PUTs per GB stored (Lifeboat backup) | ${verdict(puts === undefined ? undefined : puts <= 40, `${puts?.toFixed(1) ?? "?"} PUTs/GB`)} |`,
    `| no-op backup requests independent of repository size (CLI) | ${verdict(flat(cliTotals), cliTotals.join(" / "))} |`,
    `| the same, in-process with a local cache | ${verdict(flat(apiTotals), apiTotals.join(" / "))} |`,
    `| \`snapshots --json\` over ${listing?.snapshots ?? "?"} snapshots, warm cache, < 1 s (CLI) | ${verdict(listing ? listing.cli.ok && listing.cli.seconds < 1 : undefined, secs(listing?.cli.seconds))} |`,
    `| the same, in-process open + list | ${verdict(listing ? listing.api.openSeconds + listing.api.listSeconds < 1 : undefined, secs(listing ? listing.api.openSeconds + listing.api.listSeconds : undefined))} |`,
    `| \`prune\` after \`forget --keep-last 10\` works and leaves a sound repository | ${verdict(prune ? prune.prune.ok && prune.check.ok && prune.restore.ok : undefined, prune ? `prune ${prune.prune.ok ? "ok" : "failed"}, check ${prune.check.ok ? "ok" : "failed"}, restore ${prune.restore.ok ? "ok" : "failed"}` : "?")} |`,
    "",
  ];
}

export function renderS3Markdown(results: S3BenchResults): string {
  const lines = [`# S3 benchmark (${results.startedAt})`, "", `Command: \`${results.command}\``, ""];
  const facts = (record: Record<string, string | number>) =>
    Object.entries(record)
      .map(([k, v]) => `${k} ${v}`)
      .join("; ");
  lines.push(`Machine: ${facts(results.machine)}`, "", `Dataset: ${facts(results.dataset)}`, "");
  lines.push(
    `Rounds: ${results.rounds.length}; times are medians. Both S3 contenders reach s3rver through the same counting proxy.`,
    "",
  );
  lines.push(...throughputLines(results), ...noopLines(results.noop), ...pruneLines(results.prune));
  lines.push(...listingLines(results.listing), ...goalLines(results));
  for (const problem of results.problems) lines.push(`Problem: ${problem}`, "");
  return lines.join("\n") + "\n";
}
