// Targets of the command engine are opaque strings (host:port, a URL, a
// collection name): Lifeboat can compare them as text, ask the probe command
// what is there, and ask the fingerprint command for facts. Nothing here
// pretends to know more: without a probe a target may hold data, and without
// a fingerprint command a restore cannot be verified.

import type { Fingerprint } from "../../domain/fingerprint.ts";
import { LifeboatError } from "../../errors.ts";
import type { EngineContext, TargetIdentity, TargetState } from "../engine.ts";
import type { CommandSourceConfig } from "./config.ts";
import { allowListedValues, commandEnvironment } from "./environment.ts";
import { parseFacts } from "./facts.ts";
import { isScratch, recordedRecipe, restoringRecipe, type Recipe } from "./recipe.ts";
import { commandFailure, runCollecting, type CommandSpec } from "./run-command.ts";

export function checkCommandTarget(target: string): string {
  const trimmed = target.trim();
  if (trimmed.length === 0) {
    throw new LifeboatError(
      "BAD_ARGUMENT",
      "--to is empty; a command source's target is what its restore command reads as $LIFEBOAT_TARGET",
    );
  }
  return trimmed;
}

/**
 * A target as text, normalised so that spellings of one address compare
 * equal: case, a scheme, user info and trailing slashes are dropped.
 * Normalising only ever makes more targets "the same", the safe direction.
 */
export function normaliseTarget(target: string): string {
  return target
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, "")
    .replace(/^[^/@]*@/, "")
    .replace(/\/+$/, "");
}

export async function identifyCommandTarget(
  source: CommandSourceConfig,
  target: string,
  context: EngineContext,
  recorded?: Readonly<Record<string, unknown>>,
): Promise<TargetIdentity> {
  const recipe = recordedRecipe(recorded);
  const sourceTarget = source.target ?? recipe?.target;
  if (sourceTarget === undefined) {
    return {
      verdict: "unknown",
      reason: "the source has no `target` field saying what it is, so Lifeboat cannot compare",
    };
  }
  return normaliseTarget(sourceTarget) === normaliseTarget(target)
    ? { verdict: "same", reason: `the source's target is ${sourceTarget}` }
    : {
        verdict: "different",
        reason: `not the source's target ${sourceTarget} (compared as text: another address of the same service is not recognised)`,
      };
}

/** Run the probe command: how many things are at the target (0: empty). */
export async function probeTarget(recipe: Recipe, target: string, context: EngineContext): Promise<number> {
  const spec: CommandSpec = {
    what: `probe command (of ${target})`,
    command: recipe.probe!,
    env: commandEnvironment(allowListedValues(recipe.env), {
      action: "probe",
      source: recipe.target,
      target,
    }),
    timeoutSeconds: recipe.timeout_seconds,
    ...(context.signal ? { signal: context.signal } : {}),
  };
  const { stdout, outcome } = await runCollecting(context.runner, spec);
  if (!outcome.ok) throw commandFailure(spec, outcome, "TARGET_UNREACHABLE", context.signal);
  const answer = stdout.trim();
  if (!/^\d+$/.test(answer)) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `${spec.what} printed ${JSON.stringify(answer.slice(0, 80))}, not a number of things at the target`,
      {
        hint: "The probe prints one integer: how many collections/tables/files are at $LIFEBOAT_TARGET (0 = empty).",
      },
    );
  }
  return Number(answer);
}

export async function inspectCommandTarget(target: string, context: EngineContext): Promise<TargetState> {
  if (isScratch(target)) return { exists: true, empty: true, description: `scratch target ${target}` };
  const recipe = restoringRecipe(context);
  if (!recipe?.probe) {
    // No way to look: treat it as holding data, so replacing it takes --force (the safe side).
    return {
      exists: true,
      empty: false,
      description: `${target} (the source has no probe command, so what is there cannot be checked)`,
    };
  }
  const things = await probeTarget(recipe, target, context);
  return { exists: true, empty: things === 0, description: `${target} (the probe counts ${things})` };
}

/**
 * Facts of a restored target, from the fingerprint command, with the recipe
 * the restore used. A snapshot whose fingerprint is the artifact's bytes (no
 * fingerprint command at capture) has nothing to compare a target with:
 * that is an error saying so, never facts copied from the snapshot.
 */
export async function fingerprintCommandTarget(target: string, context: EngineContext): Promise<Fingerprint> {
  // The same recipe as the restore of this operation: the snapshot's, with today's commands.
  const recipe = restoringRecipe(context);
  if (!recipe) {
    throw new LifeboatError(
      "INTERNAL",
      `the command engine was asked to fingerprint ${target} outside a restore (no snapshot to take the fingerprint command from)`,
    );
  }
  if (recipe.facts === "artifact" || !recipe.fingerprint) {
    throw new LifeboatError(
      "DRILL_ERROR",
      `${target} cannot be verified: the snapshot was taken without a fingerprint command, so its fingerprint is the artifact's size and hash, which says nothing about the target. The restore command exited 0; that is all Lifeboat knows`,
      {
        hint: "Add a `fingerprint:` command to the source (it prints JSON facts about $LIFEBOAT_TARGET, or the source when unset); snapshots taken after that verify.",
      },
    );
  }
  const spec: CommandSpec = {
    what: `fingerprint command (of ${target})`,
    command: recipe.fingerprint,
    env: commandEnvironment(allowListedValues(recipe.env), {
      action: "fingerprint",
      source: recipe.target,
      target,
    }),
    timeoutSeconds: recipe.timeout_seconds,
    ...(context.signal ? { signal: context.signal } : {}),
  };
  const { stdout, outcome } = await runCollecting(context.runner, spec);
  // The restored service cannot describe itself: evidence against the restore.
  if (!outcome.ok) throw commandFailure(spec, outcome, "VERIFICATION_FAILED", context.signal);
  return parseFacts(stdout, spec.what, "VERIFICATION_FAILED");
}
