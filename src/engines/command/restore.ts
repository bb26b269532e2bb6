// Restore with the user's restore command. The artifact is fetched to a
// private temp file (ArtifactSource.saveTo verifies every chunk and the
// whole-stream hash before it resolves), or extracted by the files engine into
// a private folder (verified to its end before anything uses it), and only
// then is the command started, with the file on stdin or the folder in
// $LIFEBOAT_RESTORE_DIR: a damaged artifact never reaches the service.
//
// There is no swap: the command writes into the target in place, so a failed
// or interrupted command can leave the target partly restored (the engine's
// restoreGuarantee says so). Verification runs afterwards, in the shared
// pipeline, through fingerprint().

import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { EngineContext, RestoreInput, RestoreOptions } from "../engine.ts";
import { LifeboatError } from "../../errors.ts";
import { restoreFiles } from "../files/restore.ts";
import { allowListedValues, assertNoCredentials, commandEnvironment } from "./environment.ts";
import {
  currentCommandSource,
  effectiveRecipe,
  isScratch,
  requireRecordedRecipe,
  type Recipe,
} from "./recipe.ts";
import { commandFailure, runDraining, type CommandSpec } from "./run-command.ts";
import { normaliseTarget, probeTarget } from "./target.ts";

/** Refuse the source itself, and a target that holds something (or may: no probe) without --force. */
async function guardTarget(
  recipe: Recipe,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  if (recipe.target !== undefined && normaliseTarget(recipe.target) === normaliseTarget(target)) {
    throw new LifeboatError(
      "TARGET_IS_SOURCE",
      `${target} is the source itself (its target is ${recipe.target})`,
      {
        details: { target },
      },
    );
  }
  if (options.force || isScratch(target)) return;
  if (!recipe.probe) {
    throw new LifeboatError(
      "TARGET_NOT_EMPTY",
      `${target} may hold data: the source has no probe command to check it`,
      {
        details: { target },
        hint: "Pass --force to let the restore command replace what is at the target, or add a `probe:` command that prints how many things are there.",
      },
    );
  }
  const things = await probeTarget(recipe, target, context);
  if (things > 0) {
    throw new LifeboatError("TARGET_NOT_EMPTY", `${target} is not empty (the probe counts ${things})`, {
      details: { target, count: things },
      hint: "Restore into an empty target, or pass --force to let the restore command replace what is there.",
    });
  }
}

export async function restoreCommand(
  input: RestoreInput,
  target: string,
  options: RestoreOptions,
  context: EngineContext,
): Promise<void> {
  // The snapshot's recipe with the current config's commands; fingerprint() of this restore uses the same.
  const recipe = effectiveRecipe(requireRecordedRecipe(input.engineMeta), currentCommandSource(context))!;
  const allowListed = allowListedValues(recipe.env);
  assertNoCredentials({ restore: recipe.restore, fingerprint: recipe.fingerprint, probe: recipe.probe });
  await guardTarget(recipe, target, options, context);

  const work = join(context.tempDir, `command-restore-${randomBytes(6).toString("hex")}`);
  await mkdir(work, { mode: 0o700 });
  try {
    const spec = (stdinFile?: string, restoreDir?: string): CommandSpec => ({
      what: `restore command (into ${target})`,
      command: recipe.restore,
      env: commandEnvironment(allowListed, {
        action: "restore",
        source: recipe.target,
        target,
        ...(restoreDir ? { extra: { LIFEBOAT_RESTORE_DIR: restoreDir } } : {}),
      }),
      ...(stdinFile ? { stdin: createReadStream(stdinFile) } : {}),
      timeoutSeconds: recipe.timeout_seconds,
      ...(context.signal ? { signal: context.signal } : {}),
    });
    let run: CommandSpec;
    if (recipe.mode === "stdout") {
      const file = join(work, recipe.artifact);
      await input.artifacts.saveTo(recipe.artifact, file);
      context.signal?.throwIfAborted();
      run = spec(file);
    } else {
      const dir = join(work, "files");
      // Extracted to its end (and so verified) before the command starts; the phase is ours to report.
      const { onPhase: _ours, ...quiet } = context;
      await restoreFiles({ artifacts: input.artifacts, engineMeta: {} }, dir, {}, quiet);
      context.signal?.throwIfAborted();
      run = spec(undefined, dir);
    }
    context.onPhase?.("restore");
    const outcome = await runDraining(context.runner, run);
    // SOURCE_TOOL_FAILED as for pg_restore: in a drill, a snapshot its own restore command rejects is a failed check.
    if (!outcome.ok) {
      throw commandFailure(
        run,
        outcome,
        "SOURCE_TOOL_FAILED",
        context.signal,
        "The restore command failed; its stderr is quoted above. It writes into the target in place, so the target may be partly restored: run the restore again (with --force) once the cause is fixed.",
      );
    }
    context.log.debug(`command: restored into ${target}`);
  } finally {
    await rm(work, { recursive: true, force: true }).catch((error: Error) =>
      context.log.warn(`command: could not remove the restore folder ${work}: ${error.message}`),
    );
  }
}
