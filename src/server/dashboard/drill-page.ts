// One drill (`/drills/<report id>`): its Markdown drill record, the same text
// `lifeboat drill` writes, rendered as HTML; then the same evidence as GFM
// tables (objectives, checks, phases) for reading at a glance. Both go
// through the one untrusted-Markdown renderer (markdown.ts).

import type { DrillPhases, DrillReport, ObjectiveOutcome } from "../../domain/drill-report.ts";
import { formatSeconds } from "../../domain/duration.ts";
import { renderDrillRecord } from "../../report/drill-record.ts";
import { drillStatusBadge } from "./format.ts";
import { html } from "./html.ts";
import { links, page, type PageOptions } from "./layout.ts";
import { markdownToHtml, tableCell } from "./markdown.ts";

const phaseOrder: readonly (keyof DrillPhases)[] = [
  "select",
  "start",
  "fetch",
  "restore",
  "mark",
  "layDown",
  "replay",
  "promote",
  "verify",
  "teardown",
];

function objectiveRow(name: string, outcome: ObjectiveOutcome): string {
  const seconds = (value: number | null) => (value === null ? "n/a" : formatSeconds(value));
  const result = outcome.met === null ? "not judged" : outcome.met ? "met" : "**MISSED**";
  return `| ${name} | ${outcome.objective === null ? "none declared" : seconds(outcome.objective)} | ${seconds(outcome.achieved)} | ${result} |`;
}

/** The evidence tables, as Markdown: every cell that holds data goes through tableCell. */
export function evidenceTables(report: DrillReport): string {
  const phases = phaseOrder.filter((phase) => report.phases[phase] !== undefined);
  return [
    "## Objectives",
    "",
    "| objective | declared | achieved | result |",
    "|---|---|---|---|",
    objectiveRow("RTO", report.rto),
    objectiveRow("RPO", report.rpo),
    "",
    "## Checks",
    "",
    ...(report.checks.length
      ? [
          "| check | kind | result | detail |",
          "|---|---|---|---|",
          ...report.checks.map(
            (check) =>
              `| ${tableCell(check.name)} | ${check.kind} | ${check.result === "passed" ? "passed" : `**${check.result.toUpperCase()}**`} | ${tableCell(check.detail)} |`,
          ),
        ]
      : ["No check ran: nothing proved the restored data complete."]),
    "",
    "## Phases",
    "",
    ...(phases.length
      ? [
          "| phase | seconds |",
          "|---|---|",
          ...phases.map((phase) => `| ${phase} | ${formatSeconds(report.phases[phase] ?? 0)} |`),
        ]
      : ["No phase completed."]),
    "",
  ].join("\n");
}

export function renderDrillPage(report: DrillReport, options: PageOptions = {}): string {
  const to = links(options.basePath);
  const body = html`<p>
      <a href="${to.source(report.source)}">← drill history of ${report.source}</a>
    </p>
    <h1>Drill ${report.id} ${drillStatusBadge(report.status)}</h1>
    <article class="record" id="record">${markdownToHtml(renderDrillRecord(report))}</article>
    <article class="record" id="evidence">${markdownToHtml(evidenceTables(report))}</article>`;
  return page(`Drill ${report.id} of ${report.source}`, body, options);
}
