// Drill reports on disk: <dir>/<report id>-<source>.json and .md (a group
// drill's: <id>-group-<group>), written atomically (temp + rename) so a
// reader never sees half a report. Both pass the redaction step: a check's
// output or an error may quote a secret.

import { makeDirectories } from "../runtime/make-directories.ts";
import { join } from "node:path";
import type { DrillReport } from "../domain/drill-report.ts";
import type { GroupDrillReport } from "../domain/group-drill-report.ts";
import { redactDeep } from "../runtime/redact.ts";
import { writeFileWhole } from "../runtime/write-whole.ts";
import { renderDrillRecord } from "./drill-record.ts";
import { renderGroupDrillRecord } from "./group-drill-record.ts";
import { renderScenarioRecord } from "./scenario-record.ts";
import type { ScenarioReport } from "../domain/scenario-report.ts";

async function writeJsonAndMarkdown<T>(
  dir: string,
  name: string,
  unredacted: T,
  render: (report: T) => string,
): Promise<{ json: string; markdown: string }> {
  const report = redactDeep(unredacted);
  await makeDirectories(dir);
  const base = join(dir, name);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  await writeFileWhole(paths.json, JSON.stringify(report, null, 2) + "\n");
  await writeFileWhole(paths.markdown, render(report));
  return paths;
}

export function writeReportFiles(
  dir: string,
  report: DrillReport,
): Promise<{ json: string; markdown: string }> {
  return writeJsonAndMarkdown(dir, `${report.id}-${report.source}`, report, renderDrillRecord);
}

export function writeGroupReportFiles(
  dir: string,
  report: GroupDrillReport,
): Promise<{ json: string; markdown: string }> {
  return writeJsonAndMarkdown(dir, `${report.id}-group-${report.group}`, report, renderGroupDrillRecord);
}

/** A scenario drill's report: <dir>/<id>-scenario-<name>.json and .md. */
export function writeScenarioReportFiles(
  dir: string,
  report: ScenarioReport,
): Promise<{ json: string; markdown: string }> {
  return writeJsonAndMarkdown(dir, `${report.id}-scenario-${report.scenario}`, report, renderScenarioRecord);
}
