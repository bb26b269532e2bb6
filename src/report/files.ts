// Drill reports on disk: <dir>/<report id>-<source>.json and .md, written
// atomically (temp + rename) so a reader never sees half a report. Both pass
// the redaction step: a check's output or an error may quote a secret.

import { makeDirectories } from "../runtime/make-directories.ts";
import { join } from "node:path";
import type { DrillReport } from "../domain/drill-report.ts";
import { redactDeep } from "../runtime/redact.ts";
import { writeFileWhole } from "../runtime/write-whole.ts";
import { renderDrillRecord } from "./drill-record.ts";
import type { GroupDrillReport } from "../domain/group-drill-report.ts";
import { renderGroupDrillRecord } from "./group-drill-record.ts";

export async function writeReportFiles(
  dir: string,
  unredacted: DrillReport,
): Promise<{ json: string; markdown: string }> {
  const report = redactDeep(unredacted);
  await makeDirectories(dir);
  const base = join(dir, `${report.id}-${report.source}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  await writeFileWhole(paths.json, JSON.stringify(report, null, 2) + "\n");
  await writeFileWhole(paths.markdown, renderDrillRecord(report));
  return paths;
}

/** A group drill's report: <dir>/<report id>-group-<group>.json and .md. */
export async function writeGroupReportFiles(
  dir: string,
  unredacted: GroupDrillReport,
): Promise<{ json: string; markdown: string }> {
  const report = redactDeep(unredacted);
  await makeDirectories(dir);
  const base = join(dir, `${report.id}-group-${report.group}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  await writeFileWhole(paths.json, JSON.stringify(report, null, 2) + "\n");
  await writeFileWhole(paths.markdown, renderGroupDrillRecord(report));
  return paths;
}
