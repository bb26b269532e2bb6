// Writing a file a reader may open at any moment (a drill report, a metrics
// textfile node_exporter scrapes, rendered manifests, the scheduler's state):
// a temporary file beside it, then rename(2), so the path holds the old
// contents or the new, never half. A failed write leaves no temporary behind.

import { rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { makeDirectories } from "./make-directories.ts";

export async function writeFileWhole(
  path: string,
  text: string,
  options: { mode?: number; makeParents?: boolean } = {},
): Promise<void> {
  if (options.makeParents) await makeDirectories(dirname(path));
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(temporary, text, options.mode === undefined ? {} : { mode: options.mode });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
