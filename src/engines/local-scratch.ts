// Scratch targets for engines whose targets are local paths (sqlite, files):
// a fresh directory per drill, under the configured drill.target.path or the
// system temp dir, never inside or around the source itself.

import { mkdir, mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { LifeboatError } from "../errors.ts";
import type { ScratchRequest, ScratchTarget } from "./engine.ts";

/** True when `inner` is `outer` or lies inside it. */
function within(outer: string, inner: string): boolean {
  const path = relative(outer, inner);
  return path === "" || (!path.startsWith("..") && !isAbsolute(path));
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest (it may not exist yet). */
async function real(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(await real(parent), basename(absolute));
  }
}

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
): Promise<ScratchTarget> {
  const parent = resolve(request.target?.path ?? tmpdir());
  const sourceRoot = await real(sourcePath);
  const realParent = await real(parent);
  // A scratch tree inside the source tree would write into the source (and be captured by its next backup).
  if (sourceIsDirectory && within(sourceRoot, realParent) && !request.allowSourceServer) {
    throw new LifeboatError(
      "SCRATCH_ON_SOURCE",
      `the ${engineName} drill's scratch place ${parent} overlaps the source ${sourcePath}`,
      { details: { scratch: parent, source: sourcePath } },
    );
  }
  await mkdir(parent, { recursive: true }); // only after the check: creating it could write into the source
  const safeLabel = request.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80);
  const dir = await mkdtemp(join(parent, `lifeboat-drill-${safeLabel}-`));
  const target = join(dir, leaf);
  if ((await real(target)) === (await real(sourcePath))) {
    throw new LifeboatError("TARGET_IS_SOURCE", `scratch target ${target} is the source itself`);
  }
  return {
    target,
    description: `${engineName} scratch ${sourceIsDirectory ? "directory" : "file"} ${target}`,
    env: { LIFEBOAT_TARGET: target, ...(engineName === "sqlite" ? { SQLITE_PATH: target } : {}) },
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
}
