// `lifeboat restore` after the data is restored and verified: the source's
// after_restore hooks, then its ready probes polled until all pass
// (operations/readiness.ts, the same as a drill runs). The data is restored
// either way; a service that does not come up is its own failure,
// SERVICE_NOT_READY, which says so. `--no-ready` skips both.

import type { SourceConfig } from "../engines/config.ts";
import { engineFor } from "../engines/registry.ts";
import { LifeboatError } from "../errors.ts";
import { formatSeconds } from "../domain/duration.ts";
import { readinessFailure, type Readiness } from "../domain/readiness.ts";
import { afterRestore, wantsReadiness, type ReadinessPhases } from "../operations/readiness.ts";
import { credentialFree } from "../operations/preserve-request.ts";
import { withTempDir } from "../operations/temp-dir.ts";
import { processRunner } from "../runtime/process.ts";
import { redact } from "../runtime/redact.ts";
import type { CommandEnv } from "./session.ts";

export interface ServiceReadiness {
  readonly phases: ReadinessPhases;
  readonly readiness: Readiness;
  /** One line for the human output. */
  readonly summary: string;
}

/** Hooks and probes of `source` after a restore into `target`; undefined when it declares none. */
export async function readinessAfterRestore(
  env: CommandEnv,
  sourceName: string,
  source: SourceConfig | undefined,
  target: string,
  restored: { readonly snapshot: string; readonly phases: object },
): Promise<ServiceReadiness | undefined> {
  if (!source || !wantsReadiness(source)) return undefined;
  const hooks = source.after_restore ?? [];
  const ready = source.ready ?? [];
  env.log.info(
    `${sourceName}: restored; ${hooks.length} after_restore hook(s), then waiting for ${ready.length} ready probe(s)`,
  );
  const { phases, readiness } = await withTempDir("ready", (tempDir) =>
    afterRestore(
      { hooks, ready },
      {
        engineFor,
        engineContext: { runner: processRunner, log: env.log, tempDir, signal: env.signal },
        now: () => new Date(),
        signal: env.signal,
        // RESTORE_TARGET without a password: it never reaches a child's environment.
        variables: { RESTORE_TARGET: credentialFree(target) },
      },
      (phase) => env.log.info(phase === "hooks" ? "running after_restore hooks" : "waiting until ready"),
    ),
  );
  const failure = readinessFailure(readiness);
  if (failure) {
    throw new LifeboatError(
      "SERVICE_NOT_READY",
      `the data of ${sourceName} is restored into ${redact(target)} and verified, but the service is not ready: ${failure}`,
      {
        details: {
          source: sourceName,
          snapshot: restored.snapshot,
          phases: { ...restored.phases, ...phases },
          readiness,
        },
      },
    );
  }
  const parts = [
    ...(phases.hooks !== undefined
      ? [`${hooks.length} after_restore hook(s) in ${formatSeconds(phases.hooks)}`]
      : []),
    ...(phases.ready !== undefined
      ? [`ready after ${formatSeconds(phases.ready)} (${ready.length} probe(s))`]
      : []),
  ];
  return { phases, readiness, summary: parts.join("; ") };
}
