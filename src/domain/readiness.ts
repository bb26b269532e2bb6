// Readiness: what a restore's after_restore hooks did and whether the
// service answered its ready probes afterwards (and, for a drill, before the
// restore too). Seed 001 defines the RTO as the time to a healthy /readyz:
// the achieved RTO of a drill ends when the last probe first passes. Drill
// reports and `lifeboat restore --json` carry it (docs/readiness.md).

export interface ProbeOutcome {
  /** The probe in words, e.g. "http: http://127.0.0.1:8000/readyz (database.migrations_current = true)". */
  readonly probe: string;
  readonly ok: boolean;
  readonly attempts: number;
  /** The last attempt's result ("HTTP 503, expected 200", "exit 1: ..."). */
  readonly detail: string;
  /** Seconds from the start of the polling to the first pass; null when it did not pass (or was tried once). */
  readonly seconds: number | null;
}

export interface HookOutcome {
  /** The command as declared (a URL's password removed). */
  readonly command: string;
  readonly ok: boolean;
  readonly seconds: number;
  /** "exit 0", "exit 2: error: ... | ...", "killed (timeout 5s)". */
  readonly detail: string;
}

export interface Readiness {
  /** Drills: each probe tried once before the restore (pre-drill health); it never fails the drill. */
  readonly before?: readonly ProbeOutcome[];
  /** The after_restore hooks, in order; those after a failed one did not run. */
  readonly hooks: readonly HookOutcome[];
  /** The probes polled after the hooks; empty when a hook failed (they were not polled). */
  readonly after: readonly ProbeOutcome[];
  /** Every hook passed and every probe passed within its budget. */
  readonly ok: boolean;
}

/** What stopped readiness, in one line naming the hook or probe and its last result; undefined when ready. */
export function readinessFailure(readiness: Pick<Readiness, "hooks" | "after">): string | undefined {
  const hook = readiness.hooks.find((outcome) => !outcome.ok);
  if (hook) return `after_restore hook failed: ${hook.command}: ${hook.detail}`;
  const probe = readiness.after.find((outcome) => !outcome.ok);
  if (probe) return `not ready: ${probe.probe} did not pass: ${probe.detail} (${probe.attempts} attempts)`;
  return undefined;
}
