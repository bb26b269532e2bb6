// The dashboard's front page (`/`): every source against its objectives, the
// repository's last check and prune, and the recent runs with failures
// marked. Rendered from the StatusReport and the run records alone.

import type { RunRecord } from "../../domain/run-record.ts";
import { VERDICT_ORDER, type RunSummary, type SourceStatus, type StatusReport } from "../../domain/status.ts";
import {
  achievedAgainst,
  ageAgainst,
  ago,
  bytes,
  drillStatusBadge,
  duration,
  secondsBetween,
  utc,
  verdictBadge,
  verdictWords,
} from "./format.ts";
import { html, type Html } from "./html.ts";
import { links, page, type Links } from "./layout.ts";

/** The newest runs shown; older ones stay in the repository and in /metrics. */
export const RECENT_RUNS = 50;

function failure(run: RunSummary, now: string): Html {
  return html`${ago(secondsBetween(run.at, now))} (${utc(run.at)})${run.errorCode ? html`: <code>${run.errorCode}</code>` : ""}${run.message ? html` ${run.message}` : ""}`;
}

function drillRows(source: SourceStatus, to: Links): Html {
  const drill = source.lastDrill;
  const interval = source.objectives.drillIntervalSeconds;
  if (!drill) {
    return html`<dt>Last drill</dt>
      <dd data-field="last-drill">never: nothing has proved this source restores</dd>`;
  }
  const passed = source.lastPassedDrill;
  return html`<dt>Last drill</dt>
    <dd data-field="last-drill">
      ${drillStatusBadge(drill.status)}, ${ago(drill.ageSeconds)} (<a href="${to.drill(drill.report)}"
        >record</a
      >)${interval === null ? "" : html`; ${ageAgainst("drill interval", drill.ageSeconds, interval)}`}
    </dd>
    <dt>Drill RTO</dt>
    <dd data-field="drill-rto">${achievedAgainst(drill.rto)}</dd>
    <dt>Drill RPO</dt>
    <dd data-field="drill-rpo">${achievedAgainst(drill.rpo)}</dd>
    ${drill.status === "passed"
      ? ""
      : html`<dt>Last passed drill</dt>
          <dd data-field="last-passed-drill">
            ${passed ? html`<a href="${to.drill(passed.report)}">${ago(passed.ageSeconds)}</a>` : "never"}
          </dd>`}
    <dt>Predicted RTO</dt>
    <dd data-field="predicted-rto">
      ${drill.predictedRtoSeconds === null
        ? html`<span class="muted">no prediction</span>`
        : html`${duration(drill.predictedRtoSeconds)} at today's size${source.objectives.rtoSeconds === null
            ? ""
            : drill.predictedRtoSeconds > source.objectives.rtoSeconds
              ? html` <span class="bad">(WOULD EXCEED the RTO ${duration(source.objectives.rtoSeconds)})</span>`
              : html` <span class="good">(within the RTO ${duration(source.objectives.rtoSeconds)})</span>`}`}
    </dd>`;
}

function sourceCard(source: SourceStatus, now: string, to: Links): Html {
  const backup = source.lastBackup;
  const rpo = source.objectives.rpoSeconds;
  return html`<section class="card verdict-${source.verdict}" data-source="${source.source}">
    <h2>
      <a href="${to.source(source.source)}">${source.source}</a>
      ${verdictBadge(source.verdict)}
      <span class="muted">${source.engine}</span>
    </h2>
    ${source.reasons.length
      ? html`<ul class="reasons">
          ${source.reasons.map((reason) => html`<li>${reason}</li>`)}
        </ul>`
      : ""}
    <dl>
      <dt>Last backup</dt>
      <dd data-field="last-backup">
        ${backup
          ? html`${ago(backup.ageSeconds)}, ${ageAgainst("RPO", backup.ageSeconds, rpo)}<br /><span
                class="muted"
                >${utc(backup.at)}, snapshot <code>${backup.snapshot.slice(0, 12)}</code>${backup.bytes === null
                  ? ""
                  : `, ${bytes(backup.bytes)}`}</span
              >`
          : html`<span class="bad">never</span>`}
      </dd>
      <dt>Last failed backup</dt>
      <dd data-field="last-failed-backup">
        ${source.lastFailedBackup ? html`<span class="bad">${failure(source.lastFailedBackup, now)}</span>` : "none"}
      </dd>
      ${source.wal
        ? html`<dt>WAL archive</dt>
            <dd data-field="wal">
              ${source.wal.newest
                ? html`newest ${ago(source.wal.ageSeconds)}, ${ageAgainst("RPO", source.wal.ageSeconds, rpo)}<br /><span
                      class="muted"
                      ><code>${source.wal.newest}</code>, ${source.wal.files} files</span
                    >`
                : html`<span class="bad">no WAL archived</span>`}
            </dd>`
        : ""}
      ${drillRows(source, to)}
      <dt>Snapshots</dt>
      <dd>${source.snapshots}</dd>
    </dl>
  </section>`;
}

function repositoryPanel(status: StatusReport): Html {
  const repository = status.repository;
  const now = status.generatedAt;
  const last = (label: string, run: RunSummary | null, failed: RunSummary | null) =>
    html`<dt>Last ${label}</dt>
      <dd data-field="last-${label}">${run ? html`${ago(secondsBetween(run.at, now))} (${utc(run.at)})` : "never"}</dd>
      ${failed
        ? html`<dt>Last failed ${label}</dt>
            <dd data-field="last-failed-${label}"><span class="bad">${failure(failed, now)}</span></dd>`
        : ""}`;
  return html`<section class="panel" id="repository">
    ${repository.error
      ? html`<p class="bad">
          The repository could not be read: <code>${repository.error.code}</code> ${repository.error.message}
        </p>`
      : ""}
    <dl>
      <dt>URL</dt>
      <dd><code>${repository.url}</code></dd>
      <dt>Stored</dt>
      <dd>${repository.dataBytes === null ? "not read" : bytes(repository.dataBytes)}</dd>
      ${last("check", repository.lastCheck, repository.lastFailedCheck)}
      ${last("prune", repository.lastPrune, repository.lastFailedPrune)}
    </dl>
  </section>`;
}

function runsTable(runs: readonly RunRecord[], to: Links): Html {
  if (runs.length === 0) return html`<p class="muted" id="runs">No runs recorded yet.</p>`;
  const recent = [...runs].sort((a, b) => b.startedAt.localeCompare(a.startedAt)).slice(0, RECENT_RUNS);
  const failed = runs.filter((run) => run.outcome === "failed").length;
  return html`<p>
      ${recent.length < runs.length ? `The ${recent.length} newest of ${runs.length} runs` : `${runs.length} runs`},
      ${failed} failed.
    </p>
    <div class="scroll">
      <table id="runs">
        <thead>
          <tr>
            <th>started</th>
            <th>operation</th>
            <th>source</th>
            <th>outcome</th>
            <th>took</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          ${recent.map(
            (run) =>
              html`<tr class="${run.outcome === "failed" ? "failed" : ""}" data-outcome="${run.outcome}">
                <td>${utc(run.startedAt)}</td>
                <td>${run.operation}</td>
                <td>${run.source === null ? html`<span class="muted">repository</span>` : html`<a href="${to.source(run.source)}">${run.source}</a>`}</td>
                <td>${run.outcome === "failed" ? html`<strong class="bad">FAILED</strong>` : "succeeded"}</td>
                <td>${duration(run.seconds)}</td>
                <td>
                  ${run.error ? html`<code>${run.error.code}</code> ${run.error.message}` : ""}
                  ${run.drill ? html`drill <a href="${to.drill(run.drill.report)}">${run.drill.status}</a>` : ""}
                  ${!run.error && !run.drill && run.bytesStored !== null ? `${bytes(run.bytesStored)} stored` : ""}
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}

export function renderOverview(
  status: StatusReport,
  runs: readonly RunRecord[],
  options: { readonly basePath?: string } = {},
): string {
  const to = links(options.basePath);
  const counts = VERDICT_ORDER.map((verdict) => [
    verdict,
    status.sources.filter((source) => source.verdict === verdict).length,
  ] as const)
    .filter(([, count]) => count > 0)
    .map(([verdict, count]) => `${count} ${verdictWords[verdict].toLowerCase()}`);
  const body = html`<h1>Recoverability: ${verdictBadge(status.verdict)}</h1>
    <p>
      ${status.sources.length} ${status.sources.length === 1 ? "source" : "sources"}${counts.length
        ? `: ${counts.join(", ")}`
        : ""}.
    </p>
    ${status.sources.length
      ? html`<div class="cards" id="sources">
          ${status.sources.map((source) => sourceCard(source, status.generatedAt, to))}
        </div>`
      : html`<p id="sources">No sources are declared in lifeboat.yaml.</p>`}
    <h2>Repository</h2>
    ${repositoryPanel(status)}
    <h2>Recent runs</h2>
    ${runsTable(runs, to)}`;
  return page("Overview", body, { basePath: options.basePath ?? "", generatedAt: status.generatedAt });
}
