// objectives: the next table lists each source's RTO and RPO as lifeboat.yaml
// declares them. A row for an undeclared source, a value that differs (in
// seconds: 5m = 300s = 5 min), and a declared objective the table leaves out
// are drifts.

import type { Check, Finding } from "./drift.ts";
import { isEmptyCell, runbookSeconds } from "./runbook-duration.ts";
import { columnOf } from "./table-columns.ts";

export const checkObjectives: Check = async (marker, context) => {
  const table = marker.table!;
  const source = columnOf(table, ["source", "service"]);
  const columns = { rto: columnOf(table, ["rto"]), rpo: columnOf(table, ["rpo"]) };
  if (source < 0 || (columns.rto < 0 && columns.rpo < 0))
    return [
      {
        kind: "table-invalid",
        line: table.line,
        message: "an objectives table needs a Source (or Service) column and RTO and/or RPO columns",
        runbook: table.header.join(" | "),
      },
    ];
  if (!context.config.ok) return [{ kind: "config-unavailable", message: context.config.problem }];
  const config = context.config.value;
  const findings: Finding[] = [];
  const listed = new Set<string>();
  for (const row of table.rows) {
    const name = row.cells[source] ?? "";
    listed.add(name);
    const declared = config.sources[name]?.objectives;
    if (!(name in config.sources)) {
      findings.push({
        kind: "objective-undeclared",
        line: row.line,
        message: `lifeboat.yaml declares no source named ${name}`,
        runbook: name,
        deployed: null,
      });
      continue;
    }
    for (const key of ["rto", "rpo"] as const) {
      if (columns[key] < 0) continue;
      const cell = row.cells[columns[key]] ?? "";
      const wanted = declared?.[key];
      const same = isEmptyCell(cell)
        ? wanted === undefined
        : wanted !== undefined && runbookSeconds(cell) === runbookSeconds(wanted);
      if (!same) {
        findings.push({
          kind: "objective-differs",
          line: row.line,
          message: `${name}: the runbook's ${key.toUpperCase()} is ${cell || "empty"}, lifeboat.yaml declares ${wanted ?? "none"}`,
          runbook: cell || null,
          deployed: wanted ?? null,
        });
      }
    }
  }
  for (const [name, { objectives }] of Object.entries(config.sources)) {
    const declared = (["rto", "rpo"] as const).filter(
      (key) => objectives?.[key] !== undefined && columns[key] >= 0,
    );
    if (declared.length === 0 || listed.has(name)) continue;
    findings.push({
      kind: "objective-missing",
      line: table.line,
      message: `the table has no row for ${name}, whose objectives lifeboat.yaml declares`,
      runbook: null,
      deployed: declared.map((key) => `${key.toUpperCase()} ${objectives![key]}`).join(", "),
    });
  }
  return findings;
};
