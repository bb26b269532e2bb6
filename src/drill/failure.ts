// What a drill makes of an error: it is named with its phase among the
// issues; one that proves the backup (or the archive) cannot deliver becomes
// a failed check (verification_failed), anything else means the drill could
// not run (error): nothing was proved either way.

import type { CheckOutcome, DrillPhases } from "../domain/drill-report.ts";
import { isLifeboatError, LifeboatError } from "../errors.ts";

export interface DrillFailure {
  readonly failure: LifeboatError;
  /** True: the drill could not run; false: the failure is evidence against the backup. */
  readonly hard: boolean;
}

export function recordDrillFailure(
  error: unknown,
  phase: keyof DrillPhases,
  backupFaults: ReadonlySet<string>,
  record: { readonly issues: string[]; readonly checks: CheckOutcome[] },
  asCheck: (failure: LifeboatError) => CheckOutcome,
): DrillFailure {
  const failure = isLifeboatError(error)
    ? error
    : new LifeboatError("INTERNAL", String((error as Error)?.message ?? error));
  record.issues.push(`${phase}: [${failure.code}] ${failure.message}`);
  const hard = !backupFaults.has(failure.code);
  if (!hard) record.checks.push(asCheck(failure));
  return { failure, hard };
}
