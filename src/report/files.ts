// Drill reports on disk: <dir>/<report id>-<source>.json and .md, written
// atomically (temp + rename) so a reader never sees half a report.

import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DrillReport } from "../drill/report.ts";
import { renderDrillRecord } from "./drill-record.ts";

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

export async function writeReportFiles(
  dir: string,
  report: DrillReport,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${report.id}-${report.source}`);
  const paths = { json: `${base}.json`, markdown: `${base}.md` };
  await writeAtomically(paths.json, JSON.stringify(report, null, 2) + "\n");
  await writeAtomically(paths.markdown, renderDrillRecord(report));
  return paths;
}
