// Scratch targets for drills of command sources: `scratch.create` makes one
// (a throwaway container, a collection on a test server) and prints what
// restore takes as --to; `scratch.destroy` removes it, given as
// $LIFEBOAT_TARGET. A create that prints the source's own target is refused
// and destroy is NOT run on it: destroy would then remove the source.

import { LifeboatError } from "../../errors.ts";
import type { EngineContext, ScratchRequest, ScratchTarget } from "../engine.ts";
import type { CommandSourceConfig } from "./config.ts";
import { allowListedValues, assertNoCredentials, commandEnvironment } from "./environment.ts";
import { markScratch } from "./recipe.ts";
import { commandFailure, runCollecting, runDraining, type CommandSpec } from "./run-command.ts";
import { normaliseTarget } from "./target.ts";
import { parseDuration } from "../../domain/duration.ts";

export async function provisionCommandScratch(
  source: CommandSourceConfig,
  request: ScratchRequest,
  context: EngineContext,
): Promise<ScratchTarget> {
  const scratch = source.scratch;
  if (!scratch) {
    throw new LifeboatError(
      "BAD_CONFIG",
      "this command source has no scratch commands, so a drill has nowhere to restore",
      {
        hint: "Add `scratch: { create: ..., destroy: ... }` to the source: create makes a throwaway target and prints it, destroy removes $LIFEBOAT_TARGET.",
      },
    );
  }
  const allowListed = allowListedValues(source.env);
  assertNoCredentials({ "scratch.create": scratch.create, "scratch.destroy": scratch.destroy });
  const timeoutSeconds = parseDuration(source.timeout);
  const signal = context.signal ? { signal: context.signal } : {};
  const label = request.label.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80);
  const create: CommandSpec = {
    what: "scratch.create command",
    command: scratch.create,
    env: commandEnvironment(allowListed, {
      action: "scratch-create",
      source: source.target,
      extra: {
        LIFEBOAT_SCRATCH_LABEL: label,
        ...(request.target?.url ? { LIFEBOAT_SCRATCH_URL: request.target.url } : {}),
        ...(request.target?.path ? { LIFEBOAT_SCRATCH_PATH: request.target.path } : {}),
      },
    }),
    timeoutSeconds,
    ...signal,
  };
  const { stdout, outcome } = await runCollecting(context.runner, create, 64 * 1024);
  if (!outcome.ok) throw commandFailure(create, outcome, "TARGET_UNREACHABLE", context.signal);
  const target = stdout.trim();
  if (target.length === 0 || target.includes("\n")) {
    throw new LifeboatError(
      "TARGET_UNREACHABLE",
      `${create.what} printed ${target.length === 0 ? "nothing" : "several lines"}; it must print the scratch target on one line (anything it made is not removed: Lifeboat does not know its name)`,
    );
  }
  if (source.target !== undefined && normaliseTarget(source.target) === normaliseTarget(target)) {
    throw new LifeboatError(
      "SCRATCH_ON_SOURCE",
      `${create.what} printed ${target}, the source itself; the drill stops and scratch.destroy is not run on it`,
      { details: { target } },
    );
  }
  markScratch(target, true);

  let destroyed: Promise<void> | undefined;
  const destroy = async () => {
    const spec: CommandSpec = {
      what: `scratch.destroy command (of ${target})`,
      command: scratch.destroy,
      env: commandEnvironment(allowListed, { action: "scratch-destroy", source: source.target, target }),
      timeoutSeconds,
    };
    // Not tied to context.signal: an interrupted drill must still remove its scratch target.
    const done = await runDraining(context.runner, spec);
    if (!done.ok) throw commandFailure(spec, done, "TARGET_UNREACHABLE");
    markScratch(target, false);
  };
  return {
    target,
    description: `scratch target ${target} (made by scratch.create)`,
    env: { LIFEBOAT_TARGET: target },
    destroy: () => (destroyed ??= destroy()),
    // Nothing removes it behind our back: keeping it is not destroying it.
    keep: async () =>
      `${target} (remove it with: LIFEBOAT_TARGET='${target.replaceAll("'", "'\\''")}' sh -c <scratch.destroy>)`,
  };
}
