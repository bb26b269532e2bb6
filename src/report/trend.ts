// The drill history as a trend: per source, how the achieved RTO moves from
// drill to drill and how often drills pass. Pure: reports in, rows out.

import type { DrillReport } from "../domain/drill-report.ts";

export interface TrendRow {
  readonly source: string;
  readonly drills: number;
  readonly passed: number;
  readonly lastStatus: DrillReport["status"];
  readonly lastAt: string;
  /** Achieved RTO of the last drill, seconds. */
  readonly lastRto: number | null;
  /** Change of the last achieved RTO against the median of the earlier ones, as a ratio (1.2 = 20% slower). */
  readonly rtoVersusMedian: number | null;
  /** Achieved RTO of each drill, oldest first, for a sparkline. */
  readonly rtoHistory: readonly (number | null)[];
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function drillTrend(reports: readonly DrillReport[]): TrendRow[] {
  const bySource = new Map<string, DrillReport[]>();
  for (const report of [...reports].sort((a, b) => a.startedAt.localeCompare(b.startedAt))) {
    bySource.set(report.source, [...(bySource.get(report.source) ?? []), report]);
  }
  return [...bySource.entries()].map(([source, list]) => {
    const last = list[list.length - 1]!;
    const earlier = list
      .slice(0, -1)
      .flatMap((report) => (report.rto.achieved === null ? [] : [report.rto.achieved]));
    const base = median(earlier);
    return {
      source,
      drills: list.length,
      passed: list.filter((report) => report.status === "passed").length,
      lastStatus: last.status,
      lastAt: last.startedAt,
      lastRto: last.rto.achieved,
      rtoVersusMedian: base && last.rto.achieved !== null ? last.rto.achieved / base : null,
      rtoHistory: list.map((report) => report.rto.achieved),
    };
  });
}

const bars = "▁▂▃▄▅▆▇█";

/** A one-line sparkline of achieved RTOs; a gap (·) where a drill did not reach "verified". */
export function sparkline(values: readonly (number | null)[]): string {
  const known = values.filter((value): value is number => value !== null);
  const max = Math.max(...known, 0);
  return values
    .map((value) =>
      value === null
        ? "·"
        : bars[max === 0 ? 0 : Math.min(bars.length - 1, Math.floor((value / max) * (bars.length - 1)))],
    )
    .join("");
}
