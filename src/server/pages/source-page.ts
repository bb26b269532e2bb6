// One source's drill history: RTO and RPO trend plots against the
// objectives, and a table of every drill linking to its record.

import type { DrillReport } from "../../domain/drill-report.ts";
import { formatSeconds } from "../../domain/duration.ts";
import type { StatusReport } from "../../domain/status.ts";
import { html, page, verdictBadge } from "./html.ts";
import { trendPlot } from "./trend-plot.ts";

const seconds = (value: number | null) => (value === null ? "n/a" : formatSeconds(value));

export function renderSourcePage(
  report: StatusReport,
  source: string,
  drills: readonly DrillReport[],
): string {
  const status = report.sources.find((candidate) => candidate.source === source);
  const history = [...drills].sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const points = (pick: (drill: DrillReport) => number | null) =>
    history.map((drill) => ({
      at: drill.startedAt,
      seconds: pick(drill),
      status: drill.status,
      report: drill.id,
    }));
  const body = html` <h1>${source} ${status ? verdictBadge(status.verdict) : ""}</h1>
    ${
      status?.reasons.length
        ? html`<ul class="reasons">
            ${status.reasons.map((reason) => html`<li>${reason}</li>`)}
          </ul>`
        : ""
    }
    ${
      history.length === 0
        ? html`<p>
            No drill has been run for ${source} yet: nothing has proved it restores. Run
            <code>lifeboat drill ${source}</code>.
          </p>`
        : html` ${trendPlot(
              "RTO",
              points((drill) => drill.rto.achieved),
              status?.objectives.rtoSeconds ?? null,
            )}
            ${trendPlot(
              "RPO",
              points((drill) => drill.rpo.achieved),
              status?.objectives.rpoSeconds ?? null,
            )}
            <div class="scroll">
              <table id="drills">
                <thead>
                  <tr>
                    <th>drill</th>
                    <th>status</th>
                    <th>snapshot</th>
                    <th>RTO</th>
                    <th>RPO</th>
                  </tr>
                </thead>
                <tbody>
                  ${[...history].reverse().map(
                    (drill) =>
                      html`<tr class="${drill.status === "passed" ? "" : "failed"}">
                        <td><a href="/drills/${encodeURIComponent(drill.id)}">${drill.startedAt}</a></td>
                        <td>${drill.status.replace("_", " ")}</td>
                        <td><code>${drill.snapshot.id?.slice(0, 8) ?? "-"}</code></td>
                        <td>${seconds(drill.rto.achieved)}${drill.rto.met === false ? " (missed)" : ""}</td>
                        <td>${seconds(drill.rpo.achieved)}${drill.rpo.met === false ? " (missed)" : ""}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
    }`;
  return page(source, report.generatedAt, body);
}
