// Restore a tree into a target directory. Extraction goes into a sibling
// `<target>.lifeboat-partial-<random>` directory and is renamed into place
// only once the whole verified stream has been written and fsynced. With
// --force an existing target is first renamed to `<target>.lifeboat-old-<random>`
// and deleted after the swap. So a kill at any point leaves at the target
// path either the old tree, nothing, or the complete new tree; leftovers
// carry the `.lifeboat-partial-` / `.lifeboat-old-` names and are safe to delete.

import { randomBytes } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LifeboatError, isLifeboatError } from "../../errors.ts";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { treeArtifact } from "./capture.ts";
import { fsyncPath } from "../../runtime/paths.ts";
import { extractTree } from "./extract.ts";

/** Whether the target exists and holds anything; refuses what restore must not replace. */
async function checkTarget(
  targetPath: string,
  options: RestoreOptions,
): Promise<{ exists: boolean; empty: boolean }> {
  const parent = await lstat(dirname(targetPath)).catch(() => undefined);
  if (!parent?.isDirectory()) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `the parent directory of target ${targetPath} does not exist`,
      {
        details: { target: targetPath },
      },
    );
  }
  const existing = await lstat(targetPath).catch(() => undefined);
  if (!existing) return { exists: false, empty: true };
  if (!existing.isDirectory()) {
    throw new LifeboatError("TARGET_UNREACHABLE", `target ${targetPath} exists and is not a directory`, {
      details: { target: targetPath },
    });
  }
  const names = await readdir(targetPath);
  if (names.length > 0 && !options.force) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `target directory ${targetPath} is not empty (${names.length} entries)`,
      {
        details: { target: targetPath, entries: names.length },
      },
    );
  }
  return { exists: true, empty: names.length === 0 };
}

function asTargetError(error: unknown, targetPath: string): unknown {
  if (isLifeboatError(error)) return error;
  return new LifeboatError(
    "TARGET_UNREACHABLE",
    `restoring into ${targetPath} failed: ${(error as Error).message}`,
    {
      details: { target: targetPath },
      cause: error,
    },
  );
}

export async function restoreFiles(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  const targetPath = resolve(target);
  const state = await checkTarget(targetPath, options);
  const suffix = randomBytes(6).toString("hex");
  const partial = `${targetPath}.lifeboat-partial-${suffix}`;
  try {
    await mkdir(partial, { mode: 0o700 });
    // Fetching and writing are one stream here, so "fetch" covers extraction; "restore" is fix-up and swap.
    await extractTree(input.artifacts.open(treeArtifact), partial, () => context.onPhase?.("restore"));
    context.signal?.throwIfAborted();
  } catch (error) {
    await rm(partial, { recursive: true, force: true, maxRetries: 3 });
    throw asTargetError(error, targetPath);
  }

  try {
    if (!state.exists || state.empty) {
      // rename(2) replaces an empty directory atomically.
      await rename(partial, targetPath);
    } else {
      const old = `${targetPath}.lifeboat-old-${suffix}`;
      await rename(targetPath, old);
      try {
        await rename(partial, targetPath);
      } catch (error) {
        await rename(old, targetPath); // put the old tree back rather than leave nothing
        throw error;
      }
      await fsyncPath(dirname(targetPath));
      await rm(old, { recursive: true, force: true, maxRetries: 3 });
    }
    await fsyncPath(dirname(targetPath));
    context.log.debug(`files: restored ${targetPath}`);
  } catch (error) {
    await rm(partial, { recursive: true, force: true, maxRetries: 3 });
    throw asTargetError(error, targetPath);
  }
}
