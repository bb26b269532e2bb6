// The recipe: how a command snapshot is restored, probed and verified. It is
// recorded in the snapshot's engineMeta at capture (the repository is the
// catalog: a source removed from lifeboat.yaml still restores, as a Kanister
// ActionSet keeps its blueprint), and the current lifeboat.yaml's commands win
// when the source is still declared (a restore command fixed after the backup
// is the one a disaster needs).
//
// Engine.restore, inspectTarget and fingerprint receive no source config,
// and fingerprint not even the engineMeta. So identifyTarget and
// provisionScratch (which do get the source) and restore (which gets the
// engineMeta) leave what they know in a small per-operation notebook, keyed by
// the operation's temp dir and the target; the later calls of the same
// operation read it. Every operation (restore, drill) makes its own temp dir.

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

/** What one operation learnt about one target. */
export interface TargetNotes {
  /** The current source config (identifyTarget, provisionScratch). */
  source?: CommandSourceConfig;
  /** The snapshot's recorded recipe (identifyTarget's `recorded`, restore's engineMeta). */
  recorded?: Recipe;
  /** The recipe restore used: fingerprint() verifies with the same one. */
  used?: Recipe;
}

const notebook = new Map<string, TargetNotes>();
/** Old entries are dropped: an operation's calls follow each other closely. */
const notebookLimit = 256;

function keyOf(context: EngineContext, target: string): string {
  return `${context.tempDir}\0${target}`;
}

export function notesFor(context: EngineContext, target: string): TargetNotes {
  return notebook.get(keyOf(context, target)) ?? {};
}

export function addNotes(context: EngineContext, target: string, notes: TargetNotes): void {
  const key = keyOf(context, target);
  const merged = { ...notebook.get(key), ...notes };
  notebook.delete(key); // re-inserted last: the Map's order is the eviction order
  notebook.set(key, merged);
  while (notebook.size > notebookLimit) notebook.delete(notebook.keys().next().value!);
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
