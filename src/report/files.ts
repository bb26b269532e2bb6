// Drill reports on disk: <dir>/<report id>-<source>.json and .md, written
// atomically (temp + rename) so a reader never sees half a report. Both pass
// the redaction step: a check's output or an error may quote a secret.

import { makeDirectories } from "../runtime/make-directories.ts";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DrillReport } from "../domain/drill-report.ts";
import { redactDeep } from "../runtime/redact.ts";
import { renderDrillRecord } from "./drill-record.ts";

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

export async function writeReportFiles(
  dir: string,
  unredacted: DrillReport,
): Promise<{ json: string; markdown: string }> {
  const report = redactDeep(unredacted);
  await makeDirectories(dir);
  const base = join(dir, `${report.id}-${report.source}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  await writeAtomically(paths.json, JSON.stringify(report, null, 2) + "\n");
  await writeAtomically(paths.markdown, renderDrillRecord(report));
  return paths;
}
