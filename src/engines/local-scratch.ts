// Scratch targets for engines whose targets are local paths (sqlite, files):
// a fresh directory per drill, under the configured drill.target.path or the
// system temp dir, never inside or around the source itself.

import { makeDirectories } from "../runtime/make-directories.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LifeboatError } from "../errors.ts";
import { canonicalPath, isInside } from "../runtime/paths.ts";
import type { ScratchRequest, ScratchTarget } from "./engine.ts";

/**
 * Make `<parent>/lifeboat-drill-<label>-XXXX/<leaf>` as the scratch target.
 * For a directory source, a scratch place inside the source tree is refused
 * unless allowSourceServer says the user chose this deliberately; the target
 * itself is a fresh directory, so it can never be the source's own path.
 */
export async function provisionLocalScratch(
  sourcePath: string,
  sourceIsDirectory: boolean,
  request: ScratchRequest,
  leaf: string,
  engineName: string,
  /** More variables that name the target for checks (LIFEBOAT_TARGET always does), e.g. SQLITE_PATH. */
  targetVariables: readonly string[] = [],
): Promise<ScratchTarget> {
  const parent = resolve(request.target?.path ?? tmpdir());
  const sourceRoot = await canonicalPath(sourcePath);
  const realParent = await canonicalPath(parent);
  // A scratch tree inside the source tree would write into the source (and be captured by its next backup).
  if (
    sourceIsDirectory &&
    (realParent === sourceRoot || isInside(realParent, sourceRoot)) &&
    !request.allowSourceServer
  ) {
    throw new LifeboatError(
      "SCRATCH_ON_SOURCE",
      `the ${engineName} drill's scratch place ${parent} overlaps the source ${sourcePath}`,
      { details: { scratch: parent, source: sourcePath } },
    );
  }
  const safeLabel = request.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80);
  let dir: string;
  try {
    await makeDirectories(parent); // only after the check: creating it could write into the source
    dir = await mkdtemp(join(parent, `lifeboat-drill-${safeLabel}-`));
  } catch (error) {
    // EACCES, ENOSPC, EROFS: the configured scratch place is unusable, which is not a Lifeboat bug.
    const failure = error as NodeJS.ErrnoException;
    throw new LifeboatError(
      failure.code === "ENOSPC" || failure.code === "EDQUOT" ? "TARGET_FULL" : "TARGET_UNREACHABLE",
      `the ${engineName} drill cannot make its scratch place under ${parent}: ${failure.message}`,
      {
        details: { scratch: parent, ...(failure.code ? { errno: failure.code } : {}) },
        cause: error,
        hint: "Point drill.target.path at a writable directory with free space (or fix the permissions of the one named).",
      },
    );
  }
  const target = join(dir, leaf);
  if ((await canonicalPath(target)) === (await canonicalPath(sourcePath))) {
    throw new LifeboatError("TARGET_IS_SOURCE", `scratch target ${target} is the source itself`);
  }
  return {
    target,
    description: `${engineName} scratch ${sourceIsDirectory ? "directory" : "file"} ${target}`,
    env: Object.fromEntries(["LIFEBOAT_TARGET", ...targetVariables].map((name) => [name, target])),
    destroy: () => rm(dir, { recursive: true, force: true }),
    // Nothing removes a directory behind our back: keeping it is leaving it.
    keep: async () => `${target} (remove it with: rm -rf ${dir})`,
  };
}
