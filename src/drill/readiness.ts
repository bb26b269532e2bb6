// A drill's readiness (docs/readiness.md): once the restored scratch target
// verified, the source's after_restore hooks run against it (RESTORE_TARGET
// names it) and its ready probes are polled until all pass, in the drill's
// `hooks` and `ready` phases, so the achieved RTO ends at a serving
// application. The probes' pre-drill health is kept beside the after-state.

import type { DrillPhases } from "../domain/drill-report.ts";
import { readinessFailure, type ProbeOutcome, type Readiness } from "../domain/readiness.ts";
import type { SourceConfig } from "../engines/config.ts";
import type { EngineContext, ScratchTarget } from "../engines/engine.ts";
import type { OperationContext } from "../operations/context.ts";
import type { ProbeContext } from "../operations/probes.ts";
import { afterRestore, wantsReadiness } from "../operations/readiness.ts";

/** What a command probe or hook of a drill sees: the scratch target's details, RESTORE_TARGET naming it. */
export function probeContext(
  context: OperationContext,
  engineContext: ProbeContext["engineContext"],
  scratch?: ScratchTarget,
): ProbeContext {
  return {
    engineFor: context.engineFor,
    engineContext,
    now: context.now,
    signal: context.signal,
    variables: scratch ? { ...scratch.env, RESTORE_TARGET: scratch.target } : {},
  };
}

/**
 * The readiness step of a drill, once the data is restored and checked: the
 * source's after_restore hooks, then its ready probes polled until all pass
 * (phases `hooks` and `ready`, inside the RTO); undefined when the source
 * declares neither. A restore that did not verify gets neither (there is no
 * service to bring up). A service that did not become ready adds its issue
 * line for the report.
 */
export async function drillReadiness(
  context: OperationContext,
  source: SourceConfig,
  engineContext: EngineContext,
  scratch: ScratchTarget,
  verifiedData: boolean,
  before: readonly ProbeOutcome[] | undefined,
  lap: (phase: keyof DrillPhases) => void,
  issues: string[],
): Promise<Readiness | undefined> {
  if (!wantsReadiness(source)) return undefined;
  if (!verifiedData) return notReached(before);
  const { readiness: after } = await afterRestore(
    { hooks: source.after_restore ?? [], ready: source.ready ?? [] },
    probeContext(context, engineContext, scratch),
    lap,
  );
  const readiness = { ...(before ? { before } : {}), ...after };
  const failure = readinessFailure(readiness);
  if (failure) issues.push(`${readiness.after.length ? "ready" : "hooks"}: ${failure}`);
  return readiness;
}

/** The drill stopped before the hooks and probes could run. */
export function notReached(before: readonly ProbeOutcome[] | undefined): Readiness {
  return { ...(before ? { before } : {}), hooks: [], after: [], ok: false };
}
