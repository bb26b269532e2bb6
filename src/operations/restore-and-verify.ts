// The one restore-and-verify pipeline that `restore` and `drill` share:
// restore into the engine's partial target, fingerprint it there, compare
// with the fingerprint taken at backup, and only then let the engine swap it
// into place. A mismatch leaves the old target exactly as it was. Engines
// that cannot swap (capabilities.atomicSwap false) are verified after the
// restore instead, and their restoreGuarantee says what that means.

import { compareFingerprints, type Fingerprint, type FingerprintDifference } from "../domain/fingerprint.ts";
import type { DrillPhases } from "../domain/drill-report.ts";
import type { Snapshot } from "../domain/snapshot.ts";
import type {
  Engine,
  EngineContext,
  PartialRestoreSummary,
  RestoreOptions,
  VerifyScope,
} from "../engines/engine.ts";
import { LifeboatError } from "../errors.ts";
import type { ArtifactSource } from "../domain/artifacts.ts";

export interface RestoreAndVerifyInput {
  readonly engine: Engine;
  readonly snapshot: Snapshot;
  readonly artifacts: ArtifactSource;
  readonly target: string;
  readonly options: RestoreOptions;
  readonly context: EngineContext;
  /** The clock (tests pass a fixed one); phases are measured with it. */
  readonly now: () => number;
  /** Told each time the restore moves to another phase (drills time their own phases with it). */
  readonly onPhase?: (phase: keyof RestorePhases) => void;
}

/** The phases of a restore: fetch (toc, staging), restore (the service's own restore, the swap), verify. */
export type RestorePhases = Pick<DrillPhases, "fetch" | "restore" | "verify">;

export interface VerifiedRestore {
  /** The restored target's fingerprint; it matched the snapshot's. */
  readonly fingerprint: Fingerprint;
  readonly phases: RestorePhases;
  /** What a partial restore (options.selection) took. */
  readonly partial?: PartialRestoreSummary;
}

/** Did the snapshot ask for the deep check? Then the target is hashed too. */
export function wantsContentHashes(snapshot: Snapshot): boolean {
  return Object.keys(snapshot.fingerprint.hashes).some((key) => key.startsWith("content:"));
}

export async function restoreAndVerify(input: RestoreAndVerifyInput): Promise<VerifiedRestore> {
  const { engine, snapshot, context } = input;
  const phases: { fetch?: number; restore?: number; verify?: number } = {};
  let current: keyof RestorePhases = "fetch";
  let mark = input.now();
  /** Add the time since the last mark to the current phase. */
  const record = () => {
    const now = input.now();
    phases[current] = (phases[current] ?? 0) + (now - mark) / 1000;
    mark = now;
  };
  const switchTo = (next: keyof RestorePhases) => {
    record();
    current = next;
    input.onPhase?.(next);
  };
  let fingerprint: Fingerprint | undefined;
  const partial = input.options.selection !== undefined;
  const verify = async (partialTarget: string, scope?: VerifyScope) => {
    switchTo("verify");
    // A partial restore that does not say what it covers would be compared with the whole
    // snapshot and fail; one that claims to cover nothing proves nothing. Both are bugs.
    if (partial && !scope)
      throw new LifeboatError("INTERNAL", `the ${engine.name} engine verified a partial restore as a whole`);
    fingerprint = await engine.fingerprint(partialTarget, context, {
      contentHashes: wantsContentHashes(snapshot),
    });
    const expected = scope
      ? restrict(scope.expected ?? snapshot.fingerprint, scope.covers)
      : snapshot.fingerprint;
    const actual = scope ? restrict(fingerprint, scope.covers) : fingerprint;
    if (scope && Object.keys(expected.counts).length + Object.keys(expected.hashes).length === 0)
      throw new LifeboatError(
        "INTERNAL",
        `the ${engine.name} engine's partial restore covers no fingerprint key`,
      );
    throwOnMismatch(snapshot, compareFingerprints(expected, actual), engine);
    switchTo("restore"); // what follows a partial copy's verification (the swap into place) is part of the restore
  };
  const engineContext: EngineContext = {
    ...context,
    onPhase: (phase) => {
      if (phase === "restore") switchTo("restore");
      context.onPhase?.(phase);
    },
  };
  let summary: PartialRestoreSummary | undefined;
  try {
    const outcome = await engine.restore(
      {
        artifacts: input.artifacts,
        engineMeta: snapshot.engineMeta,
        fingerprint: snapshot.fingerprint,
        // Every engine gets it: one that cannot swap still verifies a partial copy when it has one (mariadb).
        verify,
      },
      input.target,
      input.options,
      engineContext,
    );
    if (outcome) summary = outcome;
    // An engine that restored in place without a partial copy is verified at the target itself.
    if (!engine.capabilities.atomicSwap && !fingerprint) await verify(input.target);
  } finally {
    record();
  }
  if (!fingerprint) {
    // An engine that declares atomicSwap must call verify; not doing so is a bug, never a pass.
    throw new LifeboatError("INTERNAL", `the ${engine.name} engine restored without verifying the target`);
  }
  return { fingerprint, phases, ...(summary ? { partial: summary } : {}) };
}

/** The part of a fingerprint a partial restore answers for. */
function restrict(fingerprint: Fingerprint, covers: (key: string) => boolean): Fingerprint {
  const pick = <V>(record: Readonly<Record<string, V>>) =>
    Object.fromEntries(Object.entries(record).filter(([key]) => covers(key)));
  return { counts: pick(fingerprint.counts), hashes: pick(fingerprint.hashes) };
}

function throwOnMismatch(
  snapshot: Snapshot,
  differences: readonly FingerprintDifference[],
  engine: Engine,
): void {
  if (differences.length === 0) return;
  const shown = differences.slice(0, 10).map((d) => `${d.key}: expected ${d.expected}, found ${d.actual}`);
  const outcome = engine.capabilities.atomicSwap
    ? "the restored copy was discarded and the target left as it was"
    : `the target was written in place (${engine.restoreGuarantee ?? "this engine cannot swap"})`;
  throw new LifeboatError(
    "VERIFICATION_FAILED",
    `the restore of snapshot ${snapshot.id.slice(0, 8)} does not match its fingerprint; ${outcome}:\n  ${shown.join("\n  ")}`,
    { details: { differences } },
  );
}
