// After a restore is verified: run the source's after_restore hooks in order
// (restart the app, run its migrations), then poll its ready probes until all
// pass or a budget runs out. The time to the last probe's first pass is the
// `ready` phase: with it the achieved RTO ends at a healthy service, not at
// restored bytes (seed 001: "time to restore service to healthy /readyz").
// Drills also try each probe once before the restore (pre-drill health).
// Hooks and command probes are shell commands with the allow-listed
// environment plus RESTORE_TARGET (runtime/shell-command.ts).

import type { HookConfig, ProbeConfig } from "../config/probe-schema.ts";
import { parseDuration } from "../domain/duration.ts";
import type { HookOutcome, ProbeOutcome, Readiness } from "../domain/readiness.ts";
import { redact } from "../runtime/redact.ts";
import { runShellCommand } from "../runtime/shell-command.ts";
import { describeProbe, pollProbe, probeOnce, type ProbeContext } from "./probes.ts";

export interface AfterRestoreRequest {
  readonly hooks: readonly HookConfig[];
  readonly ready: readonly ProbeConfig[];
}

export interface ReadinessPhases {
  /** The after_restore hooks, in seconds; absent when none is declared. */
  hooks?: number;
  /** From the end of the hooks to the last probe's first pass (or the end of the polling); absent without probes. */
  ready?: number;
}

export interface AfterRestoreResult {
  readonly readiness: Readiness;
  readonly phases: ReadinessPhases;
  /** When the service was ready (ms): the last probe's first pass, or the end of the hooks without probes; undefined when it never was. */
  readonly readyAt: number | undefined;
}

/** Does the source declare anything to run after a restore? */
export function wantsReadiness(source: {
  readonly ready?: readonly ProbeConfig[] | undefined;
  readonly after_restore?: readonly HookConfig[] | undefined;
}): boolean {
  return (source.ready?.length ?? 0) + (source.after_restore?.length ?? 0) > 0;
}

/** Each probe tried once, side by side (pre-drill health). */
export function checkHealth(probes: readonly ProbeConfig[], context: ProbeContext): Promise<ProbeOutcome[]> {
  return Promise.all(
    probes.map(async (probe) => {
      const attempt = await probeOnce(probe, context, parseDuration(probe.timeout) * 1000);
      return {
        probe: describeProbe(probe),
        ok: attempt.ok,
        attempts: 1,
        detail: attempt.detail,
        seconds: null,
      };
    }),
  );
}

/** The hooks in order, each killed (with all it started) at its timeout; the first that fails stops the rest. */
export async function runHooks(hooks: readonly HookConfig[], context: ProbeContext): Promise<HookOutcome[]> {
  const outcomes: HookOutcome[] = [];
  for (const hook of hooks) {
    context.signal?.throwIfAborted();
    const began = context.now().getTime();
    const run = await runShellCommand(hook.command, {
      timeoutSeconds: parseDuration(hook.timeout),
      variables: context.variables ?? {},
      signal: context.signal,
    });
    outcomes.push({
      command: redact(hook.command),
      ok: run.ok,
      seconds: (context.now().getTime() - began) / 1000,
      detail: redact(run.detail),
    });
    if (!run.ok) break;
  }
  return outcomes;
}

/** Poll every probe at once, each at its own interval within its own budget. */
export async function awaitReady(
  probes: readonly ProbeConfig[],
  context: ProbeContext,
): Promise<{ outcomes: ProbeOutcome[]; readyAt: number | undefined }> {
  const began = context.now().getTime();
  const polled = await Promise.all(probes.map((probe) => pollProbe(probe, context)));
  const outcomes = polled.map((result, index) => ({
    probe: describeProbe(probes[index]!),
    ok: result.ok,
    attempts: result.attempts,
    detail: result.detail,
    seconds: result.passedAt === undefined ? null : (result.passedAt - began) / 1000,
  }));
  const ok = polled.every((result) => result.ok);
  return { outcomes, readyAt: ok ? Math.max(began, ...polled.map((result) => result.passedAt!)) : undefined };
}

/**
 * Hooks, then probes. `onPhase` is told when each begins (a drill's phase
 * clock laps on it); the phases returned add up to the time spent here.
 */
export async function afterRestore(
  request: AfterRestoreRequest,
  context: ProbeContext,
  onPhase?: (phase: keyof ReadinessPhases) => void,
): Promise<AfterRestoreResult> {
  const phases: ReadinessPhases = {};
  let mark = context.now().getTime();
  let hooks: HookOutcome[] = [];
  if (request.hooks.length > 0) {
    onPhase?.("hooks");
    hooks = await runHooks(request.hooks, context);
    context.signal?.throwIfAborted();
    const now = context.now().getTime();
    phases.hooks = (now - mark) / 1000;
    mark = now;
  }
  if (hooks.some((hook) => !hook.ok)) {
    return { readiness: { hooks, after: [], ok: false }, phases, readyAt: undefined };
  }
  if (request.ready.length === 0) return { readiness: { hooks, after: [], ok: true }, phases, readyAt: mark };
  onPhase?.("ready");
  const { outcomes, readyAt } = await awaitReady(request.ready, context);
  phases.ready = ((readyAt ?? context.now().getTime()) - mark) / 1000;
  return { readiness: { hooks, after: outcomes, ok: readyAt !== undefined }, phases, readyAt };
}
