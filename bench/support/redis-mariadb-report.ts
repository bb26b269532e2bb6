// The results of bench/redis-mariadb.ts as Markdown: per service a table of
// medians (backup and restore wall seconds, bytes stored, peak RSS), the
// ratios Lifeboat/peer against the issue's goals, and every round's values.

import type { Measurement } from "./measure.ts";

export interface ContenderRun {
  readonly round: number;
  readonly backup?: Measurement;
  readonly restore?: Measurement;
  readonly storedBytes?: number;
  /** What the restore produced (keys per db + digest / rows + checksum per table). */
  readonly restoredContent?: string;
  readonly correct?: boolean;
  /** Seconds per restore phase from `lifeboat restore --json`. */
  readonly phases?: Record<string, number>;
  /** Lifeboat's bytesRead: the RDB or dump.sql it streamed from the source. */
  readonly sourceBytes?: number;
  readonly problem?: string;
  /** The peer's raw tool with its output discarded (--floors): the source's own cost. */
  readonly floorBackup?: Measurement;
}

export interface ServiceResults {
  readonly title: string;
  readonly peerName: string;
  readonly dataset: Record<string, string>;
  readonly sourceContent: string;
  readonly notes: readonly string[];
  readonly runs: { peer: ContenderRun[]; lifeboat: ContenderRun[] };
}

export interface Results {
  readonly command: string;
  readonly startedAt: string;
  readonly machine: Record<string, string>;
  readonly services: ServiceResults[];
}

export const goals = { backup: 0.5, restore: 0.8 };

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Medians over the runs whose restore was checked correct (a wrong restore's time does not count). */
export function medians(runs: readonly ContenderRun[]) {
  const good = runs.filter((run) => run.correct && run.backup?.ok && run.restore?.ok);
  return {
    runs: good.length,
    backup: median(good.map((run) => run.backup!.seconds)),
    restore: median(good.map((run) => run.restore!.seconds)),
    stored: median(good.map((run) => run.storedBytes ?? NaN)),
    backupRss: median(good.map((run) => run.backup!.peakRssMb)),
    restoreRss: median(good.map((run) => run.restore!.peakRssMb)),
  };
}

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
/** A table cell: a pipe inside it would end the cell. */
const cell = (text: string) => text.replaceAll("|", "\\|");
const mb = (bytes: number) => fixed(bytes / 1e6, 0);

function loads(runs: readonly ContenderRun[]): string {
  const values = runs.flatMap((run) => [run.backup?.loadBefore, run.restore?.loadBefore]);
  const known = values.filter((value): value is number => typeof value === "number");
  return known.length ? `${fixed(Math.min(...known), 2)}–${fixed(Math.max(...known), 2)}` : "–";
}

function serviceSection(service: ServiceResults): string[] {
  const peer = medians(service.runs.peer);
  const lifeboat = medians(service.runs.lifeboat);
  const ratio = (a: number, b: number) => a / b;
  const backupRatio = ratio(lifeboat.backup, peer.backup);
  const restoreRatio = ratio(lifeboat.restore, peer.restore);
  const verdict = (value: number, goal: number) =>
    Number.isFinite(value)
      ? `${value <= goal ? "**met**" : "**missed**"} (${fixed(value, 2)}x, goal <= ${goal}x)`
      : "not measured";
  const lines = [
    `### ${service.title}`,
    "",
    ...Object.entries(service.dataset).map(([key, value]) => `- ${key}: ${value}`),
    `- source content: ${service.sourceContent}`,
    ...service.notes.map((note) => `- ${note}`),
    "",
    "| contender | correct runs | backup s | restore s | stored MB | peak RSS MB backup / restore | 1-min load before runs |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const [name, m, runs] of [
    [service.peerName, peer, service.runs.peer],
    ["lifeboat", lifeboat, service.runs.lifeboat],
  ] as const) {
    lines.push(
      `| ${cell("`" + name + "`")} | ${m.runs}/${runs.length} | ${fixed(m.backup)} | ${fixed(m.restore)} | ${mb(m.stored)} | ${fixed(m.backupRss, 0)} / ${fixed(m.restoreRss, 0)} | ${loads(runs)} |`,
    );
  }
  const floors = service.runs.peer.flatMap((run) => (run.floorBackup?.ok ? [run.floorBackup.seconds] : []));
  if (floors.length > 0)
    lines.push(
      `| floor: the peer's tool, output discarded | ${floors.length} | ${fixed(median(floors))} | | | | |`,
    );
  lines.push(
    `| **Lifeboat / peer** | | **${fixed(backupRatio, 2)}x** | **${fixed(restoreRatio, 2)}x** | ${fixed(ratio(lifeboat.stored, peer.stored), 2)}x | | |`,
    "",
    `Goals: backup ${verdict(backupRatio, goals.backup)}; restore ${verdict(restoreRatio, goals.restore)}.`,
    "",
    "Per round (s, backup / restore):",
    "",
  );
  for (const [name, runs] of [
    [service.peerName, service.runs.peer],
    ["lifeboat", service.runs.lifeboat],
  ] as const) {
    for (const run of runs) {
      const phases = run.phases
        ? `; phases ${Object.entries(run.phases)
            .map(([phase, seconds]) => `${phase} ${fixed(seconds)} s`)
            .join(", ")}`
        : "";
      const status = run.correct
        ? "restore checked"
        : `NOT CORRECT: ${run.problem ?? run.restoredContent ?? "?"}`;
      const read = run.sourceBytes ? `, read ${mb(run.sourceBytes)} MB from the source` : "";
      lines.push(
        `- round ${run.round}, \`${name}\`: ${fixed(run.backup?.seconds ?? NaN)} / ${fixed(run.restore?.seconds ?? NaN)}${read}; ${status}${phases}`,
      );
    }
  }
  return [...lines, ""];
}

export function renderResults(results: Results): string {
  return [
    `## Redis and MariaDB backup and restore (${results.startedAt.slice(0, 10)})`,
    "",
    "```",
    results.command,
    "```",
    "",
    ...Object.entries(results.machine).map(([key, value]) => `- ${key}: ${value}`),
    "",
    ...results.services.flatMap(serviceSection),
  ].join("\n");
}
