// The recipe: how a command snapshot is restored, probed and verified. It is
// recorded in the snapshot's engineMeta at capture (the repository is the
// catalog: a source removed from lifeboat.yaml still restores, as a Kanister
// ActionSet keeps its blueprint), and the current lifeboat.yaml's commands win
// when the source is still declared (a restore command fixed after the backup
// is the one a disaster needs).
//
// Restores and drills hand the engine both (EngineContext.restoring): the
// snapshot's engineMeta and the source's current config.

import { z } from "zod";
import { parseDuration } from "../../domain/duration.ts";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext } from "../engine.ts";
import type { CommandSourceConfig } from "./config.ts";

export const stdoutArtifact = "capture.out";

const recipeSchema = z.object({
  /** "stdout": one artifact fed to the restore command's stdin; "directory": a tar of $LIFEBOAT_CAPTURE_DIR. */
  mode: z.enum(["stdout", "directory"]),
  artifact: z.string().min(1),
  restore: z.string().min(1),
  fingerprint: z.string().min(1).optional(),
  probe: z.string().min(1).optional(),
  env: z.array(z.string()),
  timeout_seconds: z.number().positive(),
  target: z.string().min(1).optional(),
  /** Where the snapshot's fingerprint came from: the fingerprint command, or the artifact's bytes. */
  facts: z.enum(["command", "artifact"]),
});

export type Recipe = z.infer<typeof recipeSchema>;

export function recipeOf(source: CommandSourceConfig, artifact: string): Recipe {
  return {
    mode: source.capture_dir ? "directory" : "stdout",
    artifact,
    restore: source.restore,
    ...(source.fingerprint ? { fingerprint: source.fingerprint } : {}),
    ...(source.probe ? { probe: source.probe } : {}),
    env: [...source.env],
    timeout_seconds: parseDuration(source.timeout),
    ...(source.target ? { target: source.target } : {}),
    facts: source.fingerprint ? "command" : "artifact",
  };
}

/** The recipe a snapshot recorded; undefined when its engineMeta has none (or a damaged one). */
export function recordedRecipe(meta: Readonly<Record<string, unknown>> | undefined): Recipe | undefined {
  const parsed = recipeSchema.safeParse(meta?.recipe);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The recipe to use: the snapshot's layout (mode, artifact, what its facts
 * are) always; the commands, variables and timeout of the current config when
 * the source is declared, else the recorded ones. With only the current config
 * the layout is the config's (good for probing a target, not for restoring).
 */
export function effectiveRecipe(
  recorded: Recipe | undefined,
  current: CommandSourceConfig | undefined,
): Recipe | undefined {
  if (!current) return recorded;
  const fromConfig = recipeOf(current, recorded?.artifact ?? stdoutArtifact);
  return recorded
    ? { ...fromConfig, mode: recorded.mode, artifact: recorded.artifact, facts: recorded.facts }
    : fromConfig;
}

export function requireRecordedRecipe(meta: Readonly<Record<string, unknown>>): Recipe {
  const recipe = recordedRecipe(meta);
  if (!recipe) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "this snapshot's engine metadata holds no restore recipe of the command engine (recipe.restore, recipe.mode)",
      { hint: "The snapshot was not made by the command engine, or its manifest was edited." },
    );
  }
  return recipe;
}

/** The source's current config, when a restore or drill runs for a declared command source. */
export function currentCommandSource(context: EngineContext): CommandSourceConfig | undefined {
  const source = context.restoring?.source;
  return source && (source as { engine?: unknown }).engine === "command"
    ? (source as CommandSourceConfig)
    : undefined;
}

/**
 * The recipe of the restore (or drill) `context` belongs to: the snapshot's
 * recorded one, with the commands of the source's current config when it is
 * still declared (EngineContext.restoring). Undefined outside a restore.
 */
export function restoringRecipe(context: EngineContext): Recipe | undefined {
  if (!context.restoring) return undefined;
  return effectiveRecipe(recordedRecipe(context.restoring.engineMeta), currentCommandSource(context));
}

// Scratch targets this process made and has not destroyed: a restore into one needs no probe.
const scratchTargets = new Set<string>();

export function markScratch(target: string, made: boolean): void {
  if (made) scratchTargets.add(target);
  else scratchTargets.delete(target);
}

export function isScratch(target: string): boolean {
  return scratchTargets.has(target);
}
