// lifeboat drills [SOURCE...]: the drill history kept in the repository, with trend.

import { formatSeconds } from "../../domain/duration.ts";
import { isDrillReport } from "../../domain/drill-report.ts";
import { isScenarioReport } from "../../domain/scenario-report.ts";
import { drillTrend, sparkline } from "../../report/trend.ts";
import { table } from "../output.ts";
import { withRepository, type CommandEnv } from "../session.ts";

export async function drillsCommand(env: CommandEnv, names: readonly string[]): Promise<void> {
  const stored = await withRepository(env, null, (context) => context.repository.listDrillReports());
  // Ids start with the start time to the second; startedAt (milliseconds) orders drills of one second.
  const all = stored
    .filter(isDrillReport)
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  const reports = names.length ? all.filter((report) => names.includes(report.source)) : all;
  // Scenario runs are kept in the same history; named sources select the scenarios involving them.
  const scenarios = stored
    .filter(isScenarioReport)
    .filter((run) => names.length === 0 || run.services.some((service) => names.includes(service)))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  const trend = drillTrend(reports);
  const seconds = (value: number | null) => (value === null ? "n/a" : formatSeconds(value));
  env.output.result(
    {
      drills: reports.map((report) => ({
        id: report.id,
        source: report.source,
        status: report.status,
        startedAt: report.startedAt,
        snapshot: report.snapshot.id,
        rto: report.rto,
        rpo: report.rpo,
        phases: report.phases,
      })),
      trend,
      scenarios: scenarios.map((run) => ({
        id: run.id,
        scenario: run.scenario,
        services: run.services,
        status: run.status,
        startedAt: run.startedAt,
        rto: run.rto,
        rpo: run.rpo,
        lostWrites: run.lost_writes,
      })),
    },
    () =>
      reports.length === 0 && scenarios.length === 0
        ? "no drills recorded yet; run `lifeboat drill`"
        : [
            ...(scenarios.length > 0
              ? [
                  table(
                    ["SCENARIO RUN", "SCENARIO", "STATUS", "RTO", "LOST WRITES"],
                    scenarios.map((run) => [
                      run.id,
                      run.scenario,
                      run.status,
                      `${seconds(run.rto.achieved)}${run.rto.met === false ? " MISSED" : ""}`,
                      run.lost_writes
                        ? `${run.lost_writes.count} (${seconds(run.lost_writes.seconds)})`
                        : "-",
                    ]),
                  ),
                  "",
                ]
              : []),
            table(
              ["DRILL", "SOURCE", "STATUS", "SNAPSHOT", "RTO", "RPO"],
              reports.map((report) => [
                report.id,
                report.source,
                report.status,
                report.snapshot.id?.slice(0, 8) ?? "-",
                `${seconds(report.rto.achieved)}${report.rto.met === false ? " MISSED" : ""}`,
                `${seconds(report.rpo.achieved)}${report.rpo.met === false ? " MISSED" : ""}`,
              ]),
            ),
            "",
            table(
              ["SOURCE", "DRILLS", "PASSED", "LAST", "LAST RTO", "VS MEDIAN", "RTO TREND"],
              trend.map((row) => [
                row.source,
                String(row.drills),
                String(row.passed),
                row.lastStatus,
                seconds(row.lastRto),
                row.rtoVersusMedian === null
                  ? "-"
                  : `${row.rtoVersusMedian >= 1 ? "+" : ""}${Math.round((row.rtoVersusMedian - 1) * 100)}%`,
                sparkline(row.rtoHistory),
              ]),
            ),
          ].join("\n"),
  );
}
