// The dashboard's front page: every source against its objectives, the
// repository's last check and prune, and the recent runs with failures
// marked.

import { formatSeconds } from "../../domain/duration.ts";
import type { RunRecord } from "../../domain/run-record.ts";
import type { SourceStatus, StatusReport } from "../../domain/status.ts";
import { html, page, verdictBadge, type Html } from "./html.ts";

const RECENT_RUNS = 50;

const ago = (seconds: number | null | undefined) =>
  seconds == null ? "never" : `${formatSeconds(seconds)} ago`;
const objective = (seconds: number | null) => (seconds === null ? "none" : formatSeconds(seconds));

function sourceRow(source: SourceStatus): Html {
  const drill = source.lastDrill;
  const href = `/sources/${encodeURIComponent(source.source)}`;
  return html`<tr data-source="${source.source}">
    <td>
      <a href="${href}">${source.source}</a> <span class="muted">${source.engine}</span>
      ${
        source.reasons.length
          ? html`<ul class="reasons">
              ${source.reasons.map((reason) => html`<li>${reason}</li>`)}
            </ul>`
          : ""
      }
    </td>
    <td>${verdictBadge(source.verdict)}</td>
    <td>
      ${ago(source.lastBackup?.ageSeconds)}
      <span class="muted">(RPO ${objective(source.objectives.rpoSeconds)})</span>
    </td>
    <td>
      ${source.lastFailedBackup ? html`${source.lastFailedBackup.errorCode} <span class="muted">${source.lastFailedBackup.at}</span>` : "-"}
    </td>
    <td>
      ${
        drill
          ? html`<a href="/drills/${encodeURIComponent(drill.report)}">${drill.status.replace("_", " ")}</a>
              ${ago(drill.ageSeconds)}<br />
              RTO ${drill.rto.achieved === null ? "n/a" : formatSeconds(drill.rto.achieved)} /
              ${objective(drill.rto.objective)}, RPO
              ${drill.rpo.achieved === null ? "n/a" : formatSeconds(drill.rpo.achieved)} /
              ${objective(drill.rpo.objective)}`
          : "never"
      }
    </td>
    <td>${drill?.predictedRtoSeconds != null ? formatSeconds(drill.predictedRtoSeconds) : "-"}</td>
    <td>
      ${source.wal ? (source.wal.newest ? html`${source.wal.newest}<br />${ago(source.wal.ageSeconds)}` : "none archived") : "-"}
    </td>
  </tr>`;
}

function runRow(run: RunRecord): Html {
  return html`<tr class="${run.outcome === "failed" ? "failed" : ""}" data-outcome="${run.outcome}">
    <td>${run.startedAt}</td>
    <td>${run.operation}</td>
    <td>${run.source ?? "repository"}</td>
    <td>${run.outcome}</td>
    <td>${formatSeconds(run.seconds)}</td>
    <td>${run.error ? html`${run.error.code}: ${run.error.message}` : ""}</td>
  </tr>`;
}

export function renderOverview(report: StatusReport, runs: readonly RunRecord[]): string {
  const repository = report.repository;
  const recent = [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, RECENT_RUNS);
  const body = html` <h1>Recoverability ${verdictBadge(report.verdict)}</h1>
    ${repository.error ? html`<p class="failed"><strong>The repository could not be read:</strong> ${repository.error.code}: ${repository.error.message}</p>` : ""}
    <div class="scroll">
      <table id="sources">
        <thead>
          <tr>
            <th>source</th>
            <th>verdict</th>
            <th>last backup</th>
            <th>last failed backup</th>
            <th>last drill</th>
            <th>predicted RTO</th>
            <th>WAL</th>
          </tr>
        </thead>
        <tbody>
          ${report.sources.map(sourceRow)}
        </tbody>
      </table>
    </div>
    <p>
      Repository <code>${repository.url}</code>:
      ${repository.dataBytes === null ? "" : `${(repository.dataBytes / 1e6).toFixed(1)} MB stored; `} last
      check
      ${repository.lastCheck?.at ?? "never"}${repository.lastFailedCheck ? html`, last <strong>failed</strong> check ${repository.lastFailedCheck.at} (${repository.lastFailedCheck.errorCode})` : ""};
      last prune
      ${repository.lastPrune?.at ?? "never"}${repository.lastFailedPrune ? html`, last <strong>failed</strong> prune ${repository.lastFailedPrune.at}` : ""}.
    </p>
    <h2>Recent runs</h2>
    ${
      recent.length
        ? html`<div class="scroll">
            <table id="runs">
              <thead>
                <tr>
                  <th>started</th>
                  <th>operation</th>
                  <th>source</th>
                  <th>outcome</th>
                  <th>time</th>
                  <th>error</th>
                </tr>
              </thead>
              <tbody>
                ${recent.map(runRow)}
              </tbody>
            </table>
          </div>`
        : html`<p class="muted">No runs recorded yet.</p>`
    }`;
  return page("status", report.generatedAt, body);
}
