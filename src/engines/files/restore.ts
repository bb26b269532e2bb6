// Restore a tree into a target directory. Extraction goes into a sibling
// `<target>.lifeboat-partial-<host>-<pid>-<random>` directory and is renamed
// into place only once the whole verified stream has been written and
// fsynced. With --force an existing target is first renamed to
// `<target>.lifeboat-old-<host>-<pid>-<random>` and deleted after the swap,
// or, when the restore keeps what it replaces (options.preserve, restore's
// default), renamed to `<target>.pre_restore_<stamp>` and kept.
// So a kill at any point leaves at the target path either the old tree,
// nothing, or the complete new tree. The next restore into the same target
// removes partial directories whose process (named in the name) is dead on
// this host, with a log line; a live restore's are left alone. A set-aside
// old tree is removed only when the target exists (the swap completed);
// otherwise it is the only copy of the old tree and is reported, not deleted.

import { chmod, lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { SOLE_STREAM_AHEAD_BYTES } from "../../domain/artifacts.ts";
import { LifeboatError } from "../../errors.ts";
import type { Logger } from "../../runtime/logger.ts";
import { findLeftovers, fsyncPath, leftoverName, localTargetError, pathExists } from "../../runtime/paths.ts";
import type { EngineContext, PartialRestoreSummary, RestoreInput, RestoreOptions } from "../engine.ts";
import { treeArtifact } from "./capture.ts";
import { extractTree } from "./extract.ts";
import { partialTree } from "./partial.ts";
import { childPath } from "./raw-path.ts";
import { freePreservedPath } from "../preserved-paths.ts";

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

/** Make every directory of a tree writable by its owner (no-op for what is already gone). */
async function makeDirectoriesWritable(path: Buffer): Promise<void> {
  await chmod(path, 0o700);
  for (const entry of await readdir(path, { withFileTypes: true, encoding: "buffer" })) {
    if (entry.isDirectory()) await makeDirectoriesWritable(childPath(path, entry.name));
  }
}

/**
 * rm -rf, also of a tree holding read-only directories: a restored tree has its final modes, and
 * a user who is not root cannot delete inside a 0555 directory until it is made writable again.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") throw error;
    await makeDirectoriesWritable(Buffer.from(path));
    await rm(path, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Remove what killed restores into this target left behind; never what a running one is writing. */
export async function removeStaleLeftovers(targetPath: string, log: Logger): Promise<void> {
  const targetExists = await pathExists(targetPath);
  for (const leftover of await findLeftovers(dirname(targetPath), basename(targetPath))) {
    if (leftover.owner === "alive") continue; // another restore is writing it right now
    if (leftover.owner === "unknown") {
      log.warn(
        `files: ${leftover.path} was left by a restore Lifeboat cannot identify (another host, or an older version); delete it once no restore into ${targetPath} is running`,
      );
    } else if (leftover.kind === "old" && !targetExists) {
      log.warn(
        `files: ${leftover.path} holds the tree that was at ${targetPath} before a restore was killed mid-swap; move it back or delete it`,
      );
    } else {
      await removeTree(leftover.path);
      log.info(
        `files: removed ${leftover.path}, left by restore process ${leftover.pid} of this host, which is gone`,
      );
    }
  }
}

export async function restoreFiles(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<PartialRestoreSummary | void> {
  const targetPath = resolve(target);
  let partial: string | undefined;
  try {
    const state = await checkTarget(targetPath, options);
    // Only the chosen entries' bytes are read (partial.ts); the index is checked before anything is written.
    const part = options.selection ? await partialTree(input, options.selection) : undefined;
    await removeStaleLeftovers(targetPath, context.log);
    partial = leftoverName(targetPath, "partial");
    await mkdir(partial, { mode: 0o700 });
    // Fetching and writing are one stream here, so "fetch" covers extraction; "restore" is fix-up and swap.
    await extractTree(
      part?.archive ?? input.artifacts.open(treeArtifact, { aheadBytes: SOLE_STREAM_AHEAD_BYTES }),
      partial,
      () => context.onPhase?.("restore"),
      context.signal,
    );
    context.signal?.throwIfAborted();
    // The caller's fingerprint check runs on the complete tree, before it takes the target's name.
    await input.verify?.(partial, part?.scope);
    context.signal?.throwIfAborted();

    let old: string | undefined;
    const preserve = options.preserve;
    if (!state.exists || state.empty) {
      await rename(partial, targetPath); // rename(2) replaces an empty directory atomically
    } else {
      // Kept (restore's default): `<target>.pre_restore_<stamp>`; otherwise a leftover name, deleted after the swap.
      old = preserve
        ? await freePreservedPath(targetPath, preserve.stamp, "pre_restore")
        : leftoverName(targetPath, "old");
      await rename(targetPath, old);
      try {
        await rename(partial, targetPath);
      } catch (error) {
        await rename(old, targetPath); // put the old tree back rather than leave nothing
        throw error;
      }
    }
    partial = undefined;
    await fsyncPath(dirname(targetPath));
    if (old && preserve) {
      preserve.kept({ kind: "path", location: old });
    } else if (old) {
      // The restore is complete and in place: failing to delete the old copy is worth a warning, not a failure.
      await removeTree(old).catch((error: Error) =>
        context.log.warn(
          `files: restored ${targetPath}, but could not delete the old tree ${old}: ${error.message}`,
        ),
      );
    }
    context.log.debug(`files: restored ${targetPath}`);
    return part?.summary;
  } catch (error) {
    if (partial) await removeTree(partial);
    throw localTargetError(error, targetPath);
  }
}
