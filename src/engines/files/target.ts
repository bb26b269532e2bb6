// Looking at a files target without changing it, and deciding whether a
// target overlaps the source (restoring into or around the source is refused).

import { lstat, readdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { canonicalPath, isInside } from "../../runtime/paths.ts";
import type { TargetState } from "../engine.ts";
import { fingerprintDirectory } from "./fingerprint-dir.ts";

export async function inspectFilesTarget(target: string): Promise<TargetState> {
  const path = resolve(target);
  const info = await lstat(path).catch(() => undefined);
  if (!info) return { exists: false, empty: true, description: `directory ${path} (does not exist)` };
  if (!info.isDirectory())
    return { exists: true, empty: false, description: `${path} (exists and is not a directory)` };
  const names = await readdir(path).catch((error: Error) => {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `target directory ${path} cannot be read: ${error.message}`,
      {
        details: { target: path },
        cause: error,
      },
    );
  });
  return {
    exists: true,
    empty: names.length === 0,
    description: `directory ${path} (${names.length === 0 ? "empty" : `${names.length} entries`})`,
  };
}

export async function fingerprintFilesTarget(target: string, log: Logger): Promise<Fingerprint> {
  const path = resolve(target);
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new LifeboatError("TARGET_UNREACHABLE", `target directory ${path} does not exist`, {
      details: { target: path },
    });
  }
  return fingerprintDirectory(path, log);
}

/** True when target is the source, lies inside it, or contains it: each would destroy or recurse into the source. */
export async function overlapsSource(sourcePath: string, target: string): Promise<boolean> {
  const [source, destination] = await Promise.all([canonicalPath(sourcePath), canonicalPath(target)]);
  return source === destination || isInside(destination, source) || isInside(source, destination);
}
