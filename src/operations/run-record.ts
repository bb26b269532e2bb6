// Keeping a run record (domain/run-record.ts) for every backup, drill, check,
// prune, forget and restore, success or failure, so `status`, metrics and the
// dashboard see what failed and not only what a success left behind. Saving
// a record never changes the outcome of the run it describes: a record that
// cannot be written is a warning.

import { randomBytes } from "node:crypto";
import type { PreservedChanges } from "../domain/preserved.ts";
import { RUN_RECORD_SCHEMA, type RunOperation, type RunRecord } from "../domain/run-record.ts";
import { LifeboatError } from "../errors.ts";
import { redact } from "../runtime/redact.ts";
import { isReadOnlyStorageError } from "../storage/backend.ts";
import { lifeboatVersion } from "../version.ts";
import type { OperationContext } from "./context.ts";

export interface RunDraft {
  readonly operation: RunOperation;
  readonly source: string | null;
  readonly startedAt: Date;
  /** Absent: the run succeeded. */
  readonly error?: unknown;
  readonly bytesRead?: number | null;
  readonly bytesStored?: number | null;
  readonly snapshot?: string | null;
  readonly drill?: { readonly report: string; readonly status: string } | null;
  readonly preserved?: PreservedChanges;
}

/** `YYYYMMDDTHHMMSSZ-<hex>`: sorts by start time (the same shape as drill report ids). */
export function runRecordId(at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${stamp}-${randomBytes(4).toString("hex")}`;
}

export function runRecordOf(draft: RunDraft, finishedAt: Date, hostname: string): RunRecord {
  const failure =
    draft.error === undefined
      ? null
      : draft.error instanceof LifeboatError
        ? { code: draft.error.code, message: redact(draft.error.message) }
        : { code: "INTERNAL", message: redact(String(draft.error)) };
  return {
    schema: RUN_RECORD_SCHEMA,
    id: runRecordId(draft.startedAt),
    operation: draft.operation,
    source: draft.source,
    outcome: failure ? "failed" : "succeeded",
    startedAt: draft.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds: Math.max(0, (finishedAt.getTime() - draft.startedAt.getTime()) / 1000),
    hostname,
    lifeboatVersion,
    bytesRead: draft.bytesRead ?? null,
    bytesStored: draft.bytesStored ?? null,
    snapshot: draft.snapshot ?? null,
    drill: draft.drill ?? null,
    error: failure,
    ...(draft.preserved && (draft.preserved.kept.length > 0 || draft.preserved.released.length > 0)
      ? { preserved: draft.preserved }
      : {}),
  };
}

/** Keep the record of a finished run; returns it, or undefined (with a warning) when it could not be saved. */
export async function recordRun(context: OperationContext, draft: RunDraft): Promise<RunRecord | undefined> {
  const record = runRecordOf(draft, context.now(), context.hostname);
  context.recordedRuns?.push(record); // heartbeats and notifications go out even when the repository refuses it
  try {
    await context.repository.saveRunRecord(record);
    return record;
  } catch (error) {
    if (isReadOnlyStorageError(error)) {
      // Restoring or checking from a read-only copy is deliberate: no warning for each run.
      context.log.info(`the repository is read-only: no run record kept for this ${draft.operation}`);
      return undefined;
    }
    const why = error instanceof Error ? error.message : String(error);
    context.log.warn(`could not keep the run record of this ${draft.operation}: ${redact(why)}`);
    return undefined;
  }
}

/** A run record is one this build can read (unknown schemas are skipped, like drill reports). */
export function isRunRecord(value: unknown): value is RunRecord {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { schema?: unknown }).schema === RUN_RECORD_SCHEMA &&
    typeof (value as { id?: unknown }).id === "string"
  );
}

/**
 * Run `body` and keep its run record, success or failure (the error is
 * rethrown). `describe` adds what the result says: bytes, the snapshot, or
 * an error for a run that returned instead of throwing (a check that found
 * problems).
 */
export async function recorded<T>(
  context: OperationContext,
  run: Omit<RunDraft, "startedAt" | "error">,
  body: () => Promise<T>,
  describe: (result: T) => Partial<Omit<RunDraft, "operation" | "source" | "startedAt">> = () => ({}),
  /** What the record says whether the run succeeded or not (a failed restore may still have kept a copy). */
  always: () => Partial<Omit<RunDraft, "operation" | "source" | "startedAt">> = () => ({}),
): Promise<T> {
  const startedAt = context.now();
  let result: T;
  try {
    result = await body();
  } catch (error) {
    await recordRun(context, { ...run, ...always(), startedAt, error });
    throw error;
  }
  await recordRun(context, { ...run, ...always(), ...describe(result), startedAt });
  return result;
}
